"""Permission-aware retrieval: who may see what, enforced inside the Chroma query."""

from perfagent.retrieval.access import AccessPolicy, Viewer
from perfagent.retrieval.retriever import PerfagentRetriever
from perfagent.retrieval.search import SearchHit, SearchService

__all__ = ["AccessPolicy", "PerfagentRetriever", "SearchHit", "SearchService", "Viewer"]
