"""Ingestion: read the company's files, validate them, chunk them and upsert them into the store."""

from perfagent.ingest.documents import DOC_TYPES, SourceDocument, read_documents
from perfagent.ingest.pipeline import Ingestor, IngestReport

__all__ = ["DOC_TYPES", "IngestReport", "Ingestor", "SourceDocument", "read_documents"]
