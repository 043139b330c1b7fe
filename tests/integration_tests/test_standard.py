"""LangChain's standard integration tests: the retriever and the embeddings, on real models."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from langchain_tests.integration_tests import (
    EmbeddingsIntegrationTests,
    RetrieversIntegrationTests,
)
from pydantic import ValidationError

from perfagent.retrieval.retriever import PerfagentRetriever
from perfagent.store.embeddings import SentenceEmbeddings, resolve_embedding_model


class TestSentenceEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[SentenceEmbeddings]:
        return SentenceEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        return {"model_path": resolve_embedding_model("minilm", models_dir=None).path}  # type: ignore[arg-type]


class TestPerfagentRetrieverStandard(RetrieversIntegrationTests):
    """Run as a manager (Dana Whitfield) over the whole demo store."""

    _container: ClassVar[Any] = None

    @pytest.fixture(autouse=True)
    def _demo(self, demo_container: Any) -> None:
        type(self)._container = demo_container

    @property
    def retriever_constructor(self) -> type[PerfagentRetriever]:
        return PerfagentRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        service = self._container.search_service
        return {"search_service": service, "viewer": service.policy.viewer("E003"), "k": 4}

    @property
    def retriever_query_example(self) -> str:
        return "missed the committed date"


def test_retriever_viewer_cannot_be_changed_at_query_time(demo_container: Any) -> None:
    service = demo_container.search_service
    retriever = PerfagentRetriever(search_service=service, viewer=service.policy.viewer("E010"))
    docs = retriever.invoke("manager notes about Dana", viewer=service.policy.viewer("E001"), k=20)
    assert docs and {d.metadata["employee_id"] for d in docs} == {"E010"}
    with pytest.raises(ValidationError):  # frozen: the bound viewer cannot be swapped either
        retriever.viewer = service.policy.viewer("E001")  # type: ignore[misc]
