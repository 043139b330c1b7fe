"""The three tools the agent's model calls (contract section 4), as LangChain tools.

`retrieve_documents(employee, query, period?, doc_types?)`, `score_dimensions(employee, period?,
dimensions?)` and `draft_feedback(employee, kind, period?, dimensions?)`.

Who is asking is never a tool argument. The signed-in viewer travels in the run's context
(`AgentContext`), which LangGraph's `ToolNode` injects into each call as a `ToolRuntime`: the
`runtime` parameter is hidden from the schema the model sees, and a value the model writes for it
is overwritten by the real one. Everything the viewer may see is then decided by the services
(retrieval layer) from that viewer, as for the command line. `employee` is resolved among the
people the viewer may see (`resolve_person`), except for a peer draft: a colleague may write
feedback to someone whose documents they cannot read (`resolve_colleague`).

Each tool answers `(content, artifact)`: `content` is a compact text for the model, with `[n]`
numbers it can cite; `artifact` is the contract's JSON for the same result (plus a `citations`
list whose `n` match the numbers in `content`), for the UI and the `ask` output. Errors the user
can act on (an ambiguous or unknown name, a bad period, a permission refusal) come back as
`content` starting with "error:" or "refused:", so the agent can relay them; anything else is a
bug or an outage and propagates.

Wiring::

    tools = build_tools(ToolServices.from_container(container))
    agent = create_agent(model, tools, context_schema=AgentContext)
    agent.invoke({"messages": [...]}, context=AgentContext(viewer))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field, StringConstraints, create_model

from perfagent.errors import BadInputError, PermissionRefusal
from perfagent.ingest.documents import DocType
from perfagent.org import OrgChart, Person
from perfagent.periods import Period, parse_period
from perfagent.retrieval.access import Viewer
from perfagent.retrieval.people import (
    AmbiguousPersonError,
    UnknownPersonError,
    resolve_person,
)
from perfagent.retrieval.search import SearchService
from perfagent.tools.drafting import DraftKind
from perfagent.tools.scoring import ScoringService

if TYPE_CHECKING:  # drafting is optional here: the tool exists when the service is given
    from perfagent.tools.drafting import DraftingService


# Limits on what the model may write (constrained decoding needs them; a longer value is a
# validation error, not a truncation).
MAX_EMPLOYEE_CHARS = 80
MAX_QUERY_CHARS = 300
MAX_PERIOD_CHARS = 25  # "2026-05-01..2026-09-30" is 22
MAX_DIMENSION_CHARS = 40
MAX_DIMENSIONS = 6
MAX_DOC_TYPES = 8

# How much of each passage and quote the model reads (the artifact keeps them whole).
RETRIEVAL_TEXT_CHARS = 360
SCORE_QUOTE_CHARS = 160
SCORE_QUOTES_PER_DIMENSION = 2
DRAFT_QUOTE_CHARS = 120

DEFAULT_DIMENSIONS = (
    "delivery",
    "quality",
    "collaboration",
    "ownership",
    "communication",
    "growth",
)

EMPLOYEE_DESCRIPTION = (
    "Who it is about: a name ('Dana Whitfield' or just 'Dana'), an employee id ('E014'), "
    "or 'me' for the user."
)
PERIOD_DESCRIPTION = (
    "Optional time range: '2026-Q3', '2026-H1', '2026', '2026-07' or "
    "'2026-05-01..2026-09-30'. Leave it out for the six months up to the newest document."
)

RETRIEVE_DESCRIPTION = (
    "Search the performance documents about one person (weekly reports, peer feedback, manager "
    "notes, reviews, OKR updates) and return the best-matching passages, numbered [n] for "
    "citation. Use it to answer questions about what someone did or how they worked."
)
SCORE_DESCRIPTION = (
    "Score one person on the performance dimensions (1.0 to 5.0, or insufficient evidence) from "
    "their documents in a period, with the quotes behind each score numbered [n]. "
    "Scores are an advisory evidence summary, not a rating."
)
DRAFT_DESCRIPTION = (
    "Write a feedback draft about one person with [n] citations to their documents. kind is "
    "'manager' (a manager's review of them), 'self' (their own self-review) or 'peer' "
    "(feedback from a colleague)."
)

DimensionName = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_DIMENSION_CHARS)
]


def _dimensions_description(names: Sequence[str]) -> str:
    return (
        f"Optional: only these dimensions, any of {', '.join(names)}. Leave it out for all of them."
    )


class RetrieveDocumentsInput(BaseModel):
    """Arguments of `retrieve_documents` (all the model writes)."""

    employee: str = Field(max_length=MAX_EMPLOYEE_CHARS, description=EMPLOYEE_DESCRIPTION)
    query: str = Field(
        max_length=MAX_QUERY_CHARS,
        description="What to look for, in a few words, e.g. 'missed deadlines' or 'mentoring'.",
    )
    period: str | None = Field(
        default=None, max_length=MAX_PERIOD_CHARS, description=PERIOD_DESCRIPTION
    )
    doc_types: list[DocType] | None = Field(
        default=None,
        max_length=MAX_DOC_TYPES,
        description="Optional: only these document types. Leave it out for all types.",
    )


class ScoreDimensionsInput(BaseModel):
    """Arguments of `score_dimensions`."""

    employee: str = Field(max_length=MAX_EMPLOYEE_CHARS, description=EMPLOYEE_DESCRIPTION)
    period: str | None = Field(
        default=None, max_length=MAX_PERIOD_CHARS, description=PERIOD_DESCRIPTION
    )
    dimensions: list[DimensionName] | None = Field(
        default=None,
        max_length=MAX_DIMENSIONS,
        description=_dimensions_description(DEFAULT_DIMENSIONS),
    )


class DraftFeedbackInput(BaseModel):
    """Arguments of `draft_feedback`."""

    employee: str = Field(max_length=MAX_EMPLOYEE_CHARS, description=EMPLOYEE_DESCRIPTION)
    kind: DraftKind = Field(
        description="'manager' (a manager's review), 'self' (a self-review) or 'peer' "
        "(feedback from a colleague)."
    )
    period: str | None = Field(
        default=None, max_length=MAX_PERIOD_CHARS, description=PERIOD_DESCRIPTION
    )
    dimensions: list[DimensionName] | None = Field(
        default=None,
        max_length=MAX_DIMENSIONS,
        description=_dimensions_description(DEFAULT_DIMENSIONS),
    )


def _with_rubric_dimensions(schema: type[BaseModel], names: Sequence[str]) -> type[BaseModel]:
    """`schema` with the `dimensions` description naming this rubric's dimensions."""
    if tuple(names) == DEFAULT_DIMENSIONS or not names:
        return schema
    return create_model(
        schema.__name__,
        __base__=schema,
        __doc__=schema.__doc__,
        dimensions=(
            list[DimensionName] | None,
            Field(
                default=None,
                max_length=MAX_DIMENSIONS,
                description=_dimensions_description(names),
            ),
        ),
    )


