"""Instruction examples for fine-tuning the chat model on perfagent's jobs (`perfagent finetune
build`).

Two tasks, each example a short chat (system kind, user message, the answer to learn):

- **route** (system: the agent's prompt with the three tools): the user message is exactly what
  the agent sends (`agent.turn_context.describe_turn`: today, the asker, whom the question names
  and what the asker may see of them, the period, the tools its words ask for and the search
  words, then the question); the answer is one tool call
  `<tool_call>{...}</tool_call>` with the right arguments, a refusal (the person is outside the
  asker's access) or a question back (the name fits several people).
- **phrase** (system: `prompts/phrase_system.txt`): one piece of evidence, quoted and numbered;
  the answer is one third-person feedback sentence that says what the quote says and cites [1].

Where the examples come from, and why evaluation never sees training material:

- synthetic organisations (random trees of 14-30 people, random ids, one HR partner) whose
  names are drawn from `data/finetune/names.json`, split by name: a first or last name belongs to
  training or to evaluation, never both (`split_of`), so evaluation people are new people;
- question templates (`data/finetune/templates.jsonl`) split by template id the same way, so
  evaluation phrasings are new phrasings; periods, dimensions, document types and topics are
  filled at random, and today's date varies from 2025 to 2027;
- the `train` split of the routing set (`data/routing/questions.jsonl`), as real phrasings in the
  demo organisation. Its `test` split and `fresh.jsonl` are never used: they are the held-out
  evaluation of `perfagent eval routing`;
- evidence sentences of the judge's training corpus (`data/judge_train/`, first-person ones),
  split by the sentence's hash.

Every label is made by the same code the agent runs (name resolution, `find_period`), and an
example whose question that code reads differently from what was meant is dropped, so no example
teaches something the agent would contradict.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from perfagent.agent.routing import TurnHints, read_hints
from perfagent.agent.routing_set import RoutingCase, load_routing_set, query_covers
from perfagent.agent.turn_context import NamedPerson, describe_turn, relation_of, search_words
from perfagent.org import OrgChart, Person
from perfagent.retrieval.access import AccessPolicy, Viewer
from perfagent.retrieval.people import NICKNAMES
from perfagent.tools.agent_tools import DEFAULT_DIMENSIONS

EVAL_SHARE = 0.2
ROUTE_SYSTEM = "agent"
PHRASE_SYSTEM = "phrase"

# What the model answers when the person is out of reach, or the name fits several people.
REFUSAL_ANSWER = "I can't share anything about that person: they are outside what you may see."
CLARIFY_ANSWER = "Which one do you mean: {listed}?"

DOC_TYPE_PHRASES: dict[str, tuple[str, ...]] = {
    "weekly_report": ("weekly reports", "weekly updates", "weekly report"),
    "project_summary": ("project summaries", "project summary"),
    "peer_feedback": ("peer feedback", "feedback from peers"),
    "manager_note": ("manager notes", "manager's notes", "manager note"),
    "self_review": ("self-review", "self review", "self-reviews"),
    "okr_update": ("OKR updates", "OKRs", "okr updates"),
    "one_on_one": ("one-on-one notes", "1:1 notes", "one-on-ones"),
    "recognition": ("recognition posts", "recognition", "shout-outs and recognition"),
}
MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def split_of(key: str) -> str:
    """`train` or `eval` for a name, template id or sentence, stable across runs and machines."""
    digest = hashlib.sha256(key.casefold().encode("utf-8")).digest()
    return "eval" if digest[0] < 256 * EVAL_SHARE else "train"


@dataclass
class Example:
    """One instruction example: a chat of system kind, user message and the answer to learn."""

    id: str
    split: str
    task: str  # route | phrase
    system: str  # agent | phrase
    prompt: str
    answer: str
    source: str  # synthetic template id, routing case id, or judge_train
    expect: dict[str, Any] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)

    def messages(self) -> list[dict[str, str]]:
        return [
            {"role": "user", "content": self.prompt},
            {"role": "assistant", "content": self.answer},
        ]

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "messages": self.messages()}

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> Example:
        return cls(**{k: v for k, v in row.items() if k != "messages"})


def tool_call_text(name: str, args: dict[str, Any]) -> str:
    """A call as the model writes it (the separators the constrained decoder uses too)."""
    payload = json.dumps({"name": name, "arguments": args}, ensure_ascii=False)
    return f"<tool_call>{payload}</tool_call>"


def clarify_text(candidates: Sequence[Person]) -> str:
    return CLARIFY_ANSWER.format(
        listed=" or ".join(f"{p.name} ({p.employee_id})" for p in candidates)
    )


# --- resources -----------------------------------------------------------------------------------


def _data(name: str) -> str:
    return (resources.files("perfagent.data") / "finetune" / name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Template:
    id: str
    task: str
    text: str

    @property
    def split(self) -> str:
        return split_of(self.id)


def load_templates() -> list[Template]:
    rows = [json.loads(line) for line in _data("templates.jsonl").splitlines() if line.strip()]
    return [Template(r["id"], r["task"], r["text"]) for r in rows]


def load_names() -> dict[str, list[str]]:
    names = json.loads(_data("names.json"))
    return {"first": list(names["first"]), "last": list(names["last"])}


def load_topics() -> list[dict[str, Any]]:
    return list(json.loads(_data("topics.json"))["topics"])


# --- synthetic organisations ---------------------------------------------------------------------


def synthetic_org(rng: random.Random, firsts: Sequence[str], lasts: Sequence[str]) -> OrgChart:
    """A random organisation: an HR partner, a director, 2-4 managers (one maybe with a lead
    under them) and their engineers; sometimes two people share a first name."""
    size = rng.randint(14, 30)
    ids = [f"E{n}" for n in rng.sample(range(100, 1000), size)]
    used: set[str] = set()
    names: list[str] = []
    while len(names) < size:
        first = rng.choice(firsts)
        name = f"{first} {rng.choice(lasts)}"
        if name in used or (first in {n.split()[0] for n in names} and rng.random() > 0.3):
            continue
        used.add(name)
        names.append(name)
    rows: list[dict[str, str]] = []

    def add(index: int, role: str, manager: str, title: str, team: str) -> str:
        rows.append(
            {
                "employee_id": ids[index],
                "name": names[index],
                "role": role,
                "manager_id": manager,
                "title": title,
                "team": team,
                "email": "",
                "slack_user_id": "",
            }
        )
        return ids[index]

    add(0, "hr", "", "HR Business Partner", "People")
    director = add(1, "manager", "", "Director", "Engineering")
    teams = rng.sample(["Payments", "Platform", "Mobile", "Data", "Search", "Growth", "Infra"], 4)
    managers = [
        add(2 + i, "manager", director, "Engineering Manager", teams[i])
        for i in range(rng.randint(2, 4))
    ]
    leaders = list(managers)
    index = 2 + len(managers)
    if rng.random() < 0.6:
        lead_team = rng.randrange(len(managers))
        leaders.append(add(index, "manager", managers[lead_team], "Tech Lead", teams[lead_team]))
        index += 1
    for i in range(index, size):
        boss = rng.choice(leaders)
        team = next(r["team"] for r in rows if r["employee_id"] == boss)
        add(i, "employee", boss, "Software Engineer", team)
    return OrgChart.from_rows(rows, source="synthetic org")


# --- filling templates ---------------------------------------------------------------------------


def period_phrase(rng: random.Random, today: date) -> str:
    """A period said the way people say it; `find_period` reads them all."""
    year = today.year
    quarter = (today.month - 1) // 3 + 1
    month = rng.choice(MONTH_NAMES[: today.month]) if today.month > 1 else "January"
    m1, m2 = sorted(rng.sample(range(12), 2))
    q = rng.randint(1, quarter)
    forms = [
        "last quarter",
        "this quarter",
        "over the last quarter",
        f"in Q{q}",
        f"for Q{q}",
        f"in Q{rng.randint(1, 4)} {year - 1}",
        f"for {year}-Q{q}",
        "in the first half",
        "for H1",
        f"for H{rng.randint(1, 2)} {year - 1}",
        "last month",
        "this month",
        f"in {month}",
        f"for {month}",
        f"since {month}",
        f"since the start of {month}",
        f"since {rng.randint(1, 28)} {month}",
        f"between {MONTH_NAMES[m1]} and {MONTH_NAMES[m2]}",
        f"from {MONTH_NAMES[m1]} to {MONTH_NAMES[m2]}",
        f"over the last {rng.choice(['three', 'six', 'two', '4', '9'])} months",
        f"in the past {rng.choice(['six', 'four', 'eight', '3', '10'])} weeks",
        "this year",
        "last year",
        "year to date",
        f"in {year - 1}",
    ]
    if today.month >= 7:
        forms += ["for the second half", "in H2"]
    return rng.choice(forms)


def dims_phrase(rng: random.Random) -> list[str]:
    return rng.sample(list(DEFAULT_DIMENSIONS), rng.choice([1, 1, 1, 2, 2, 3]))


def join_words(words: Sequence[str]) -> str:
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " and " + words[-1]


def name_variant(rng: random.Random, person: Person, *, shared_first: bool) -> str:
    """How a user might write `person`: full, first, last, nickname, id, lower case, a typo."""
    first, *rest = person.name.split()
    last = rest[-1] if rest else first
    nicknames = [n for n, givens in NICKNAMES.items() if first.casefold() in givens]
    choices: list[tuple[float, str]] = [
        (0.3, person.name),
        (0.0 if shared_first else 0.3, first),
        (0.08, last),
        (0.08, person.employee_id),
        (0.08, person.name.lower()),
        (0.0 if shared_first else 0.08, first.lower()),
    ]
    if nicknames and not shared_first:
        choices.append((0.12, rng.choice(nicknames).capitalize()))
    if len(first) >= 5 and not shared_first:
        i = rng.randrange(1, len(first) - 1)
        typo = first[:i] + first[i + 1] + first[i] + first[i + 2 :]
        choices.append((0.08, typo))
    total = sum(w for w, _ in choices)
    pick = rng.random() * total
    for weight, text in choices:
        pick -= weight
        if pick <= 0:
            return text
    return person.name


def fill(
    template: Template,
    rng: random.Random,
    *,
    name: str,
    today: date,
    topics: Sequence[dict[str, Any]],
) -> tuple[str, dict[str, Any]]:
    """The question and what was put into it."""
    slots: dict[str, Any] = {}
    text = template.text
    if "{period}" in text:
        slots["period_phrase"] = period_phrase(rng, today)
        text = text.replace("{period}", slots["period_phrase"])
    if "{dims}" in text:
        slots["dimensions"] = dims_phrase(rng)
        text = text.replace("{dims}", join_words(slots["dimensions"]))
    if "{doc}" in text:
        doc_type = rng.choice(sorted(DOC_TYPE_PHRASES))
        slots["doc_types"] = [doc_type]
        text = text.replace("{doc}", rng.choice(DOC_TYPE_PHRASES[doc_type]))
    if "{topic}" in text:
        topic = rng.choice(topics)
        slots["query"] = re.sub(r"^(the|a|an)\s+", "", topic["phrase"], flags=re.IGNORECASE)
        slots["query_terms"] = list(topic["terms"])
        text = text.replace("{topic}", topic["phrase"])
    text = text.replace("{name}", name)
    return " ".join(text.split()), slots


# --- route examples ------------------------------------------------------------------------------

# task -> the tool, and the relations a template is filled with (weights)
_TASKS: dict[str, tuple[str, dict[str, float]]] = {
    "score_other": (
        "score_dimensions",
        {"team": 0.4, "visible": 0.15, "outside": 0.3, "ambiguous": 0.15},
    ),
    "retrieve_other": (
        "retrieve_documents",
        {"team": 0.4, "visible": 0.15, "outside": 0.3, "ambiguous": 0.15},
    ),
    "draft_other": (
        "draft_feedback",
        {"team": 0.45, "visible": 0.1, "outside": 0.35, "ambiguous": 0.1},
    ),
    "draft_manager": ("draft_feedback", {"team": 0.5, "outside": 0.5}),
    "draft_peer": ("draft_feedback", {"outside": 0.8, "visible": 0.1, "ambiguous": 0.1}),
    "score_self": ("score_dimensions", {"self": 1.0}),
    "retrieve_self": ("retrieve_documents", {"self": 1.0}),
    "draft_self": ("draft_feedback", {"self": 1.0}),
}


# how often each task is drawn: the "other" questions are most of what users ask
_TASK_WEIGHTS = {
    "score_other": 2.0,
    "retrieve_other": 2.0,
    "draft_other": 1.4,
    # a manager review of someone out of reach is refused: 13 such examples were too few
    "draft_manager": 0.8,
    # peer drafts about someone out of reach: the one request such a line allows (few, the
    # model learnt to refuse every out-of-reach name)
    "draft_peer": 0.9,
    "score_self": 0.6,
    "retrieve_self": 0.6,
    "draft_self": 0.5,
}


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    pick = rng.random() * sum(weights.values())
    for key, weight in weights.items():
        pick -= weight
        if pick <= 0:
            return key
    return next(iter(weights))


def _cast(
    rng: random.Random, org: OrgChart, relation: str
) -> tuple[Viewer, Person, list[Person]] | None:
    """A viewer and a person standing in `relation` to them (and, for an ambiguous name, the
    people sharing it), or None when this org has no such pair."""
    policy = AccessPolicy(org)
    people = list(org)
    managers = [p for p in people if p.role == "manager" and org.subtree(p.employee_id)]
    hr = [p for p in people if p.role == "hr"]
    if relation == "self":
        me = rng.choice(people)
        return policy.viewer(me.employee_id), me, []
    if relation == "team":
        boss = rng.choice(managers)
        below = sorted(org.subtree(boss.employee_id))
        return policy.viewer(boss.employee_id), org.get(rng.choice(below)), []
    if relation == "visible":
        me = rng.choice(hr)
        return policy.viewer(me.employee_id), rng.choice([p for p in people if p != me]), []
    if relation == "outside":
        me = rng.choice([p for p in people if p.role != "hr"])
        viewer = policy.viewer(me.employee_id)
        outside = [
            p
            for p in people
            if p.employee_id != me.employee_id and not viewer.may_see_subject(p.employee_id)
        ]
        return (viewer, rng.choice(outside), []) if outside else None
    # ambiguous: two people the viewer may see share a first name
    by_first: dict[str, list[Person]] = {}
    for p in people:
        by_first.setdefault(p.first_name.casefold(), []).append(p)
    for group in rng.sample(list(by_first.values()), len(by_first)):
        if len(group) < 2:
            continue
        for me in rng.sample(people, len(people)):
            viewer = policy.viewer(me.employee_id)
            seen = [p for p in group if viewer.may_see_subject(p.employee_id) and p != me]
            if len(seen) >= 2:
                return viewer, seen[0], seen
    return None


def _label(
    task: str,
    tool: str,
    named: NamedPerson,
    slots: dict[str, Any],
    hints: TurnHints,
) -> tuple[str, dict[str, Any]] | None:
    """(the answer, the expectation) for a question whose name resolved to `named`, or None
    where the agent's code reads the question otherwise (then it is not a clean example)."""
    if named.relation == "ambiguous":
        return clarify_text(named.candidates), {
            "kind": "clarify",
            "candidates": [p.employee_id for p in named.candidates],
        }
    if named.person is None:
        return None
    if hints.tools and tool not in hints.tools:
        return None  # the facts' "Asks for" line would name another tool
    person_id = named.person.employee_id
    if task == "draft_manager" and named.relation == "outside" and not hints.manager_review:
        # "write Ana's review" by someone outside her tree: the agent drafts peer feedback,
        # this template meant a manager's review; neither label is clean
        return None
    reads_documents = tool != "draft_feedback" or task == "draft_manager"
    if named.relation == "outside" and reads_documents:
        return REFUSAL_ANSWER, {"kind": "refuse", "about": person_id}
    if tool == "retrieve_documents" and not query_covers(hints.query, slots["query_terms"]):
        return None  # the search words the facts state would miss the topic
    args = _call_args(
        tool,
        person_id,
        kind={"self": "self", "team": "manager"}.get(named.relation, "peer"),
        period=hints.period,
        doc_types=slots.get("doc_types"),
        dimensions=slots.get("dimensions"),
        query=hints.query,
    )
    expect = {"kind": "tool", "tool": tool, "args": dict(args)}
    if tool == "retrieve_documents":
        expect["args"]["query_terms"] = slots["query_terms"]
        del expect["args"]["query"]
    return tool_call_text(tool, args), expect


