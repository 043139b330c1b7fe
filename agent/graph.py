"""The perfagent agent: LangChain's `create_agent` with the three tools and one middleware.

One turn::

    question -> read_hints (who, when, what: plain code)
             -> describe_turn (those facts above the question) -> model writes a tool call
             -> ToolNode runs it with the signed-in viewer (ToolRuntime context)
             -> compose() writes the answer from the tool's JSON, citations renumbered

`GroundingMiddleware` wraps every model call. Before the tools have run it narrows the tool
schemas to what the question pins down (`routing.narrow_tools`) and, when the question is about
someone, requires a tool call; it then fixes the draft `kind` from who the person is to the viewer
(self, someone they manage, anyone else: a peer). After the tools have run it answers from their
artifacts instead of letting the model write free text (`answer.compose`); text the model writes
without any tool result is ungrounded and replaced by what perfagent can do.

The viewer is never in the prompt or the arguments: it is the run's `AgentContext`, which the
tools read through `ToolRuntime`. A checkpointer keeps each conversation (`thread_id`), so a
follow-up ("and on delivery?") keeps the person and period. `ToolCallLimitMiddleware` bounds
the calls per turn.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import (
    AgentMiddleware,
    ModelRequest,
    ModelResponse,
    ToolCallLimitMiddleware,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langgraph.checkpoint.memory import InMemorySaver

from perfagent.agent.answer import ComposedAnswer, ToolOutcome, compose, ungrounded_reply
from perfagent.agent.chat_model import LocalChatModel
from perfagent.agent.routing import PreviousCall, TurnHints, narrow_tools, read_hints
from perfagent.agent.turn_context import describe_turn
from perfagent.errors import BadInputError, PermissionRefusal
from perfagent.org import OrgChart
from perfagent.retrieval.access import Viewer
from perfagent.tools.agent_tools import AgentContext, ToolServices, build_tools, resolve_colleague

DEFAULT_MAX_TOOL_CALLS = 3
MAX_QUESTION_CHARS = 2000


def system_prompt() -> str:
    """The agent's system message. It names no date: periods are resolved by code
    (`find_period`), and a message that stays the same keeps the model's cached prefix valid."""
    return (
        (resources.files("perfagent.agent") / "prompts" / "system.txt").read_text("utf-8").strip()
    )


def _turn_start(messages: Sequence[AnyMessage]) -> int:
    """Index of the last human message (the current turn's question)."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return i
    return 0


def _previous_call(messages: Sequence[AnyMessage]) -> PreviousCall | None:
    for message in reversed(messages):
        if isinstance(message, AIMessage) and message.tool_calls:
            call = message.tool_calls[-1]
            return PreviousCall(call["name"], dict(call["args"]))
    return None


def turn_outcomes(messages: Sequence[AnyMessage]) -> list[ToolOutcome]:
    """The current turn's tool calls with their artifacts, in call order."""
    start = _turn_start(messages)
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    outcomes: list[ToolOutcome] = []
    for message in messages[start:]:
        if isinstance(message, AIMessage):
            for call in message.tool_calls:
                calls[str(call["id"])] = (call["name"], dict(call["args"]))
        elif isinstance(message, ToolMessage):
            name, args = calls.get(str(message.tool_call_id), (message.name or "", {}))
            artifact = message.artifact if isinstance(message.artifact, dict) else None
            if artifact is None:  # a tool that failed validation answers with text only
                artifact = {"error": {"kind": "bad_input", "message": str(message.content)}}
            outcomes.append(ToolOutcome(name, args, artifact))
    return outcomes


def draft_kind(org: OrgChart, viewer: Viewer, employee: str) -> str | None:
    """The draft kind the relationship implies: self, manager (someone below the viewer) or
    peer; None when the name does not resolve to one person (the tool then reports why)."""
    try:
        person = resolve_colleague(org, viewer, employee)
    except (BadInputError, PermissionRefusal):
        return None
    if person.employee_id == viewer.employee_id:
        return "self"
    if person.employee_id in org.subtree(viewer.employee_id):
        return "manager"
    return "peer"


