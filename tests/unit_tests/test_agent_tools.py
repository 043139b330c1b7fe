"""The agent's tools: schemas the model sees, the viewer from context only, user errors as text.

These run on real services over a home holding the demo org and an empty store (no ingest, so
they stay fast); `tests/integration_tests/test_agent_tools.py` runs the same tools on the
ingested demo.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from langchain_core.tools import BaseTool
from pydantic import ValidationError

from perfagent.errors import PerfagentError
from perfagent.ingest.documents import DOC_TYPES, DocType
from perfagent.retrieval.people import AmbiguousPersonError
from perfagent.tools.agent_tools import (
    DEFAULT_DIMENSIONS,
    AgentContext,
    DraftFeedbackInput,
    ScoreDimensionsInput,
    ToolServices,
    _with_rubric_dimensions,
    build_tools,
    resolve_colleague,
)
from tests.tool_calls import call, runtime_for

MODEL_ARGS = {
    "retrieve_documents": {"employee", "query", "period", "doc_types"},
    "score_dimensions": {"employee", "period", "dimensions"},
}
REQUIRED = {"retrieve_documents": ["employee", "query"], "score_dimensions": ["employee"]}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Iterator[ToolServices]:
    from perfagent.container import Container
    from perfagent.settings import load_settings

    container = Container(
        load_settings(tmp_path_factory.mktemp("tools-home")), writable=True, purpose="tests"
    )
    container.install_org(demo_dir / "org.csv")
    yield ToolServices.from_container(container)


@pytest.fixture(scope="module")
def tools(services: ToolServices) -> dict[str, BaseTool]:
    return {t.name: t for t in build_tools(services)}


# --- what the model sees -------------------------------------------------------------------------


def test_tool_names_match_the_contract(tools: dict[str, BaseTool]) -> None:
    assert set(tools) >= set(MODEL_ARGS)
    assert set(tools) <= {*MODEL_ARGS, "draft_feedback"}
    for tool in tools.values():
        assert tool.response_format == "content_and_artifact"
        assert 40 < len(tool.description) < 400, tool.name


@pytest.mark.parametrize("name", sorted(MODEL_ARGS))
def test_model_visible_schema_has_no_viewer_or_runtime(
    tools: dict[str, BaseTool], name: str
) -> None:
    tool = tools[name]
    for schema in (
        tool.tool_call_schema.model_json_schema(),
        tool.get_input_schema().model_json_schema(),
    ):
        props = schema["properties"]
        assert set(props) == MODEL_ARGS[name]
        assert sorted(schema.get("required", [])) == sorted(REQUIRED[name])
        assert "runtime" not in props and "viewer" not in props
        assert "a name" in props["employee"]["description"]
        assert "an employee id" in props["employee"]["description"]
        assert "2026-Q3" in props["period"]["description"]
    assert set(tool.args) == MODEL_ARGS[name]


def test_every_string_argument_is_bounded(tools: dict[str, BaseTool]) -> None:
    def strings(node: Any) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if node.get("type") == "string" and "enum" not in node:
                yield node
            for value in node.values():
                yield from strings(value)
        elif isinstance(node, list):
            for value in node:
                yield from strings(value)

    schemas = [t.tool_call_schema.model_json_schema() for t in tools.values()]
    schemas.append(DraftFeedbackInput.model_json_schema())
    found = [s for schema in schemas for s in strings(schema["properties"])]
    assert found and all("maxLength" in s for s in found), found
    retrieve = tools["retrieve_documents"].tool_call_schema.model_json_schema()["properties"]
    assert retrieve["employee"]["maxLength"] == 80
    assert retrieve["query"]["maxLength"] == 300
    assert retrieve["period"]["anyOf"][0]["maxLength"] == 25
    doc_types = retrieve["doc_types"]["anyOf"][0]
    assert doc_types["maxItems"] == 8 and doc_types["items"]["enum"] == list(DOC_TYPES)
    score = tools["score_dimensions"].tool_call_schema.model_json_schema()["properties"]
    assert score["dimensions"]["anyOf"][0]["maxItems"] == 6
    kind = DraftFeedbackInput.model_json_schema()["properties"]["kind"]
    assert kind["enum"] == ["manager", "self", "peer"]


def test_doc_type_literal_is_the_contracts() -> None:
    assert get_args(DocType) == DOC_TYPES
    assert len(DOC_TYPES) == 8


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("retrieve_documents", {"employee": "x" * 500, "query": "deadlines"}),
        ("retrieve_documents", {"employee": "Dana", "query": "q" * 301}),
        ("retrieve_documents", {"employee": "Dana", "query": "q", "period": "2026-Q3" * 5}),
        ("retrieve_documents", {"employee": "Dana", "query": "q", "doc_types": ["emails"]}),
        (
            "retrieve_documents",
            {"employee": "Dana", "query": "q", "doc_types": ["recognition"] * 9},
        ),
        ("score_dimensions", {"employee": "x" * 500}),
        ("score_dimensions", {"employee": "Dana", "dimensions": ["delivery"] * 7}),
        ("score_dimensions", {"employee": "Dana", "dimensions": ["d" * 41]}),
        ("score_dimensions", {}),
    ],
)
def test_arguments_out_of_bounds_are_validation_errors(
    tools: dict[str, BaseTool], services: ToolServices, name: str, args: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError):
        call(tools[name], services, "E003", **args)


def test_draft_schema_bounds() -> None:
    ok = DraftFeedbackInput(employee="Dana", kind="peer", period="2026-H1")
    assert ok.dimensions is None
    for bad in (
        {"employee": "x" * 500, "kind": "manager"},
        {"employee": "Dana", "kind": "boss"},
        {"employee": "Dana"},
        {"employee": "Dana", "kind": "self", "dimensions": ["growth"] * 7},
    ):
        with pytest.raises(ValidationError):
            DraftFeedbackInput(**bad)


def test_dimension_description_follows_the_rubric() -> None:
    assert _with_rubric_dimensions(ScoreDimensionsInput, DEFAULT_DIMENSIONS) is ScoreDimensionsInput
    custom = _with_rubric_dimensions(ScoreDimensionsInput, ["impact", "craft"])
    props = custom.model_json_schema()["properties"]
    assert "impact, craft" in props["dimensions"]["description"]
    assert set(props) == {"employee", "period", "dimensions"}
    with pytest.raises(ValidationError):
        custom(employee="Dana", dimensions=["impact"] * 7)


# --- the viewer comes from the run's context only ------------------------------------------------


def test_without_a_context_the_tool_refuses_to_run(
    tools: dict[str, BaseTool], services: ToolServices
) -> None:
    tool = tools["retrieve_documents"]
    with pytest.raises(TypeError):  # no runtime at all: nothing to fall back to
        tool.invoke({"employee": "Michael", "query": "deadlines"})
    # A runtime the model wrote (a plain dict, as a tool call's args would hold) is not one.
    with pytest.raises(RuntimeError, match="AgentContext"):
        tool.invoke(
            {
                "employee": "Michael",
                "query": "deadlines",
                "runtime": {"context": {"viewer": "E001"}},
            }
        )
    runtime = runtime_for(services, "E003")
    runtime.context = {"viewer": "E001"}  # a context that is not an AgentContext
    with pytest.raises(RuntimeError, match="AgentContext"):
        tool.invoke({"employee": "Michael", "query": "deadlines", "runtime": runtime})


def test_agent_context_holds_a_viewer() -> None:
    with pytest.raises(TypeError):
        AgentContext("E001")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(MODEL_ARGS))
def test_ic_asking_about_a_colleague_is_refused(
    tools: dict[str, BaseTool], services: ToolServices, name: str
) -> None:
    args = {"employee": "Michael Brennan"}
    if name == "retrieve_documents":
        args["query"] = "deadlines"
    refused = call(tools[name], services, "E010", **args)  # Liam, an engineer
    assert refused.content.startswith("refused: ")
    assert "Michael Brennan" in refused.content and "E007" not in refused.content
    assert refused.artifact == {
        "error": {
            "kind": "permission",
            "message": "you may not see documents about Michael Brennan",
        }
    }
    # A viewer the model writes into the arguments changes nothing.
    spoofed = call(tools[name], services, "E010", **args, viewer="E001", as_id="E001")
    assert spoofed.content == refused.content
    # The same call in a manager's context goes through.
    allowed = call(tools[name], services, "E003", **args)
    assert not allowed.content.startswith(("refused", "error"))
    assert allowed.artifact["employee_id"] == "E007"


def test_refusal_by_id_reveals_only_the_id_asked_for(
    tools: dict[str, BaseTool], services: ToolServices
) -> None:
    refused = call(tools["score_dimensions"], services, "E020", employee="E007")
    assert refused.content.startswith("refused: you may not see documents about E007")
    assert "Michael" not in refused.content


def test_misspelt_name_resolves_for_a_manager(
    tools: dict[str, BaseTool], services: ToolServices
) -> None:
    message = call(tools["retrieve_documents"], services, "E003", employee="Micheal", query="x")
    assert "Michael Brennan (E007)" in message.content
    assert message.artifact["employee_id"] == "E007"


def test_me_is_the_viewer(tools: dict[str, BaseTool], services: ToolServices) -> None:
    message = call(tools["score_dimensions"], services, "E010", employee="me")
    assert message.artifact["employee_id"] == "E010"


def test_ambiguous_name_lists_the_candidates(
    tools: dict[str, BaseTool], services: ToolServices
) -> None:
    message = call(tools["score_dimensions"], services, "E001", employee="Alex")
    assert message.content.startswith("error: 'Alex' matches several people: ")
    assert "Alex Novak (E020" in message.content and "Alex Park (E021" in message.content
    assert "ask the user which one" in message.content
    assert [c["employee_id"] for c in message.artifact["candidates"]] == ["E020", "E021"]
    assert message.artifact["error"]["kind"] == "ambiguous_employee"


def test_ambiguity_lists_only_people_the_viewer_may_see(
    tools: dict[str, BaseTool], services: ToolServices
) -> None:
    # Grace Liu manages both Alexes; Dana Whitfield manages neither.
    grace = call(tools["score_dimensions"], services, "E005", employee="Alex")
    assert "Alex Novak" in grace.content and "Alex Park" in grace.content
    dana = call(tools["score_dimensions"], services, "E003", employee="Alex")
    assert dana.content.startswith("refused: ")
    assert "E020" not in dana.content and "E021" not in dana.content


def test_colleagues_resolve_across_the_org_for_peer_feedback(services: ToolServices) -> None:
    liam = services.search_service.policy.viewer("E010")
    assert resolve_colleague(services.org, liam, "Micheal").employee_id == "E007"
    with pytest.raises(AmbiguousPersonError) as raised:
        resolve_colleague(services.org, liam, "Alex")
    # Names and ids only: titles and teams of people Liam may not see stay out of the message.
    assert str(raised.value) == (
        "'Alex' matches several people: Alex Novak (E020), Alex Park (E021); say which"
    )
    grace = services.search_service.policy.viewer("E005")  # manages both Alexes
    with pytest.raises(AmbiguousPersonError, match=r"Alex Novak \(E020, Product Designer"):
        resolve_colleague(services.org, grace, "Alex")


def test_unknown_name_is_an_error_text(tools: dict[str, BaseTool], services: ToolServices) -> None:
    message = call(tools["retrieve_documents"], services, "E001", employee="Bob", query="x")
    assert message.content == (
        "error: no one called 'Bob' in the organisation; ask the user who they mean."
    )
    assert message.artifact["error"]["kind"] == "unknown_employee"


@pytest.mark.parametrize("name", sorted(MODEL_ARGS))
@pytest.mark.parametrize("period", ["2026-Q5", "last quarter", "2026-09-30..2026-05-01"])
def test_bad_period_is_an_error_text(
    tools: dict[str, BaseTool], services: ToolServices, name: str, period: str
) -> None:
    args = {"employee": "E007", "period": period}
    if name == "retrieve_documents":
        args["query"] = "deadlines"
    message = call(tools[name], services, "E003", **args)
    assert message.content.startswith(f"error: period '{period}'")
    assert message.artifact["error"]["kind"] == "bad_input"


def test_unknown_dimension_is_an_error_text(
    tools: dict[str, BaseTool], services: ToolServices
) -> None:
    message = call(tools["score_dimensions"], services, "E003", employee="E007", dimensions=["x"])
    assert message.content.startswith("error: unknown dimension 'x' (one of delivery, ")


def test_blank_period_and_empty_lists_mean_the_defaults(
    tools: dict[str, BaseTool], services: ToolServices
) -> None:
    message = call(
        tools["score_dimensions"], services, "E003", employee="E007", period=" ", dimensions=[]
    )
    assert [d["name"] for d in message.artifact["dimensions"]] == list(DEFAULT_DIMENSIONS)


def test_without_a_drafting_service_there_is_no_draft_tool(services: ToolServices) -> None:
    bare = ToolServices(services.org, services.search_service, services.scoring_service)
    assert [t.name for t in build_tools(bare)] == ["retrieve_documents", "score_dimensions"]


def test_other_errors_propagate(tmp_path: Path, demo_dir: Path) -> None:
    """An outage is not a user error: it is raised, not handed to the model as text."""
    from perfagent.container import Container
    from perfagent.settings import load_settings

    container = Container(load_settings(tmp_path), writable=True, purpose="tests")
    container.install_org(demo_dir / "org.csv")
    services = ToolServices.from_container(container)
    tool = next(t for t in build_tools(services) if t.name == "score_dimensions")
    store = container.store
    store.client.delete_collection(store.collection_name)  # the store goes away under the tool
    with pytest.raises(Exception) as raised:
        call(tool, services, "E003", employee="E007")
    assert not isinstance(raised.value, PerfagentError)