def _call_args(
    tool: str,
    employee: str,
    *,
    kind: str | None,
    period: str | None,
    doc_types: Sequence[str] | None,
    dimensions: Sequence[str] | None,
    query: str | None,
) -> dict[str, Any]:
    """A labelled call's arguments, only those `tool` takes, in the order of the facts lines they
    copy (person, period, dimensions or document types, search words last): a search's document
    types came out left behind when they followed the query."""
    args: dict[str, Any] = {"employee": employee}
    if tool == "draft_feedback":
        args["kind"] = kind
    if period:
        args["period"] = period
    if tool == "retrieve_documents" and doc_types:
        args["doc_types"] = list(doc_types)
    if tool != "retrieve_documents" and dimensions:
        args["dimensions"] = list(dimensions)
    if tool == "retrieve_documents":
        args["query"] = query
    return args


def route_examples(
    split: str, count: int, seed: int, templates: Sequence[Template]
) -> Iterator[Example]:
    """`count` synthetic routing examples of `split`: its people, its templates."""
    rng = random.Random(f"{seed}:{split}")
    names = load_names()
    firsts = [n for n in names["first"] if split_of(n) == split]
    lasts = [n for n in names["last"] if split_of(n) == split]
    topics = load_topics()
    mine = [t for t in templates if t.split == split and t.task in _TASKS]
    by_task: dict[str, list[Template]] = {}
    for t in mine:
        by_task.setdefault(t.task, []).append(t)
    made = 0
    org = synthetic_org(rng, firsts, lasts)
    tries = 0
    while made < count:
        tries += 1
        if tries > count * 20:
            raise RuntimeError(f"could not make {count} {split} examples")
        if tries % 6 == 0:
            org = synthetic_org(rng, firsts, lasts)
        task = _weighted(rng, {t: w for t, w in _TASK_WEIGHTS.items() if t in by_task})
        tool, relations = _TASKS[task]
        relation = _weighted(rng, relations)
        cast = _cast(rng, org, relation)
        if cast is None:
            continue
        viewer, person, sharing = cast
        template = rng.choice(by_task[task])
        today = date(2025, 3, 1) + timedelta(days=rng.randrange(850))
        name = (
            person.first_name
            if relation == "ambiguous"
            else name_variant(rng, person, shared_first=_shares_first(org, person))
        )
        question, slots = fill(template, rng, name=name, today=today, topics=topics)
        if rng.random() < 0.04:
            question = question.lower()
        hints = read_hints(question, org=org, today=today, dimension_names=DEFAULT_DIMENSIONS)
        if "period_phrase" in slots and hints.period is None:
            continue  # a period the code would not read: do not teach it
        if "period_phrase" not in slots and hints.period is not None:
            continue  # a date-like word read as a period: ambiguous, skip
        if len(hints.people) != 1:
            continue
        # the facts line must name the dimensions (scores, drafts) or document types (searches)
        # the label has; the ones the tool does not take may stand there unused ("draft peer
        # feedback for Ana" names peer_feedback, and is still a draft)
        if tool == "retrieve_documents":
            if set(hints.doc_types) != set(slots.get("doc_types") or ()):
                continue
        elif set(hints.dimensions) != set(slots.get("dimensions") or ()):
            continue
        # the label lists them as the facts line does, so the model copies them in order
        slots["dimensions"], slots["doc_types"] = list(hints.dimensions), list(hints.doc_types)
        named = relation_of(org, viewer, hints.people[0])
        intended = {p.employee_id for p in sharing} if sharing else {person.employee_id}
        got = (
            {p.employee_id for p in named.candidates}
            if named.relation == "ambiguous"
            else ({named.person.employee_id} if named.person else set())
        )
        if got != intended:
            continue  # the code reads the name as someone else: not a clean example
        labelled = _label(task, tool, named, slots, hints)
        if labelled is None:
            continue
        answer, expect = labelled
        prompt = describe_turn(question, org=org, viewer=viewer, today=today, hints=hints)
        made += 1
        yield Example(
            id=f"{split}-route-{made:05d}",
            split=split,
            task="route",
            system=ROUTE_SYSTEM,
            prompt=prompt,
            answer=answer,
            source=template.id,
            expect=expect,
            names=sorted({p.name for p in org}),
        )