class GroundingMiddleware(AgentMiddleware[Any, AgentContext]):
    """Narrows what the model may call, and answers from tool results only."""

    def __init__(self, org: OrgChart, dimension_names: Sequence[str]) -> None:
        super().__init__()
        self.org = org
        self.dimension_names = tuple(dimension_names)

    def hints(self, messages: Sequence[AnyMessage], today: date) -> TurnHints:
        start = _turn_start(messages)
        question = str(messages[start].content) if messages else ""
        return read_hints(
            question,
            org=self.org,
            today=today,
            dimension_names=self.dimension_names,
            previous=_previous_call(messages[:start]),
        )

    def wrap_model_call(
        self,
        request: ModelRequest[AgentContext],
        handler: Callable[[ModelRequest[AgentContext]], ModelResponse[Any]],
    ) -> ModelResponse[Any]:
        context = request.runtime.context
        messages = request.messages
        outcomes = turn_outcomes(messages)
        if outcomes:
            return _answer(compose(outcomes))
        today = (context.today if context else None) or date.today()
        hints = self.hints(messages, today)
        if not hints.needs_tool:
            # no one named: no tool can answer, and free model text would be ungrounded
            return _answer(ungrounded_reply())
        specs = [convert_to_openai_tool(t) if isinstance(t, BaseTool) else t for t in request.tools]
        narrowed = narrow_tools(specs, hints)
        if isinstance(request.model, LocalChatModel):
            # The prompt keeps the full tool descriptions (the same every turn, so the model's
            # prefix cache skips re-reading them); the decoder obeys the narrowed schemas.
            constraints = {t["function"]["name"]: t["function"]["parameters"] for t in narrowed}
            override: dict[str, Any] = {
                "model_settings": {**request.model_settings, "tool_constraints": constraints}
            }
        else:  # a server parses tool calls itself: it gets the narrowed schemas
            override = {"tools": narrowed}
        if context is not None:
            # the model reads the facts above the question, as in its fine-tuning data
            start = _turn_start(messages)
            facts = describe_turn(
                str(messages[start].content),
                org=self.org,
                viewer=context.viewer,
                today=today,
                hints=hints,
            )
            override["messages"] = [*messages[:start], HumanMessage(facts), *messages[start + 1 :]]
        response = handler(request.override(tool_choice="any", **override))
        message = next((m for m in response.result if isinstance(m, AIMessage)), None)
        if message is None or not message.tool_calls:
            return _answer(ungrounded_reply())
        if context is not None:
            for call in message.tool_calls:
                if call["name"] == "draft_feedback":
                    kind = draft_kind(self.org, context.viewer, str(call["args"].get("employee")))
                    if kind == "peer" and hints.manager_review:
                        # asked for a manager's review of someone outside the viewer's tree: keep
                        # it, so the tool refuses instead of quietly writing peer feedback
                        kind = "manager"
                    if kind:
                        call["args"]["kind"] = kind
        return response


def _answer(composed: ComposedAnswer) -> ModelResponse[Any]:
    message = AIMessage(
        content=composed.text,
        response_metadata={
            "perfagent": {
                "citations": composed.citations,
                "refused": composed.refused,
                "clarify": composed.clarify,
                "body_chars": composed.body_chars,
            }
        },
    )
    return ModelResponse(result=[message])


# --- running turns -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolStep:
    """A tool call the model made (shown before it runs)."""

    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class ToolDone:
    """A tool call finished: its artifact and how long it took."""

    name: str
    args: dict[str, Any]
    artifact: dict[str, Any]
    seconds: float


@dataclass(frozen=True)
class AnswerText:
    """A piece of the answer, in order; the last one may be its Sources section."""

    text: str
    sources: bool = False


@dataclass
class AgentAnswer:
    """A finished turn: the contract's `ask` JSON plus timings."""

    answer: str
    body_chars: int | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    citations: list[dict[str, Any]] = field(default_factory=list)
    refused: bool = False
    clarify: bool = False
    thread_id: str = ""
    seconds: float = 0.0
    first_event_seconds: float | None = None
    first_words_seconds: float | None = None

    @property
    def body(self) -> str:
        """The answer without its Sources section."""
        return self.answer[: self.body_chars].rstrip() if self.body_chars else self.answer

    def to_json(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "tool_calls": self.tool_calls,
            "citations": self.citations,
            "refused": self.refused,
            "clarify": self.clarify,
        }


AgentEvent = ToolStep | ToolDone | AnswerText | AgentAnswer


