"""LangChain's standard unit tests for perfagent's Embeddings implementation."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from langchain_tests.unit_tests import EmbeddingsUnitTests, ToolsUnitTests

from perfagent.store.embeddings import SentenceEmbeddings, resolve_embedding_model


class TestSentenceEmbeddingsStandard(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[SentenceEmbeddings]:
        return SentenceEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, Any]:
        # Construction is cheap: the model loads on first use.
        return {"model_path": resolve_embedding_model("minilm", models_dir=None).path}  # type: ignore[arg-type]


# --- the agent's tools ---------------------------------------------------------------------------
# Each tool is an instance built by `build_tools` over real services (the demo org, an empty
# store: these tests never invoke the tools). The schema the standard tests check is exactly what
# the model sees: the tools' `runtime: ToolRuntime[AgentContext]` parameter (the signed-in viewer)
# is injected by LangGraph's ToolNode and is not part of `args_schema`, so
# `tool_invoke_params_example` holds only model-written arguments and validates against
# `get_input_schema()` unchanged. Invocation with an injected runtime is covered by the
# integration standard tests (tests/integration_tests/test_standard.py).


class _AgentToolStandard(ToolsUnitTests):
    tool_name: ClassVar[str]
    _tools: ClassVar[dict[str, Any] | None] = None

    @pytest.fixture(autouse=True)
    def _agent_tools(self, tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> None:
        if _AgentToolStandard._tools is None:
            from perfagent.container import Container
            from perfagent.settings import load_settings
            from perfagent.tools.agent_tools import ToolServices, build_tools

            home = tmp_path_factory.mktemp("agent-tools-standard")
            container = Container(load_settings(home), writable=True, purpose="tests")
            container.install_org(demo_dir / "org.csv")
            tools = build_tools(ToolServices.from_container(container))
            _AgentToolStandard._tools = {t.name: t for t in tools}

    @property
    def tool_constructor(self) -> Any:
        assert self._tools is not None
        assert self.tool_name in self._tools, f"no {self.tool_name} tool (is its service wired?)"
        return self._tools[self.tool_name]


class TestRetrieveDocumentsToolStandard(_AgentToolStandard):
    tool_name = "retrieve_documents"

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {
            "employee": "Michael Brennan",
            "query": "missed the committed date",
            "period": "2026-Q3",
            "doc_types": ["weekly_report", "manager_note"],
        }


class TestScoreDimensionsToolStandard(_AgentToolStandard):
    tool_name = "score_dimensions"

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"employee": "E007", "period": "2026", "dimensions": ["delivery", "quality"]}


class TestDraftFeedbackToolStandard(_AgentToolStandard):
    """Skipped only while `perfagent.tools.drafting` cannot be imported."""

    tool_name = "draft_feedback"

    @pytest.fixture(autouse=True)
    def _drafting(self, _agent_tools: None) -> None:
        pytest.importorskip("perfagent.tools.drafting")

    @property
    def tool_invoke_params_example(self) -> dict[str, Any]:
        return {"employee": "Michael", "kind": "manager", "period": "2026-H1"}