def _shares_first(org: OrgChart, person: Person) -> bool:
    first = person.first_name.casefold()
    return sum(p.first_name.casefold() == first for p in org) > 1


def _case_turn(case: RoutingCase, org: OrgChart) -> tuple[str, TurnHints]:
    """The case's prompt (facts above the question) and the hints the facts were read from."""
    viewer = AccessPolicy(org).viewer(case.viewer)
    question = " ".join(case.question.split())
    hints = read_hints(question, org=org, today=case.today, dimension_names=DEFAULT_DIMENSIONS)
    prompt = describe_turn(question, org=org, viewer=viewer, today=case.today, hints=hints)
    return prompt, hints


def case_prompt(case: RoutingCase, org: OrgChart) -> str:
    """A routing-set case's question as the agent would put it to the model, facts above it."""
    return _case_turn(case, org)[0]


def routing_case_example(case: RoutingCase, org: OrgChart) -> Example:
    """A routing-set case as a training example, labelled from its expectation (a search's
    query: the facts' search words where they hold the expected terms, else those terms)."""
    prompt, hints = _case_turn(case, org)
    stated = search_words(hints)
    exp = case.expect
    if exp.kind == "refuse":
        answer = REFUSAL_ANSWER
    elif exp.kind == "clarify":
        answer = clarify_text([org.get(c) for c in exp.candidates])
    else:
        call = exp.call
        terms = list(call.query_terms or ())
        args = _call_args(
            call.tool,
            call.employee,
            kind=call.kind,
            period=call.period,
            doc_types=call.doc_types,
            dimensions=call.dimensions,
            query=stated if stated and query_covers(stated, terms) else " ".join(terms) or "work",
        )
        answer = tool_call_text(call.tool, args)
    return Example(
        id=f"routing-{case.id}",
        split="train",
        task="route",
        system=ROUTE_SYSTEM,
        prompt=prompt,
        answer=answer,
        source=case.id,
        names=sorted({p.name for p in org}),
    )


