"""The ingest run: documents -> chunks -> embeddings -> idempotent upserts, crash-safe.

Re-running is always safe. A document whose stored chunks all carry its current content hash is
left alone; a changed document has its new chunks upserted first and only then its stale chunks
deleted, so a crash at any point leaves either the old or the new version (never neither), and
the next run finishes the job. Chunk ids are `<doc_id>::<n>`, stable across runs.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from perfagent.ingest.chunking import chunk_spans
from perfagent.ingest.documents import (
    Skipped,
    SourceDocument,
    audience_key,
    iter_document_files,
    read_documents,
)
from perfagent.org import OrgChart
from perfagent.periods import date_to_int
from perfagent.store.chroma_store import ChunkStore, DocState, Metadata
from perfagent.store.embeddings import SentenceEmbeddings


@dataclass
class IngestReport:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    pruned: int = 0
    chunks_written: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    ignored_files: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def loaded(self) -> int:
        return self.new + self.updated + self.unchanged

    def summary(self) -> str:
        lines = [
            f"{self.loaded} documents: {self.new} new, {self.updated} updated, "
            f"{self.unchanged} unchanged; {self.chunks_written} chunks written; "
            f"{self.pruned} pruned; {len(self.skipped)} skipped ({self.seconds:.1f} s)"
        ]
        lines += [f"  skipped {s}" for s in self.skipped]
        if self.ignored_files:
            lines.append(f"  ignored {len(self.ignored_files)} files that are not documents")
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "pruned": self.pruned,
            "chunks_written": self.chunks_written,
            "skipped": [{"file": s.source, "reason": s.reason} for s in self.skipped],
            "ignored_files": self.ignored_files,
            "seconds": round(self.seconds, 2),
        }


@dataclass(frozen=True)
class PendingChunk:
    """A chunk ready to embed and write: its stable id, exact text and store metadata."""

    chunk_id: str
    text: str
    metadata: Metadata


def chunk_document(doc: SourceDocument, max_chars: int) -> list[PendingChunk]:
    spans = chunk_spans(doc.text, max_chars)
    f = doc.fields
    base: Metadata = {
        "doc_id": doc.doc_id,
        "source": doc.source,
        "source_root": doc.source_root,
        "employee_id": f.employee_id,
        "author_id": f.author_id,
        "doc_type": f.doc_type,
        "date": f.date.isoformat(),
        "date_int": date_to_int(f.date),
        "title": f.title,
        "visibility": f.visibility,
        "audience": audience_key(f.employee_id, f.visibility),
        "doc_hash": doc.content_hash,
        "n_chunks": len(spans),
    }
    return [
        PendingChunk(
            f"{doc.doc_id}::{i}",
            doc.text[s:e],
            {**base, "chunk_index": i, "start": s, "end": e},
        )
        for i, (s, e) in enumerate(spans)
    ]


class Ingestor:
    """Loads a directory of documents into a `ChunkStore`."""

    def __init__(
        self,
        store: ChunkStore,
        embeddings: SentenceEmbeddings,
        org: OrgChart,
        *,
        max_chunk_chars: int = 700,
        max_file_bytes: int = 5_000_000,
        batch_chunks: int = 64,
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.org = org
        self.max_chunk_chars = max_chunk_chars
        self.max_file_bytes = max_file_bytes
        self.batch_chunks = batch_chunks

    def run(
        self,
        path: Path,
        *,
        prune: bool = False,
        progress: bool = True,
        on_batch: Callable[[int], None] | None = None,
        on_file: Callable[[int, int], None] | None = None,
    ) -> IngestReport:
        """Load the documents under `path`. `on_batch(chunks written)` follows each stored batch,
        `on_file(files read, files in all)` each file (a UI's progress bar)."""
        started = time.perf_counter()
        report = IngestReport()
        root = path if path.is_dir() else path.parent
        documents_files, others = iter_document_files(path)
        report.ignored_files = [p.relative_to(root).as_posix() for p in others]
        existing = self.store.doc_states()
        seen: set[str] = set()
        written: list[tuple[SourceDocument, int]] = []

        batch: list[tuple[SourceDocument, list[PendingChunk], DocState | None]] = []
        bar = tqdm(
            total=len(documents_files),
            unit="file",
            desc="ingest",
            disable=not progress,
            file=sys.stderr,
        )
        files_done: set[str] = set()
        for item in read_documents(path, self.org, max_file_bytes=self.max_file_bytes):
            file_key = item.source.split("#", 1)[0]
            if file_key not in files_done:
                files_done.add(file_key)
                bar.update(1)
                if on_file:
                    on_file(len(files_done), len(documents_files))
            if isinstance(item, Skipped):
                report.skipped.append(item)
                continue
            if item.doc_id in seen:
                report.skipped.append(Skipped(item.source, f"duplicate document id {item.doc_id}"))
                continue
            seen.add(item.doc_id)
            state = existing.get(item.doc_id)
            if state and state.complete and state.doc_hash == item.content_hash:
                report.unchanged += 1
                continue
            chunks = chunk_document(item, self.max_chunk_chars)
            written.append((item, len(chunks)))
            batch.append((item, chunks, state))
            if sum(len(chunks) for _, chunks, _ in batch) >= self.batch_chunks:
                self._write(batch, report)
                batch = []
                if on_batch:
                    on_batch(report.chunks_written)
        self._write(batch, report)
        bar.close()

        kept = dict(existing)
        if prune:
            root_name = root.resolve().name
            gone = [
                doc_id
                for doc_id, state in existing.items()
                if state.source_root == root_name and doc_id not in seen
            ]
            self.store.delete(
                [cid for doc_id in gone for cid in sorted(existing[doc_id].chunk_ids)]
            )
            report.pruned = len(gone)
            for doc_id in gone:
                del kept[doc_id]
        self._record_store_info(kept, written)
        report.seconds = time.perf_counter() - started
        return report

    def _record_store_info(
        self, kept: dict[str, DocState], written: list[tuple[SourceDocument, int]]
    ) -> None:
        """Store-wide facts search relies on: the newest date and chunk counts per subject."""
        final: dict[str, tuple[str, str, int]] = {
            doc_id: (state.employee_id, state.date, state.n_chunks)
            for doc_id, state in kept.items()
        }
        for doc, n_chunks in written:
            final[doc.doc_id] = (doc.fields.employee_id, doc.fields.date.isoformat(), n_chunks)
        counts: dict[str, int] = {}
        for employee_id, _, n_chunks in final.values():
            counts[employee_id] = counts.get(employee_id, 0) + n_chunks
        self.store.set_info(
            newest_date=max((d for _, d, _ in final.values()), default=""),
            subject_chunk_counts=json.dumps(counts, sort_keys=True),
        )

    def _write(
        self,
        batch: Iterable[tuple[SourceDocument, list[PendingChunk], DocState | None]],
        report: IngestReport,
    ) -> None:
        batch = list(batch)
        chunks = [c for _, doc_chunks, _ in batch for c in doc_chunks]
        if not chunks:
            return
        vectors = self.embeddings.embed_documents([c.text for c in chunks])
        self.store.upsert(
            [c.chunk_id for c in chunks],
            [c.text for c in chunks],
            vectors,
            [c.metadata for c in chunks],
        )
        # Only after the new version is stored: drop chunks the new version no longer has.
        stale = [
            cid
            for _, doc_chunks, state in batch
            if state is not None
            for cid in sorted(state.chunk_ids - {c.chunk_id for c in doc_chunks})
        ]
        self.store.delete(stale)
        for _, _, state in batch:
            if state is None:
                report.new += 1
            else:
                report.updated += 1
        report.chunks_written += len(chunks)
