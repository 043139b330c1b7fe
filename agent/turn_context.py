"""The facts a turn's model call reads above the question: today, who asks, whom the question
names and what the asker may see of them, and the period, dimensions and document types it names.

A 135M model cannot know today's date or the org chart, so plain code states them, in the same
words at inference (the agent) and in the fine-tuning data (`finetune/dataset.py`)::

    Today: 2026-10-05. Asking: Dana Whitfield (E003).
    "Sofia": Sofia Rossi (E008), in the asker's team.
    Period: 2026-Q3.
    Dimensions: collaboration.
    Asks for: score_dimensions.
    Question: How did Sofia do on collaboration last quarter?

("Asks for" names the tools the question's words ask for, when they say; "Search words" the
words a document search would use, when a search is among them.) The model then picks the tool
and copies the ids, period, dimensions, document types and search words it was given, or refuses
("outside the asker's access") or asks which one ("could be ..."). These lines only inform the
model: the tools still check every name against the signed-in viewer, whatever the model writes.
For someone out of reach the line says what this request may get ("a peer feedback draft is
allowed", or "refuse: ..."): the rule is the code's, not the model's to work out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from perfagent.agent.routing import TurnHints
from perfagent.errors import BadInputError, PermissionRefusal
from perfagent.org import OrgChart, Person
from perfagent.retrieval.access import Viewer
from perfagent.retrieval.people import AmbiguousPersonError, resolve_person

# What the asker is to the person named; decides a draft's kind and whether to refuse.
Relation = str  # "self" | "team" | "visible" | "outside" | "ambiguous" | "unknown"

# How many people an ambiguous name lists.
MAX_CANDIDATES = 4


@dataclass(frozen=True)
class NamedPerson:
    """One mention in the question and what it resolves to for the asker."""

    mention: str
    relation: Relation
    person: Person | None = None
    candidates: tuple[Person, ...] = ()

    def line(self, hints: TurnHints) -> str:
        """The mention's facts line; for someone out of reach, what this request may still get
        (`hints`: what the question asks for)."""
        said = f'"{self.mention}"'
        if self.relation == "ambiguous":
            listed = " or ".join(f"{p.name} ({p.employee_id})" for p in self.candidates)
            return f"{said}: could be {listed}."
        if self.relation == "unknown" or self.person is None:
            return f"{said}: no one of that name."
        who = f"{self.person.name} ({self.person.employee_id})"
        if self.relation == "outside":
            return f"{said}: {who}, {_outside_words(hints)}."
        return f"{said}: {who}, {_RELATION_WORDS[self.relation]}."


_RELATION_WORDS = {
    "self": "the asker",
    "team": "in the asker's team",
    "visible": "visible to the asker (HR)",
}


def _outside_words(hints: TurnHints) -> str:
    """What an asker may still have about someone out of reach: a peer feedback draft from their
    own documents (contract section 2), nothing else. The code knows the request and the rule,
    so the line says the outcome; a 135M model combining this line with "Asks for" by itself
    refused some plain peer drafts."""
    if not hints.tools:  # the request is not stated: say the rule
        return "outside the asker's access (only a peer feedback draft is possible)"
    if hints.tools != ("draft_feedback",):
        return "outside the asker's access (refuse: only a peer feedback draft is possible)"
    if hints.manager_review:
        return "outside the asker's access (refuse: a manager review is not possible)"
    return "outside the asker's access (a peer feedback draft is allowed)"


def relation_of(org: OrgChart, viewer: Viewer, mention: str) -> NamedPerson:
    """How `mention` resolves for `viewer`, with the tools' own name resolution."""
    try:
        person = resolve_person(org, viewer, mention)
    except AmbiguousPersonError as exc:
        people = tuple(org.get(c.employee_id) for c in exc.candidates[:MAX_CANDIDATES])
        return NamedPerson(mention, "ambiguous", candidates=people)
    except PermissionRefusal:
        try:  # the org chart is not secret: say who it is, and that it is out of reach
            person = resolve_person(org, Viewer(viewer.person, None), mention)
        except BadInputError:
            return NamedPerson(mention, "outside")
        return NamedPerson(mention, "outside", person)
    except BadInputError:
        return NamedPerson(mention, "unknown")
    if person.employee_id == viewer.employee_id:
        return NamedPerson(mention, "self", person)
    if person.employee_id in org.subtree(viewer.employee_id):
        return NamedPerson(mention, "team", person)
    return NamedPerson(mention, "visible" if viewer.is_hr else "outside", person)


def describe_turn(
    question: str,
    *,
    org: OrgChart,
    viewer: Viewer,
    today: date,
    hints: TurnHints,
) -> str:
    """The user message the model reads: the facts `hints` read from the question, then it."""
    lines = [f"Today: {today.isoformat()}. Asking: {viewer.person.name} ({viewer.employee_id})."]
    lines += [relation_of(org, viewer, mention).line(hints) for mention in hints.people]
    if hints.period:
        lines.append(f"Period: {hints.period}.")
    if hints.dimensions:
        lines.append(f"Dimensions: {', '.join(hints.dimensions)}.")
    if hints.doc_types:
        lines.append(f"Document types: {', '.join(hints.doc_types)}.")
    if hints.tools:
        # the tools the question's words ask for (the decoder is held to them in the agent):
        # stated, a small model need not guess a draft request from an out-of-reach line
        drafts_review = hints.manager_review and "draft_feedback" in hints.tools
        manager = " (a manager review)" if drafts_review else ""
        lines.append(f"Asks for: {' or '.join(hints.tools)}{manager}.")
    words = search_words(hints)
    if words:
        lines.append(f"Search words: {words}.")
    lines.append(f"Question: {question}")
    return "\n".join(lines)


def search_words(hints: TurnHints) -> str | None:
    """The words a document search would use (the agent pins `query` to them), when a search is
    among the tools the question asks for."""
    if hints.query and (not hints.tools or "retrieve_documents" in hints.tools):
        return hints.query
    return None