# --- phrase examples -----------------------------------------------------------------------------

_FIRST_PERSON = [
    (r"\bI am\b", "{n} is"),
    (r"\bI'm\b", "{n} is"),
    (r"\bI was\b", "{n} was"),
    (r"\bI have\b", "{n} has"),
    (r"\bI've\b", "{n} has"),
    (r"\bI'd\b", "{n} had"),
    (r"\bI'll\b", "{n} will"),
    (r"\bI\b", "{n}"),
    (r"\bmyself\b", "themselves"),
    (r"\bmy\b", "their"),
    (r"\bMy\b", "Their"),
    (r"\bme\b", "them"),
]


def third_person(sentence: str, first_name: str) -> str | None:
    """A first-person sentence ("I ran the syncs") about `first_name` ("Ana ran the syncs");
    None when the sentence does not start with "I" (other shapes do not turn round cleanly)."""
    text = sentence.strip()
    if not re.match(r"I\b|I'", text) or re.search(r"\b(we|our|us)\b", text, re.IGNORECASE):
        return None
    for pattern, repl in _FIRST_PERSON:
        text = re.sub(pattern, repl.format(n=first_name), text)
    if re.search(r"\b(I|me|my)\b", text):
        return None
    return text.rstrip(" .") + " [1]."


_DOC_WORDS = {
    "weekly_report": "weekly report",
    "project_summary": "project summary",
    "peer_feedback": "peer feedback",
    "manager_note": "manager note",
    "self_review": "self-review",
    "okr_update": "OKR update",
    "one_on_one": "one-on-one notes",
    "recognition": "recognition post",
}


