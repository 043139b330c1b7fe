"""What a question pins down before the model speaks: who, when, which dimensions and tools.

A 135M-parameter model cannot know today's date, the org chart or the contract's period forms,
and it copies names badly. So the agent reads the facts a question states with plain code and
hands the model tool schemas narrowed to them (`narrow_tools`): `employee` becomes a choice among
the people the question names (as the user wrote them; the tool resolves typos, nicknames and
ambiguity with the viewer's rights), `period` the one period it names (resolved against today by
`find_period`; absent when none is named), `dimensions` and `doc_types` the ones it names. What
stays open (which tool, which of several people, whether to filter, the search words) is the
model's choice, made by constrained decoding.

A follow-up that names no one ("and on delivery?") keeps the previous call's person, period and
tool. None of this can widen what the viewer may read: every name still goes through the tool's
permission check with the signed-in viewer.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from perfagent.org import OrgChart
from perfagent.periods import find_period
from perfagent.retrieval.people import find_mentions

_SELF = re.compile(r"\b(me|my|myself|mine|i|i'm|i've|i'd)\b", re.IGNORECASE)
# "show me", "tell me": the user as the audience, not the subject
_IMPERATIVE_ME = re.compile(r"\b(?:show|tell|give|send|get|find|pull|let)\s+me\b", re.IGNORECASE)

# Words that say which tool a question wants; a question matching several (or none) leaves the
# choice to the model among those (or all).
_INTENTS: dict[str, re.Pattern[str]] = {
    "draft_feedback": re.compile(
        r"\b(draft|compose|prepare|put together|write (?:up |me )?(?:a|an|my|some|the)\b|"
        r"(?:^|please )write\b[^.?]*\breview|(?:manager|peer) review (?:for|of)\b|"
        # "write (peer) feedback on Ana", "... could you write it?": writing is drafting
        r"write (?:\w+ ){0,2}feedback|write (?:it|this|that)\b|"
        r"give \S+(?: \S+)? (?:some )?(?:peer )?feedback|"
        r"peer feedback for\b|self[- ]assessment)",
        re.IGNORECASE,
    ),
    "score_dimensions": re.compile(
        r"\b(scor\w*|rate|rating|ratings|how (?:is|are|was|did|has|have|would|'s)\b|how's|"
        r"how\b[^?.]*\b(?:doing|going|tracking|performing|perform))",
        re.IGNORECASE,
    ),
    "retrieve_documents": re.compile(
        r"\b(show|find|pull|search|look up|what did|what has|what have|said|say|wrote|"
        r"mention\w*|examples?|evidence|notes?|reports?|updates?|documents?|docs?|"
        r"summar\w*|recogni\w*|feedback (?:about|from|on)|anything|any\b|up to|"
        r"been doing|working on)",
        re.IGNORECASE,
    ),
}
# An explicit request for scores decides between scoring and retrieval.
_EXPLICIT_SCORE = re.compile(r"\b(scor\w*|rate|rating|ratings)\b", re.IGNORECASE)
# "a manager review" asked for in so many words: a draft of that kind, refused outside the tree
_MANAGER_REVIEW = re.compile(
    r"\bmanager(?:'s)?[- ](?:review|feedback|appraisal|assessment)", re.IGNORECASE
)
_SELF_DOC = re.compile(r"\bself[- ]?(review|assessment|appraisal)", re.IGNORECASE)

_DOC_TYPE_WORDS: dict[str, re.Pattern[str]] = {
    "weekly_report": re.compile(r"\bweekly (?:report|update)s?\b", re.IGNORECASE),
    "project_summary": re.compile(r"\bproject summar(?:y|ies)\b", re.IGNORECASE),
    "peer_feedback": re.compile(
        r"\b(?:peer feedback|feedback from (?:my )?peers|"
        r"peers? (?:said|say|says|think|thought|wrote))",
        re.IGNORECASE,
    ),
    "manager_note": re.compile(r"\bmanager(?:'s)? notes?\b", re.IGNORECASE),
    "self_review": re.compile(r"\bself[- ]?reviews?\b", re.IGNORECASE),
    "okr_update": re.compile(r"\bokrs?\b", re.IGNORECASE),
    "one_on_one": re.compile(r"\b(?:one[- ]on[- ]ones?|1[:-]1s?|1 on 1s?)\b", re.IGNORECASE),
    "recognition": re.compile(r"\brecogni(?:tion|[sz]\w*)", re.IGNORECASE),
}


# Words that carry no search meaning: question scaffolding, pronouns, periods.
_QUERY_STOPWORDS = frozenset(
    re.findall(
        r"\S+",
        """
