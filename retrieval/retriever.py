"""A LangChain retriever bound to one viewer: the viewer comes from construction, never the query."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from perfagent.periods import Period
from perfagent.retrieval.access import Viewer
from perfagent.retrieval.search import SearchService


class PerfagentRetriever(BaseRetriever):
    """Permission-aware retriever over the perfagent chunk store.

    `invoke(query, k=...)` may change the number of results; nothing passed at query time can
    change whose documents are searched.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    search_service: SearchService
    viewer: Viewer
    k: int = 8
    employee_id: str | None = None
    doc_types: list[str] | None = None
    period: Period | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k = int(kwargs.get("k", self.k))
        hits = self.search_service.search(
            self.viewer,
            query,
            employee_id=self.employee_id,
            doc_types=self.doc_types,
            period=self.period,
            k=k,
        )
        return [
            Document(
                id=hit.chunk_id,
                page_content=hit.text,
                metadata={k: v for k, v in hit.to_json().items() if k != "text"},
            )
            for hit in hits
        ]
