"""LangChain's standard unit tests for perfagent's Embeddings implementation."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import EmbeddingsUnitTests

from perfagent.store.embeddings import SentenceEmbeddings, resolve_embedding_model


class TestSentenceEmbeddingsStandard(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[SentenceEmbeddings]:
        return SentenceEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        # Construction is cheap: the model loads on first use.
        return {"model_path": resolve_embedding_model("minilm", models_dir=None).path}  # type: ignore[arg-type]
