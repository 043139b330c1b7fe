"""The final answer of a turn, composed from the tools' results, never from the model's memory.

A 135M model asked to summarise scores invents numbers and names. So the answer is written here
from the tool artifacts (the contract's JSON), and every claim in it is a quote or a figure taken
from them: scores with the quotes behind them, passages with their dates, a draft as the drafting
service verified it. Citation numbers restart at 1 in each tool's output; here they are renumbered
across the turn's calls in order of first appearance, and only citations the answer uses are
listed. Errors become a plain sentence: a permission refusal says nothing about the person's
documents (not whether any exist), an ambiguous name lists the candidates, an unknown one asks.

Model text without tool output (a small model "answering" from nowhere) has no citation to tie it
to, so `ungrounded_reply` replaces it with what perfagent can do.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from perfagent.tools.citations import CITATION_MARKER

RETRIEVAL_PASSAGES = 4
SCORE_QUOTES = 2
EXCERPT_CHARS = 220

REFUSAL = (
    "I can't help with that: you don't have access to performance information about "
    "{who}. Ask them, their manager or HR."
)
HELP = (
    "I answer questions about people's work from their documents, with the quotes behind every "
    'point. Try: "How did Dana do on collaboration last quarter?", "What did Sofia\'s peers say '
    'about her since June?" or "Draft my self-review for H1".'
)


@dataclass(frozen=True)
class ToolOutcome:
    """One tool call of the turn and what it returned."""

    name: str
    args: dict[str, Any]
    artifact: dict[str, Any]


@dataclass
class ComposedAnswer:
    """The answer text (markdown with `[n]`) and the citations it uses, numbered 1..k."""

    text: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    refused: bool = False
    clarify: bool = False
    # where the Sources section starts in `text` (its length when there is none): a UI shows
    # the body and renders the sources its own way
    body_chars: int | None = None


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """A verbatim prefix of `text`: whole sentences up to `limit` characters, else cut at a word."""
    body = text.strip()
    if len(body) <= limit:
        return body
    ends = [m.end() for m in re.finditer(r"[.!?](?=\s)", body[: limit + 1])]
    if ends and ends[-1] >= limit // 3:
        return body[: ends[-1]]
    cut = body[:limit]
    return cut[: cut.rfind(" ")] if " " in cut else cut


def _inline(quote: str) -> str:
    return " ".join(quote.split())


class _Numbering:
    """Renumbers each call's citations into one sequence for the whole answer."""

    def __init__(self) -> None:
        self.citations: list[dict[str, Any]] = []
        self._seen: dict[tuple[str, str, str], int] = {}

    def cite(self, citation: dict[str, Any], quote: str | None = None) -> int:
        quote = citation["quote"] if quote is None else quote
        key = (citation["doc_id"], citation["chunk_id"], quote)
        if key not in self._seen:
            self._seen[key] = len(self.citations) + 1
            self.citations.append({**citation, "n": self._seen[key], "quote": quote})
        return self._seen[key]

    def renumber(self, text: str, citations: Sequence[dict[str, Any]]) -> str:
        by_n = {int(c["n"]): c for c in citations}

        def swap(match: re.Match[str]) -> str:
            numbers = [int(n) for n in match.group(1).split(",")]
            new = [self.cite(by_n[n]) for n in numbers if n in by_n]
            return "".join(f"[{n}]" for n in new)

        return CITATION_MARKER.sub(swap, text)


def compose(outcomes: Sequence[ToolOutcome]) -> ComposedAnswer:
    """The turn's answer from its tool outcomes, in call order."""
    numbering = _Numbering()
    parts: list[str] = []
    refused = clarify = False
    for outcome in outcomes:
        artifact = outcome.artifact
        if "error" in artifact:
            text, is_refusal, is_question = _error_text(outcome)
            refused |= is_refusal
            clarify |= is_question
            parts.append(text)
        elif outcome.name == "score_dimensions":
            parts.append(_score_text(artifact, numbering))
        elif outcome.name == "retrieve_documents":
            parts.append(_retrieval_text(artifact, numbering))
        elif outcome.name == "draft_feedback":
            parts.append(_draft_text(artifact, numbering))
    if not parts:
        return ComposedAnswer(HELP)
    text = "\n\n".join(p for p in parts if p)
    body_chars = len(text)
    if numbering.citations:
        text += "\n\n" + sources_section(numbering.citations)
    return ComposedAnswer(
        text, numbering.citations, refused=refused, clarify=clarify, body_chars=body_chars
    )