def phrase_prompt(name: str, dimension: str, doc_type: str, day: date, quote: str) -> str:
    return (
        f"Person: {name}\nDimension: {dimension}\n"
        f'Evidence [1] ({_DOC_WORDS.get(doc_type, doc_type)}, {day.isoformat()}): "{quote}"'
    )


def evidence_sentences() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    folder = resources.files("perfagent.data") / "judge_train"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".jsonl"):
            rows += [json.loads(line) for line in entry.read_text("utf-8").splitlines() if line]
    return rows


def phrase_examples(split: str, count: int, seed: int) -> Iterator[Example]:
    rng = random.Random(f"{seed}:{split}:phrase")
    names = load_names()
    firsts = [n for n in names["first"] if split_of(n) == split]
    lasts = [n for n in names["last"] if split_of(n) == split]
    usable = [
        r
        for r in evidence_sentences()
        if split_of(r["text"]) == split and r.get("labels") and third_person(r["text"], "X")
    ]
    rng.shuffle(usable)
    for i, row in enumerate(usable[:count], 1):
        first = rng.choice(firsts)
        name = f"{first} {rng.choice(lasts)}"
        dimension = next(iter(row["labels"]))
        day = date(2025, 3, 1) + timedelta(days=rng.randrange(850))
        answer = third_person(row["text"], first)
        assert answer is not None
        yield Example(
            id=f"{split}-phrase-{i:05d}",
            split=split,
            task="phrase",
            system=PHRASE_SYSTEM,
            prompt=phrase_prompt(name, dimension, row.get("doc_type", ""), day, row["text"]),
            answer=answer,
            source="judge_train",
            expect={"quote": row["text"], "date": day.isoformat(), "doc_type": row["doc_type"]},
            names=[name],
        )


