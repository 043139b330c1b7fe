"""The chunk store: one Chroma collection per embedding model, embedded or on a `chroma run` server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.config import Settings as ChromaClientSettings

from perfagent.errors import BadInputError
from perfagent.store.lock import DirectoryLock

Metadata = dict[str, str | int | float | bool]
Where = dict[str, Any]

_PAGE = 5000  # rows per Chroma get(): bounded memory on large stores


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    text: str
    metadata: Metadata


@dataclass(frozen=True)
class DocState:
    """What the store holds for one document: its content hash and chunk ids."""

    doc_hash: str
    n_chunks: int
    chunk_ids: frozenset[str]
    source_root: str
    date: str
    employee_id: str

    @property
    def complete(self) -> bool:
        return len(self.chunk_ids) == self.n_chunks


def _client_settings() -> ChromaClientSettings:
    return ChromaClientSettings(anonymized_telemetry=False, allow_reset=False)


def open_client(url: str, directory: Path, *, writable: bool, purpose: str) -> ClientAPI:
    """A Chroma server client when `url` is set, else the embedded store under `directory`."""
    if url:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise BadInputError(f"chroma url '{url}' must look like http://host:port")
        port = parsed.port or (443 if parsed.scheme == "https" else 8000)
        try:
            return chromadb.HttpClient(
                host=parsed.hostname,
                port=port,
                ssl=parsed.scheme == "https",
                settings=_client_settings(),
            )
        except Exception as exc:  # chromadb raises bare ValueError/ConnectError types
            raise BadInputError(f"cannot reach the Chroma server at {url}: {exc}") from exc
    DirectoryLock.acquire(directory, exclusive=writable, purpose=purpose)
    return chromadb.PersistentClient(path=str(directory), settings=_client_settings())


class ChunkStore:
    """Chunks with their embeddings and metadata; the only code that talks to Chroma."""

    def __init__(self, client: ClientAPI, collection_name: str) -> None:
        self.client = client
        self.collection_name = collection_name
        self.collection: Collection = client.get_or_create_collection(
            collection_name,
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )

    # -- writing -------------------------------------------------------------------------
    def upsert(
        self,
        ids: Sequence[str],
        texts: Sequence[str],
        embeddings: Sequence[Sequence[float]],
        metadatas: Sequence[Metadata],
    ) -> None:
        if ids:
            self.collection.upsert(
                ids=list(ids),
                documents=list(texts),
                embeddings=[list(e) for e in embeddings],
                metadatas=[dict(m) for m in metadatas],
            )

    def delete(self, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), _PAGE):
            self.collection.delete(ids=list(ids[start : start + _PAGE]))

    def set_info(self, **info: str | int) -> None:
        """Store-wide facts (e.g. the newest document date) kept in the collection metadata."""
        merged = {**(self.collection.metadata or {}), **info}
        self.collection.modify(metadata=merged)

    # -- reading -------------------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return dict(self.collection.metadata or {})

    def count(self) -> int:
        return self.collection.count()

    def get(
        self,
        *,
        ids: Sequence[str] | None = None,
        where: Where | None = None,
        with_text: bool = True,
    ) -> list[StoredChunk]:
        return [chunk for chunk, _ in self._get(ids=ids, where=where, with_text=with_text)]

    def get_with_embeddings(self, where: Where | None) -> tuple[list[StoredChunk], np.ndarray]:
        """Chunks matching `where` with their stored (normalised) embeddings, as a matrix."""
        rows = self._get(ids=None, where=where, with_text=True, with_embeddings=True)
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        matrix = np.asarray([vec for _, vec in rows], dtype=np.float32)
        return [chunk for chunk, _ in rows], matrix

    def _get(
        self,
        *,
        ids: Sequence[str] | None,
        where: Where | None,
        with_text: bool,
        with_embeddings: bool = False,
    ) -> list[tuple[StoredChunk, Any]]:
        include: list[str] = ["metadatas", "documents"] if with_text else ["metadatas"]
        if with_embeddings:
            include.append("embeddings")
        chunks: list[tuple[StoredChunk, Any]] = []
        offset = 0
        while True:
            page = self.collection.get(
                ids=list(ids) if ids is not None else None,
                where=where,
                include=include,  # type: ignore[arg-type]
                limit=_PAGE,
                offset=offset,
            )
            n = len(page["ids"])
            docs = page.get("documents") or [""] * n
            metas = page.get("metadatas") or [{}] * n
            vectors = page.get("embeddings")
            if vectors is None:
                vectors = [None] * n
            for cid, text, meta, vec in zip(page["ids"], docs, metas, vectors, strict=True):
                chunks.append((StoredChunk(cid, text or "", dict(meta or {})), vec))
            if n < _PAGE:
                return chunks
            offset += _PAGE

    def doc_states(self, where: Where | None = None) -> dict[str, DocState]:
        """Per document id, what is stored: used to skip unchanged documents and to prune."""
        grouped: dict[str, list[StoredChunk]] = {}
        for chunk in self.get(where=where, with_text=False):
            grouped.setdefault(str(chunk.metadata["doc_id"]), []).append(chunk)
        states: dict[str, DocState] = {}
        for doc_id, chunks in grouped.items():
            hashes = {c.metadata.get("doc_hash") for c in chunks}
            first = chunks[0].metadata
            states[doc_id] = DocState(
                # Mixed hashes mean a half-replaced document: never equal to a real hash.
                doc_hash=str(first["doc_hash"]) if len(hashes) == 1 else "mixed",
                n_chunks=int(first["n_chunks"]),
                chunk_ids=frozenset(c.chunk_id for c in chunks),
                source_root=str(first.get("source_root", "")),
                date=str(first.get("date", "")),
                employee_id=str(first.get("employee_id", "")),
            )
        return states

    def query(
        self, embedding: Sequence[float], *, k: int, where: Where | None
    ) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks to `embedding` among those matching `where` (filtered inside Chroma)."""
        result = self.collection.query(
            query_embeddings=[list(embedding)],
            n_results=k,
            where=where,
            include=["documents", "metadatas", "distances"],  # type: ignore[list-item]
        )
        ids = result["ids"][0]
        docs = (result.get("documents") or [[]])[0]
        metas = (result.get("metadatas") or [[]])[0]
        dists = (result.get("distances") or [[]])[0]
        return [
            (StoredChunk(cid, text or "", dict(meta or {})), 1.0 - float(dist))
            for cid, text, meta, dist in zip(ids, docs, metas, dists, strict=True)
        ]
