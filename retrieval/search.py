"""Permission-aware semantic search over the chunk store."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date

from perfagent.errors import BadInputError
from perfagent.ingest.documents import DOC_TYPES
from perfagent.org import OrgChart
from perfagent.periods import Period, default_period
from perfagent.retrieval.access import AccessPolicy, Viewer
from perfagent.store.chroma_store import ChunkStore
from perfagent.store.embeddings import SentenceEmbeddings


@dataclass(frozen=True)
class SearchHit:
    """One retrieved chunk, as the viewer may see it (the contract's search result shape)."""

    doc_id: str
    chunk_id: str
    employee_id: str
    author: str
    doc_type: str
    date: str
    title: str
    text: str
    score: float

    def to_json(self) -> dict[str, object]:
        return asdict(self)


class SearchService:
    def __init__(
        self,
        store: ChunkStore,
        embeddings: SentenceEmbeddings,
        org: OrgChart,
        *,
        default_k: int = 8,
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.org = org
        self.policy = AccessPolicy(org)
        self.default_k = default_k

    def newest_date(self) -> date | None:
        newest = self.store.info().get("newest_date")
        return date.fromisoformat(newest) if newest else None

    def default_period(self) -> Period | None:
        newest = self.newest_date()
        return default_period(newest) if newest else None

    def search(
        self,
        viewer: Viewer,
        query: str,
        *,
        employee_id: str | None = None,
        doc_types: Sequence[str] | None = None,
        period: Period | None = None,
        k: int | None = None,
    ) -> list[SearchHit]:
        if not query.strip():
            raise BadInputError("the search query is empty")
        k = self.default_k if k is None else k
        if not 1 <= k <= 200:
            raise BadInputError(f"k must be between 1 and 200, not {k}")
        unknown = [t for t in doc_types or () if t not in DOC_TYPES]
        if unknown:
            raise BadInputError(f"unknown doc type '{unknown[0]}' (one of {', '.join(DOC_TYPES)})")
        if employee_id is not None:
            self.org.get(employee_id)  # unknown id -> BadInputError
        where = self.policy.where_filter(
            viewer, employee_id=employee_id, doc_types=doc_types, period=period
        )
        vector = self.embeddings.embed_query(query)
        hits = self.store.query(vector, k=k, where=where)
        return [
            SearchHit(
                doc_id=str(m["doc_id"]),
                chunk_id=chunk.chunk_id,
                employee_id=str(m["employee_id"]),
                author=viewer.author_label(m, self.org),
                doc_type=str(m["doc_type"]),
                date=str(m["date"]),
                title=str(m.get("title", "")),
                text=chunk.text,
                score=round(score, 4),
            )
            for chunk, score in hits
            for m in [chunk.metadata]
        ]