# --- the whole dataset ---------------------------------------------------------------------------


@dataclass
class BuildConfig:
    seed: int = 0
    route_train: int = 1500
    route_eval: int = 300
    phrase_train: int = 300
    phrase_eval: int = 80
    routing_train_repeats: int = 2


def demo_org() -> OrgChart:
    """The bundled demo organisation (the routing set's people)."""
    text = (resources.files("perfagent.data") / "demo" / "org.csv").read_text("utf-8")
    return OrgChart.from_csv_text(text, source="demo org")


def build_examples(config: BuildConfig | None = None) -> list[Example]:
    config = config or BuildConfig()
    templates = load_templates()
    examples = list(route_examples("train", config.route_train, config.seed, templates))
    examples += list(phrase_examples("train", config.phrase_train, config.seed))
    demo = demo_org()
    routing = [c for c in load_routing_set(split="train")]
    for repeat in range(config.routing_train_repeats):
        for case in routing:
            example = routing_case_example(case, demo)
            example.id += f"-{repeat}" if repeat else ""
            examples.append(example)
    examples += list(route_examples("eval", config.route_eval, config.seed, templates))
    examples += list(phrase_examples("eval", config.phrase_eval, config.seed))
    return examples


def write_dataset(examples: Sequence[Example], out_dir: Path) -> dict[str, Any]:
    """`train.jsonl` and `eval.jsonl` in `out_dir` (written whole, then renamed), and the
    counts as `stats.json`; returns the counts."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stats: dict[str, Any] = {}
    for split in ("train", "eval"):
        rows = [e for e in examples if e.split == split]
        target = out_dir / f"{split}.jsonl"
        tmp = target.with_suffix(".jsonl.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for example in rows:
                fh.write(json.dumps(example.to_json(), ensure_ascii=False) + "\n")
        tmp.replace(target)
        kinds = Counter(
            e.expect.get("kind", "tool") + (":" + e.expect.get("tool", "") if e.expect else "")
            if e.task == "route"
            else "phrase"
            for e in rows
        )
        stats[split] = {"examples": len(rows), "by_kind": dict(sorted(kinds.items()))}
    (out_dir / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    return stats


def read_examples(path: Path) -> list[Example]:
    rows = path.read_text(encoding="utf-8").splitlines()
    return [Example.from_json(json.loads(line)) for line in rows if line.strip()]