a about above after again against all also am an and any anything are as at be been before being
below between both but by can could did do does doing done during each every few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just last let me more most my myself no nor not now of off on once only or other our ours out
over own please pls same she should show so some such than that the their theirs them then there
these they this those through to too u under until up very was we were what when where which while
who whom why will with would you your yours find pull give tell look search get see know want like
love need documents document docs doc evidence mention mentions mentioned mentioning say said says
talk talks talked write wrote written any much many since year years month months quarter quarters
half week weeks today yesterday q1 q2 q3 q4 h1 h2 first second third fourth next previous recent
january february march april may june july august september october november december jan feb mar
apr jun jul aug sep sept oct nov dec mean herself himself themselves there's what's who's where's
i'd i'm i've that's it's been up ignore instructions rules previous
""",
    )
)


def query_phrase(question: str, people: Sequence[str]) -> str:
    """The search words of a retrieval question: what is left once names, periods and question
    scaffolding are taken out ("What has Mike said about on-call in his weekly reports?" ->
    "on-call weekly reports")."""
    names = {w.casefold() for person in people for w in re.findall(r"[\w'’-]+", person)}
    kept: list[str] = []
    for raw in re.findall(r"[A-Za-zÀ-ÿ0-9][\w'’-]*", question):
        word = re.sub(r"(?:'s|’s|')$", "", raw).casefold()
        if word in _QUERY_STOPWORDS or word in names or word.isdigit() or len(word) < 2:
            continue
        if re.fullmatch(r"\d{4}(-\w+)?", word):
            continue
        kept.append(word)
    return " ".join(kept)[:120].strip() or "work"


@dataclass(frozen=True)
class PreviousCall:
    """The last tool call of the conversation, for follow-ups."""

    tool: str
    args: dict[str, Any]


@dataclass(frozen=True)
class TurnHints:
    """What the question (and the conversation before it) pins down."""

    people: tuple[str, ...]
    period: str | None
    dimensions: tuple[str, ...]
    doc_types: tuple[str, ...]
    tools: tuple[str, ...]
    follow_up: bool = False
    query: str = ""
    manager_review: bool = False

    @property
    def needs_tool(self) -> bool:
        """Whether the question is about someone (so some tool must answer it)."""
        return bool(self.people)


def read_hints(
    question: str,
    *,
    org: OrgChart,
    today: date,
    dimension_names: Sequence[str],
    previous: PreviousCall | None = None,
) -> TurnHints:
    """The facts `question` states, with the previous call filling in a follow-up's gaps."""
    people = tuple(find_mentions(org, question))
    about_self = _SELF.search(_IMPERATIVE_ME.sub(" ", question))
    if not people and (about_self or _SELF_DOC.search(question)):
        people = ("me",)
    found = find_period(question, today)
    period = found.label if found else None
    words = question.casefold()
    dimensions = tuple(d for d in dimension_names if re.search(rf"\b{re.escape(d)}", words))
    doc_types = tuple(t for t, pattern in _DOC_TYPE_WORDS.items() if pattern.search(question))
    tools = tuple(name for name, pattern in _INTENTS.items() if pattern.search(question))
    if "draft_feedback" in tools:
        # "draft my review, what did the notes say" is still a draft request
        tools = ("draft_feedback",)
    elif doc_types and ("retrieve_documents" in tools or not tools):
        tools = ("retrieve_documents",)
    elif "score_dimensions" in tools and _EXPLICIT_SCORE.search(question):
        tools = ("score_dimensions",)
    follow_up = False
    if not people and previous is not None:
        follow_up = True
        people = (str(previous.args.get("employee", "")),) if previous.args.get("employee") else ()
        period = period or previous.args.get("period")
        if not tools:
            tools = (previous.tool,)
    return TurnHints(
        manager_review=bool(_MANAGER_REVIEW.search(question)),
        query=query_phrase(question, people),
        people=people,
        period=period,
        dimensions=dimensions,
        doc_types=doc_types,
        tools=tools,
        follow_up=follow_up,
    )


def narrow_tools(tools: Sequence[dict[str, Any]], hints: TurnHints) -> list[dict[str, Any]]:
    """OpenAI-format tool specs with their arguments narrowed to what the question pins down."""
    wanted = [t for t in tools if t["function"]["name"] in hints.tools] or list(tools)
    narrowed: list[dict[str, Any]] = []
    for tool in wanted:
        spec = copy.deepcopy(tool)
        parameters = spec["function"].setdefault("parameters", {"type": "object"})
        properties: dict[str, Any] = parameters.setdefault("properties", {})
        required: list[str] = parameters.setdefault("required", [])
        if "employee" in properties and hints.people:
            properties["employee"] = {**_plain(properties["employee"]), "enum": list(hints.people)}
        _pin(properties, required, "period", [hints.period] if hints.period else [])
        if "query" in properties and hints.query:
            properties["query"] = {**_plain(properties["query"]), "enum": [hints.query]}
        _pin(properties, required, "dimensions", list(hints.dimensions), array=True)
        _pin(properties, required, "doc_types", list(hints.doc_types), array=True)
        narrowed.append(spec)
    return narrowed


def _plain(schema: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in schema.items() if k in ("description", "title")} | {"type": "string"}


def _pin(
    properties: dict[str, Any],
    required: list[str],
    name: str,
    values: list[str],
    *,
    array: bool = False,
) -> None:
    """`name` limited to `values` (required when given), or removed when there are none."""
    if name not in properties:
        return
    if not values:
        del properties[name]
        return
    base = _plain(properties[name])
    if array:
        properties[name] = {
            **{k: v for k, v in base.items() if k != "type"},
            "type": "array",
            "items": {"type": "string", "enum": values},
            # every named value: "on delivery and quality" means both
            "minItems": len(values),
            "maxItems": len(values),
        }
    else:
        properties[name] = {**base, "enum": values}
    if name not in required:
        required.append(name)
