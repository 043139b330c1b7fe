"""Storage: the sentence-embedding model and the Chroma chunk store (embedded or server)."""

from perfagent.store.chroma_store import ChunkStore, StoredChunk
from perfagent.store.embeddings import SentenceEmbeddings, resolve_embedding_model

__all__ = ["ChunkStore", "SentenceEmbeddings", "StoredChunk", "resolve_embedding_model"]