class PerfAgent:
    """The agent over `model` and the tool services; one instance serves many viewers."""

    def __init__(
        self,
        model: BaseChatModel,
        services: ToolServices,
        *,
        max_tool_calls: int = DEFAULT_MAX_TOOL_CALLS,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.model = model
        self.services = services
        self.tools = build_tools(services)
        rubric = getattr(services.scoring_service, "rubric", None)
        dimension_names = list(rubric.names) if rubric is not None else []
        self.today = today
        self.graph = create_agent(
            model,
            self.tools,
            system_prompt=system_prompt(),
            middleware=[
                GroundingMiddleware(services.org, dimension_names),
                ToolCallLimitMiddleware(run_limit=max_tool_calls),
            ],
            context_schema=AgentContext,
            checkpointer=InMemorySaver(),
        )

    def new_thread(self) -> str:
        return uuid.uuid4().hex

    def stream(
        self,
        viewer: Viewer,
        question: str,
        *,
        thread_id: str | None = None,
        today: date | None = None,
    ) -> Iterator[AgentEvent]:
        """One turn as events: tool steps as they start and finish, the answer in pieces, then
        the finished `AgentAnswer`."""
        text = " ".join(question.split())
        if not text:
            raise BadInputError("the question is empty")
        if len(text) > MAX_QUESTION_CHARS:
            raise BadInputError(f"the question is longer than {MAX_QUESTION_CHARS} characters")
        thread = thread_id or self.new_thread()
        context = AgentContext(viewer, today or self.today())
        started = time.perf_counter()
        result = AgentAnswer(answer="", thread_id=thread)
        call_started: dict[str, float] = {}
        calls: dict[str, tuple[str, dict[str, Any]]] = {}

        def mark_first_event() -> None:
            if result.first_event_seconds is None:
                result.first_event_seconds = time.perf_counter() - started

        for update in self.graph.stream(
            {"messages": [HumanMessage(text)]},
            config={"configurable": {"thread_id": thread}},
            context=context,
            stream_mode="updates",
        ):
            for node_output in update.values():
                for message in (node_output or {}).get("messages", []):
                    if isinstance(message, AIMessage) and message.tool_calls:
                        for call in message.tool_calls:
                            calls[str(call["id"])] = (call["name"], dict(call["args"]))
                            call_started[str(call["id"])] = time.perf_counter()
                            result.tool_calls.append(
                                {"name": call["name"], "args": dict(call["args"])}
                            )
                            mark_first_event()
                            yield ToolStep(call["name"], dict(call["args"]))
                    elif isinstance(message, ToolMessage):
                        name, args = calls.get(str(message.tool_call_id), (message.name or "", {}))
                        artifact = message.artifact if isinstance(message.artifact, dict) else {}
                        seconds = time.perf_counter() - call_started.get(
                            str(message.tool_call_id), started
                        )
                        yield ToolDone(name, args, artifact, seconds)
                    elif isinstance(message, AIMessage):
                        meta = message.response_metadata.get("perfagent", {})
                        result.answer = str(message.content)
                        result.citations = list(meta.get("citations", []))
                        result.refused = bool(meta.get("refused"))
                        result.clarify = bool(meta.get("clarify"))
                        body_chars = meta.get("body_chars")
                        result.body_chars = body_chars if isinstance(body_chars, int) else None
        # The answer is composed at once; it is handed on paragraph by paragraph so a UI can
        # show the first lines while it renders the rest.
        body = result.body
        sources = result.answer[len(body) :].strip() if body != result.answer else ""
        for piece in _paragraphs(body):
            if result.first_words_seconds is None:
                mark_first_event()
                result.first_words_seconds = time.perf_counter() - started
            yield AnswerText(piece)
        if sources:
            yield AnswerText("\n\n" + sources, sources=True)
        result.seconds = time.perf_counter() - started
        yield result

    def ask(
        self,
        viewer: Viewer,
        question: str,
        *,
        thread_id: str | None = None,
        today: date | None = None,
    ) -> AgentAnswer:
        """One turn, run to the end."""
        final: AgentAnswer | None = None
        for event in self.stream(viewer, question, thread_id=thread_id, today=today):
            if isinstance(event, AgentAnswer):
                final = event
        assert final is not None
        return final


def _paragraphs(text: str) -> list[str]:
    pieces = text.split("\n\n")
    return [p + ("\n\n" if i < len(pieces) - 1 else "") for i, p in enumerate(pieces) if p]