def sources_section(citations: Sequence[dict[str, Any]]) -> str:
    lines = ["**Sources**"]
    for c in citations:
        lines.append(
            f"[{c['n']}] {c['doc_type'].replace('_', ' ')}, {c['date']}: "
            f'"{_inline(_excerpt(c["quote"], 160))}"'
        )
    return "\n".join(lines)


def ungrounded_reply() -> ComposedAnswer:
    return ComposedAnswer(HELP)


def _who_typed(outcome: ToolOutcome) -> str:
    typed = " ".join(str(outcome.args.get("employee", "")).split())
    return typed or "that person"


def _error_text(outcome: ToolOutcome) -> tuple[str, bool, bool]:
    error = outcome.artifact["error"]
    kind = error.get("kind")
    if kind == "permission":
        # only what the user typed: nothing from the person's record or documents
        return REFUSAL.format(who=f'"{_who_typed(outcome)}"'), True, False
    if kind == "ambiguous_employee":
        options = []
        for c in outcome.artifact.get("candidates", []):
            extra = ", ".join(x for x in (c.get("title"), c.get("team")) if x)
            options.append(f"{c['name']} ({c['employee_id']}{', ' + extra if extra else ''})")
        listed = "; ".join(options)
        return f'Which "{_who_typed(outcome)}" do you mean: {listed}?', False, True
    if kind == "unknown_employee":
        return (
            f'I couldn\'t find anyone called "{_who_typed(outcome)}" in the organisation. '
            "Who do you mean?",
            False,
            True,
        )
    return f"I couldn't do that: {error.get('message', 'bad request')}.", False, False


def _score_text(report: dict[str, Any], numbering: _Numbering) -> str:
    name = report.get("name") or report["employee_id"]
    lines = [f"**{name}**, {report['period']}: dimension scores from 1 to 5."]
    for dim in report["dimensions"]:
        if dim["score"] is None:
            lines.append(f"- **{dim['name']}**: insufficient evidence to score.")
            continue
        # the quotes that moved the score most, each with its signed effect
        strongest = sorted(dim["evidence"], key=lambda e: -abs(float(e["effect"])))[:SCORE_QUOTES]
        quotes = [
            f'"{_inline(e["quote"])}" [{numbering.cite(_evidence_citation(e))}] '
            f"({float(e['effect']):+.2f})"
            for e in strongest
        ]
        because = f" Evidence: {'; '.join(quotes)}" if quotes else ""
        lines.append(
            f"- **{dim['name']} {dim['score']:.1f}** ({dim['confidence']} confidence).{because}"
        )
    advisory = report.get("advisory")
    if advisory:
        lines.append(f"_{advisory}_")
    return "\n".join(lines)


def _evidence_citation(evidence: dict[str, Any]) -> dict[str, Any]:
    return {k: evidence[k] for k in ("doc_id", "chunk_id", "quote", "date", "doc_type")}


def _retrieval_text(result: dict[str, Any], numbering: _Numbering) -> str:
    name = result.get("name") or result.get("employee_id", "")
    period = result.get("period")
    span = f" in {period}" if period else ""
    hits = result.get("results", [])
    if not hits:
        return f'I found nothing about {name}{span} matching "{result.get("query", "")}".'
    lines = [f'What {name}\'s documents say{span} about "{result.get("query", "")}":']
    for hit in hits[:RETRIEVAL_PASSAGES]:
        quote = _excerpt(str(hit["text"]))
        n = numbering.cite(
            {k: hit[k] for k in ("doc_id", "chunk_id", "date", "doc_type")} | {"quote": quote}
        )
        title = f" ({hit['title']})" if hit.get("title") else ""
        lines.append(
            f'- {hit["date"]}, {hit["doc_type"].replace("_", " ")}{title}: "{_inline(quote)}" [{n}]'
        )
    return "\n".join(lines)


def _draft_text(draft: dict[str, Any], numbering: _Numbering) -> str:
    text = numbering.renumber(str(draft["text"]).strip(), draft.get("citations") or [])
    warnings = draft.get("warnings") or []
    if warnings:
        text += "\n\n**Language check**\n" + "\n".join(f"- {w}" for w in warnings)
    return text
