"""Permission-aware semantic search over the chunk store."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date

import numpy as np

from perfagent.errors import BadInputError, PermissionRefusal
from perfagent.ingest.documents import DOC_TYPES
from perfagent.org import OrgChart
from perfagent.periods import Period, default_period
from perfagent.retrieval.access import AccessPolicy, Viewer
from perfagent.store.chroma_store import ChunkStore, StoredChunk, Where
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


# When a viewer may see only a small, small-share part of the store, rank exactly over those
# chunks (fetched from Chroma with the permission filter) instead of using Chroma's filtered
# HNSW search, which slows down sharply when the filter is selective: at 100k chunks an
# employee's ~100 chunks took ~90 ms through HNSW (bench/retrieval_bench.py). Fetching
# embeddings costs ~0.1 ms a chunk, hence the cap on the count.
EXACT_SEARCH_MAX_CHUNKS = 400
EXACT_SEARCH_MAX_SHARE = 0.05


@dataclass(frozen=True)
class DocumentView:
    """A whole document as the viewer may see it (a source opened from an answer)."""

    doc_id: str
    employee_id: str
    author: str
    doc_type: str
    date: str
    title: str
    text: str

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def _rejoin(chunks: Sequence[StoredChunk]) -> str:
    """A document's text from its chunks, by their offsets (chunks may overlap)."""
    text = ""
    for chunk in sorted(chunks, key=lambda c: int(c.metadata.get("chunk_index", 0))):
        start = int(chunk.metadata.get("start", len(text)))
        if start >= len(text):
            text += " " * (start - len(text)) + chunk.text
        else:
            text += chunk.text[len(text) - start :]
    return text


class SearchService:
    def __init__(
        self,
        store: ChunkStore,
        embeddings: SentenceEmbeddings,
        org: OrgChart,
        *,
        default_k: int = 8,
        exact_max_chunks: int = EXACT_SEARCH_MAX_CHUNKS,
        exact_max_share: float = EXACT_SEARCH_MAX_SHARE,
    ) -> None:
        self.exact_max_chunks = exact_max_chunks
        self.exact_max_share = exact_max_share
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

    def use_exact_search(self, viewer: Viewer, employee_id: str | None) -> bool:
        """Whether the viewer's visible chunks are few enough to rank them exactly.

        Estimated from the per-subject chunk counts recorded at ingest (an upper bound).
        """
        raw = self.store.info().get("subject_chunk_counts")
        if not raw:
            return False  # unknown: let Chroma's index do the work
        counts: dict[str, int] = json.loads(raw)
        total = sum(counts.values())
        if employee_id is not None:
            visible = counts.get(employee_id, 0)
        elif viewer.is_hr:
            visible = total
        else:
            subjects = {viewer.employee_id, *(viewer.managed or ())}
            visible = sum(counts.get(s, 0) for s in subjects)
        return visible <= self.exact_max_chunks and visible <= self.exact_max_share * total

    def _exact_search(
        self,
        vector: list[float],
        viewer: Viewer,
        employee_id: str | None,
        doc_types: Sequence[str] | None,
        period: Period | None,
        k: int,
    ) -> list[tuple[StoredChunk, float]]:
        """Exact cosine ranking over the chunks Chroma returns for the permission filter.

        The permission filter still runs inside Chroma (only permitted chunks are fetched);
        period and type narrow that set before ranking, so no permitted result is ever crowded
        out and nothing is filtered after the top k are chosen.
        """
        where = self.policy.where_filter(viewer, employee_id=employee_id)
        chunks, matrix = self.store.get_with_embeddings(where)
        keep = [
            i
            for i, chunk in enumerate(chunks)
            if (not doc_types or chunk.metadata["doc_type"] in doc_types)
            and (
                period is None
                or period.start_int <= int(chunk.metadata["date_int"]) <= period.end_int
            )
        ]
        if not keep:
            return []
        scores = matrix[keep] @ np.asarray(vector, dtype=np.float32)
        # Highest score first; ties broken by chunk id so results are deterministic.
        order = sorted(
            range(len(keep)), key=lambda j: (-float(scores[j]), chunks[keep[j]].chunk_id)
        )
        return [(chunks[keep[j]], float(scores[j])) for j in order[:k]]

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
        vector = self.embeddings.embed_query(query)
        if self.use_exact_search(viewer, employee_id):
            hits = self._exact_search(vector, viewer, employee_id, doc_types, period, k)
        else:
            where = self.policy.where_filter(
                viewer, employee_id=employee_id, doc_types=doc_types, period=period
            )
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

    def document(self, viewer: Viewer, doc_id: str) -> DocumentView:
        """The document `doc_id` if the viewer may read it. The same refusal whether it does not
        exist or is not theirs to see: a guessed id reveals nothing."""
        where = self.policy.where_filter(viewer)
        clause: Where = {"doc_id": doc_id}
        chunks = self.store.get(where={"$and": [where, clause]} if where else clause)
        if not chunks:
            raise PermissionRefusal(f"no document {doc_id!r} that you may see")
        m = chunks[0].metadata
        return DocumentView(
            doc_id=doc_id,
            employee_id=str(m["employee_id"]),
            author=viewer.author_label(m, self.org),
            doc_type=str(m["doc_type"]),
            date=str(m["date"]),
            title=str(m.get("title", "")),
            text=_rejoin(chunks),
        )