# --- context and services -----------------------------------------------------------------------


@dataclass(frozen=True)
class AgentContext:
    """The run's context: who is signed in, and the date relative periods ("last quarter")
    are resolved against (None: the real today). Passed as `agent.invoke(..., context=...)`."""

    viewer: Viewer
    today: date | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.viewer, Viewer):
            raise TypeError(f"AgentContext.viewer must be a Viewer, not {type(self.viewer)}")


@dataclass(frozen=True)
class ToolServices:
    """What the tools need. `drafting_service` is optional: without it there is no draft tool."""

    org: OrgChart
    search_service: SearchService
    scoring_service: ScoringService
    drafting_service: DraftingService | None = None

    @classmethod
    def from_container(cls, container: Any) -> ToolServices:
        drafting = (
            container.drafting_service if hasattr(type(container), "drafting_service") else None
        )
        return cls(
            org=container.org,
            search_service=container.search_service,
            scoring_service=container.scoring_service,
            drafting_service=drafting,
        )


def viewer_of(runtime: ToolRuntime[AgentContext]) -> Viewer:
    """The signed-in viewer from the injected runtime; a run without one is a wiring bug."""
    context = getattr(runtime, "context", None)
    if not isinstance(runtime, ToolRuntime) or not isinstance(context, AgentContext):
        raise RuntimeError(
            "perfagent tools need the signed-in viewer: run the agent with "
            "context_schema=AgentContext and invoke(..., context=AgentContext(viewer))"
        )
    return context.viewer


# --- results as text for the model ---------------------------------------------------------------

ToolResult = tuple[str, dict[str, Any]]


