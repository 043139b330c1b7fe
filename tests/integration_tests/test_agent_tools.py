"""The agent's tools on the ingested demo: visibility from the run's context, verbatim evidence,
and the tools inside a real `create_agent` graph (LangGraph's ToolNode injecting the runtime)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import BaseTool

from perfagent.periods import parse_period
from perfagent.tools.agent_tools import (
    DEFAULT_DIMENSIONS,
    AgentContext,
    ToolServices,
    build_tools,
)
from tests.tool_calls import call

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def services(demo_container: Any) -> ToolServices:
    return ToolServices.from_container(demo_container)


@pytest.fixture(scope="module")
def tools(services: ToolServices) -> dict[str, BaseTool]:
    return {t.name: t for t in build_tools(services)}


def chunk_texts(demo_container: Any, chunk_ids: list[str]) -> dict[str, str]:
    return {c.chunk_id: c.text for c in demo_container.store.get(ids=sorted(set(chunk_ids)))}


def assert_verbatim(demo_container: Any, citations: list[dict[str, Any]]) -> None:
    texts = chunk_texts(demo_container, [c["chunk_id"] for c in citations])
    for citation in citations:
        assert citation["quote"], citation
        assert citation["quote"] in texts[citation["chunk_id"]], citation


# --- retrieve_documents --------------------------------------------------------------------------


def test_manager_retrieves_a_reports_documents(
    tools: dict[str, BaseTool], services: ToolServices, demo_container: Any
) -> None:
    message = call(
        tools["retrieve_documents"],
        services,
        "E003",
        employee="Micheal",
        query="missed the committed date",
        period="2026",
    )
    artifact = message.artifact
    results = artifact["results"]
    assert results and {r["employee_id"] for r in results} == {"E007"}
    assert artifact["employee_id"] == "E007" and artifact["period"] == "2026"
    assert message.content.startswith("Passages about Michael Brennan (E007), period 2026")
    for n, result in enumerate(results, start=1):
        assert f"[{n}] {result['date']} {result['doc_type']}" in message.content
        assert set(result) >= {
            "doc_id", "chunk_id", "employee_id", "author", "doc_type", "date", "title", "text",
            "score",
        }  # fmt: skip
    assert [c["n"] for c in artifact["citations"]] == list(range(1, len(results) + 1))
    assert_verbatim(demo_container, artifact["citations"])


def test_same_call_different_context_different_visibility(
    tools: dict[str, BaseTool], services: ToolServices, demo_container: Any
) -> None:
    args = {"employee": "E007", "query": "feedback on his work", "period": "2026"}
    tool = tools["retrieve_documents"]
    as_manager = call(tool, services, "E003", **args).artifact["results"]
    as_hr = call(tool, services, "E001", **args).artifact["results"]
    as_self = call(tool, services, "E007", **args).artifact["results"]
    as_peer = call(tool, services, "E008", **args)  # Sofia, Michael's teammate

    assert as_manager and as_hr and as_self
    assert as_peer.content.startswith("refused: you may not see documents about E007")
    assert "results" not in as_peer.artifact
    # Michael sees his own documents, never management-only ones, and peers stay anonymous.
    self_chunks = {
        c.chunk_id: c for c in demo_container.store.get(ids=[r["chunk_id"] for r in as_self])
    }
    assert all(c.metadata.get("visibility") != "management" for c in self_chunks.values())
    for result in as_self:
        if result["doc_type"] == "peer_feedback":
            assert result["author"] == "a peer"
    # The manager's view of the same person includes the management-only note Michael can't see.
    notes = {**args, "doc_types": ["manager_note"]}
    manager_notes = call(tool, services, "E003", **notes).artifact["results"]
    own_notes = call(tool, services, "E007", **notes).artifact["results"]
    hidden = {
        c.chunk_id
        for c in demo_container.store.get(ids=[r["chunk_id"] for r in manager_notes])
        if c.metadata.get("visibility") == "management"
    }
    assert hidden
    assert {r["chunk_id"] for r in own_notes} == {r["chunk_id"] for r in manager_notes} - hidden


def test_doc_types_and_period_narrow_the_results(
    tools: dict[str, BaseTool], services: ToolServices
) -> None:
    message = call(
        tools["retrieve_documents"],
        services,
        "E001",
        employee="Michael Brennan",
        query="work",
        period="2026-H1",
        doc_types=["weekly_report", "peer_feedback"],
    )
    period = parse_period("2026-H1")
    results = message.artifact["results"]
    assert results
    for result in results:
        assert result["doc_type"] in {"weekly_report", "peer_feedback"}
        assert period.start.isoformat() <= result["date"] <= period.end.isoformat()


def test_default_period_is_the_services(tools: dict[str, BaseTool], services: ToolServices) -> None:
    message = call(tools["retrieve_documents"], services, "E003", employee="E007", query="work")
    assert message.artifact["period"] == services.search_service.default_period().label


# --- score_dimensions ----------------------------------------------------------------------------


def test_scores_have_six_dimensions_with_verbatim_evidence(
    tools: dict[str, BaseTool], services: ToolServices, demo_container: Any
) -> None:
    message = call(tools["score_dimensions"], services, "E003", employee="Michael", period="2026")
    report = message.artifact
    assert report["employee_id"] == "E007" and report["period"] == "2026"
    assert [d["name"] for d in report["dimensions"]] == list(DEFAULT_DIMENSIONS)
    evidence = [e for d in report["dimensions"] for e in d["evidence"]]
    assert evidence
    for dim in report["dimensions"]:
        assert dim["confidence"] in {"high", "medium", "low", "insufficient"}
        assert dim["score"] is None or 1.0 <= dim["score"] <= 5.0
        for item in dim["evidence"]:
            assert set(item) >= {"doc_id", "chunk_id", "quote", "date", "doc_type", "effect"}
    assert_verbatim(demo_container, evidence)
    # The text for the model: every dimension, and [n] for each quote it shows.
    for dim in report["dimensions"]:
        assert f"- {dim['name']}: " in message.content
    assert report["citations"]
    for citation in report["citations"]:
        assert f"[{citation['n']}] {citation['doc_type']} {citation['date']}" in message.content
    assert_verbatim(demo_container, report["citations"])


def test_scores_for_chosen_dimensions(tools: dict[str, BaseTool], services: ToolServices) -> None:
    message = call(
        tools["score_dimensions"],
        services,
        "E001",
        employee="Aisha",
        dimensions=["delivery", "growth"],
    )
    assert [d["name"] for d in message.artifact["dimensions"]] == ["delivery", "growth"]
    assert "- quality" not in message.content


def test_scores_refused_and_errors_as_text(
    tools: dict[str, BaseTool], services: ToolServices
) -> None:
    tool = tools["score_dimensions"]
    assert call(tool, services, "E010", employee="Michael").content.startswith("refused: ")
    ambiguous = call(tool, services, "E001", employee="Alex").content
    assert "Alex Novak (E020" in ambiguous and "Alex Park (E021" in ambiguous
    bad = call(tool, services, "E003", employee="E007", period="Q3 2026").content
    assert bad.startswith("error: period 'Q3 2026' is not one of 2026-Q3")


# --- inside a real agent graph -------------------------------------------------------------------


class ScriptedModel(GenericFakeChatModel):
    """A chat model that replays fixed messages (the test's 'model'); tools bind as a no-op."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self


def run_agent(tools: list[BaseTool], viewer: Any, tool_call: dict[str, Any]) -> ToolMessage:
    model = ScriptedModel(
        messages=iter(
            [
                AIMessage(content="", tool_calls=[{**tool_call, "id": "c1", "type": "tool_call"}]),
                AIMessage(content="done"),
            ]
        )
    )
    agent = create_agent(model, tools, context_schema=AgentContext)
    out = agent.invoke(
        {"messages": [{"role": "user", "content": "How is Michael doing?"}]},
        context=AgentContext(viewer),
    )
    replies = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert len(replies) == 1
    return replies[0]


def test_agent_injects_the_viewer_from_context(
    tools: dict[str, BaseTool], services: ToolServices
) -> None:
    policy = services.search_service.policy
    # The model tries to pass a viewer and a runtime of its own: both are ignored/overwritten.
    tool_call = {
        "name": "retrieve_documents",
        "args": {
            "employee": "Michael",
            "query": "deadlines",
            "viewer": "E001",
            "runtime": {"context": {"viewer": "E001"}},
        },
    }
    as_dana = run_agent(list(tools.values()), policy.viewer("E003"), tool_call)
    assert as_dana.status == "success"
    assert as_dana.artifact["results"]
    assert {r["employee_id"] for r in as_dana.artifact["results"]} == {"E007"}
    as_liam = run_agent(list(tools.values()), policy.viewer("E010"), tool_call)
    assert as_liam.content.startswith("refused: you may not see documents about Michael")


# --- draft_feedback (runs once perfagent.tools.drafting exists) ----------------------------------


class TestDraftFeedback:
    @pytest.fixture(autouse=True)
    def _drafting(self) -> Iterator[None]:
        pytest.importorskip("perfagent.tools.drafting")
        yield

    @pytest.fixture
    def draft_tool(self, services: ToolServices) -> BaseTool:
        assert services.drafting_service is not None, "wire Container.drafting_service"
        return next(t for t in build_tools(services) if t.name == "draft_feedback")

    def test_manager_draft_with_verbatim_citations(
        self, draft_tool: BaseTool, services: ToolServices, demo_container: Any
    ) -> None:
        message = call(draft_tool, services, "E003", employee="Micheal", kind="manager")
        draft = message.artifact
        assert set(draft) >= {"employee_id", "kind", "period", "text", "citations", "warnings"}
        assert draft["employee_id"] == "E007" and draft["kind"] == "manager"
        assert message.content.startswith(draft["text"].strip())
        assert draft["citations"]
        assert_verbatim(demo_container, draft["citations"])

    def test_draft_refused_and_errors_as_text(
        self, draft_tool: BaseTool, services: ToolServices
    ) -> None:
        refused = call(draft_tool, services, "E010", employee="Michael", kind="manager")
        assert refused.content.startswith("refused: ")
        ambiguous = call(draft_tool, services, "E001", employee="Alex", kind="manager")
        assert ambiguous.content.startswith("error: 'Alex' matches several people")
        bad = call(draft_tool, services, "E003", employee="E007", kind="manager", period="soon")
        assert bad.content.startswith("error: period 'soon'")

    def test_peer_draft_about_a_colleague_the_writer_cannot_read(
        self, draft_tool: BaseTool, services: ToolServices, demo_container: Any
    ) -> None:
        # Sofia writes peer feedback to her teammate Michael: no right to his documents needed.
        message = call(draft_tool, services, "E008", employee="Micheal", kind="peer")
        assert not message.content.startswith(("refused", "error")), message.content
        draft = message.artifact
        assert draft["employee_id"] == "E007" and draft["kind"] == "peer"
        assert_verbatim(demo_container, draft["citations"])
        cited = chunk_texts(demo_container, [c["chunk_id"] for c in draft["citations"]])
        if cited:
            chunks = demo_container.store.get(ids=sorted(cited))
            assert {c.metadata["employee_id"] for c in chunks} == {"E008"}

    def test_kind_literal_is_the_drafting_services(self) -> None:
        from typing import get_args

        from perfagent.tools.agent_tools import DraftKind
        from perfagent.tools.drafting import DRAFT_KINDS

        assert get_args(DraftKind) == tuple(DRAFT_KINDS)