def _clip(text: str, limit: int) -> str:
    """`text` on one line, cut at a word boundary to at most `limit` characters (+ "…")."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0] if " " in flat[:limit] else flat[:limit]
    return cut.rstrip(",;:.") + "…"


def _who(person: Person) -> str:
    return f"{person.name} ({person.employee_id})"


def _citation(n: int, item: dict[str, Any], quote: str) -> dict[str, Any]:
    return {
        "n": n,
        "doc_id": item["doc_id"],
        "chunk_id": item["chunk_id"],
        "quote": quote,
        "date": item["date"],
        "doc_type": item["doc_type"],
    }


def _retrieval_text(person: Person, period: Period | None, results: list[dict[str, Any]]) -> str:
    span = f", period {period.label}" if period else ""
    if not results:
        return (
            f"No documents about {_who(person)} match{span}. "
            "Try another period, fewer document types or other words."
        )
    lines = [f"Passages about {_who(person)}{span}, best match first (cite as [n]):"]
    for n, hit in enumerate(results, start=1):
        title = f' "{hit["title"]}"' if hit.get("title") else ""
        lines.append(
            f"[{n}] {hit['date']} {hit['doc_type']}{title} by {hit['author']}: "
            f"{_clip(str(hit['text']), RETRIEVAL_TEXT_CHARS)}"
        )
    return "\n".join(lines)


def _score_text(report: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    lines = [
        f"Scores for {report.get('name', report['employee_id'])} ({report['employee_id']}), "
        f"period {report['period']}, scale 1-5. Advisory evidence summary, not a rating; "
        "cite quotes as [n]:"
    ]
    citations: list[dict[str, Any]] = []
    for dim in report["dimensions"]:
        evidence = dim["evidence"]
        if dim["score"] is None:
            lines.append(f"- {dim['name']}: insufficient evidence ({len(evidence)} quotes)")
            continue
        lines.append(f"- {dim['name']}: {dim['score']:.1f} ({dim['confidence']} confidence)")
        for item in evidence[:SCORE_QUOTES_PER_DIMENSION]:
            n = len(citations) + 1
            citations.append(_citation(n, item, item["quote"]))
            lines.append(
                f"  [{n}] {item['doc_type']} {item['date']} ({item['effect']:+.2f}): "
                f'"{_clip(item["quote"], SCORE_QUOTE_CHARS)}"'
            )
    return "\n".join(lines), citations


def _draft_text(draft: dict[str, Any]) -> str:
    parts = [str(draft["text"]).strip()]
    citations = draft.get("citations") or []
    if citations:
        parts.append(
            "Sources:\n"
            + "\n".join(
                f'[{c["n"]}] {c["doc_type"]} {c["date"]}: "{_clip(c["quote"], DRAFT_QUOTE_CHARS)}"'
                for c in citations
            )
        )
    warnings = draft.get("warnings") or []
    if warnings:
        parts.append("Warnings on this draft:\n" + "\n".join(f"- {w}" for w in warnings))
    return "\n\n".join(parts)


def _user_error(exc: BadInputError | PermissionRefusal) -> ToolResult:
    """An error the user can act on, worded for the model to relay."""
    message = str(exc)
    artifact: dict[str, Any] = {"error": {"message": message}}
    if isinstance(exc, PermissionRefusal):
        artifact["error"]["kind"] = "permission"
        content = (
            f"refused: {message}. Tell the user you cannot share anything about this person; "
            "do not guess."
        )
    elif isinstance(exc, AmbiguousPersonError):
        artifact["error"]["kind"] = "ambiguous_employee"
        artifact["candidates"] = [
            {"employee_id": c.employee_id, "name": c.name, "title": c.title, "team": c.team}
            for c in exc.candidates
        ]
        content = (
            f"error: {message.removesuffix('; say which')}; "
            "ask the user which one they mean, then call again with that id."
        )
    elif isinstance(exc, UnknownPersonError):
        artifact["error"]["kind"] = "unknown_employee"
        content = f"error: {message}; ask the user who they mean."
    else:
        artifact["error"]["kind"] = "bad_input"
        content = f"error: {message}"
    return content, artifact


def _guarded(body: Callable[[], ToolResult]) -> ToolResult:
    try:
        return body()
    except (BadInputError, PermissionRefusal) as exc:
        return _user_error(exc)


def resolve_colleague(org: OrgChart, viewer: Viewer, query: str) -> Person:
    """Anyone in the organisation `query` names, for feedback the viewer writes *to* them.

    A peer writing feedback about a colleague needs no right to read the colleague's documents
    (the drafting service uses only the writer's own), so the name is looked up in the whole
    org chart, which is not secret. An ambiguity lists names and ids, with title and team only
    for people the viewer may see, as `resolve_person` does.
    """
    try:
        return resolve_person(org, Viewer(viewer.person, None), query)
    except AmbiguousPersonError as exc:
        candidates = [
            c if viewer.may_see_subject(c.employee_id) else replace(c, title="", team="")
            for c in exc.candidates
        ]
        raise AmbiguousPersonError(exc.query, candidates) from None


def _period(text: str | None) -> Period | None:
    return parse_period(text) if text and text.strip() else None


# --- the tools -----------------------------------------------------------------------------------


def tool_inputs(dimension_names: Sequence[str] = DEFAULT_DIMENSIONS) -> dict[str, type[BaseModel]]:
    """Each tool's argument schema, by tool name (what a written call must validate against)."""
    return {
        "retrieve_documents": RetrieveDocumentsInput,
        "score_dimensions": _with_rubric_dimensions(ScoreDimensionsInput, dimension_names),
        "draft_feedback": _with_rubric_dimensions(DraftFeedbackInput, dimension_names),
    }


def tool_specs(dimension_names: Sequence[str] = DEFAULT_DIMENSIONS) -> list[dict[str, Any]]:
    """The three tools as the model sees them (OpenAI format), without any services: what the
    fine-tuning data is built against. Equal to `convert_to_openai_tool` of `build_tools`' tools."""
    from langchain_core.utils.function_calling import convert_to_openai_tool

    def spec(name: str, description: str, schema: type[BaseModel]) -> dict[str, Any]:
        parameters = convert_to_openai_tool(schema)["function"]["parameters"]
        return {
            "type": "function",
            "function": {"name": name, "description": description, "parameters": parameters},
        }

    return [
        spec("retrieve_documents", RETRIEVE_DESCRIPTION, RetrieveDocumentsInput),
        spec(
            "score_dimensions",
            SCORE_DESCRIPTION,
            _with_rubric_dimensions(ScoreDimensionsInput, dimension_names),
        ),
        spec(
            "draft_feedback",
            DRAFT_DESCRIPTION,
            _with_rubric_dimensions(DraftFeedbackInput, dimension_names),
        ),
    ]


def build_tools(services: ToolServices) -> list[BaseTool]:
    """The agent's tools over `services`: retrieval, scoring and (with a drafting service)
    drafting. The viewer of each call comes from the run's `AgentContext`."""
    org = services.org
    search_service = services.search_service
    scoring_service = services.scoring_service
    drafting_service = services.drafting_service
    rubric = getattr(scoring_service, "rubric", None)
    dimension_names = list(rubric.names) if rubric is not None else list(DEFAULT_DIMENSIONS)

    def retrieve_documents(
        employee: str,
        query: str,
        runtime: ToolRuntime[AgentContext],
        period: str | None = None,
        doc_types: list[DocType] | None = None,
    ) -> ToolResult:
        viewer = viewer_of(runtime)

        def body() -> ToolResult:
            person = resolve_person(org, viewer, employee)
            chosen = _period(period) or search_service.default_period()
            hits = search_service.search(
                viewer,
                query,
                employee_id=person.employee_id,
                doc_types=list(doc_types) if doc_types else None,
                period=chosen,
            )
            results = [hit.to_json() for hit in hits]
            artifact: dict[str, Any] = {
                "results": results,
                "employee_id": person.employee_id,
                "name": person.name,
                "period": chosen.label if chosen else None,
                "query": query,
                "citations": [
                    _citation(n, hit, str(hit["text"])) for n, hit in enumerate(results, start=1)
                ],
            }
            return _retrieval_text(person, chosen, results), artifact

        return _guarded(body)

    def score_dimensions(
        employee: str,
        runtime: ToolRuntime[AgentContext],
        period: str | None = None,
        dimensions: list[str] | None = None,
    ) -> ToolResult:
        viewer = viewer_of(runtime)

        def body() -> ToolResult:
            person = resolve_person(org, viewer, employee)
            report = scoring_service.score(
                viewer,
                person.employee_id,
                period=_period(period),
                dimensions=list(dimensions) if dimensions else None,
            ).to_json()
            content, citations = _score_text(report)
            return content, {**report, "citations": citations}

        return _guarded(body)

    def draft_feedback(
        employee: str,
        kind: DraftKind,
        runtime: ToolRuntime[AgentContext],
        period: str | None = None,
        dimensions: list[str] | None = None,
    ) -> ToolResult:
        viewer = viewer_of(runtime)

        def body() -> ToolResult:
            # A peer may write feedback about a colleague whose documents they cannot read.
            resolve = resolve_colleague if kind == "peer" else resolve_person
            person = resolve(org, viewer, employee)
            draft = drafting_service.draft(
                viewer,
                person.employee_id,
                kind,
                period=_period(period),
                dimensions=list(dimensions) if dimensions else None,
            ).to_json()
            return _draft_text(draft), draft

        return _guarded(body)

    tools: list[BaseTool] = [
        StructuredTool.from_function(
            func=retrieve_documents,
            name="retrieve_documents",
            description=RETRIEVE_DESCRIPTION,
            args_schema=RetrieveDocumentsInput,
            response_format="content_and_artifact",
        ),
        StructuredTool.from_function(
            func=score_dimensions,
            name="score_dimensions",
            description=SCORE_DESCRIPTION,
            args_schema=_with_rubric_dimensions(ScoreDimensionsInput, dimension_names),
            response_format="content_and_artifact",
        ),
    ]
    if drafting_service is not None:
        tools.append(
            StructuredTool.from_function(
                func=draft_feedback,
                name="draft_feedback",
                description=DRAFT_DESCRIPTION,
                args_schema=_with_rubric_dimensions(DraftFeedbackInput, dimension_names),
                response_format="content_and_artifact",
            )
        )
    return tools
