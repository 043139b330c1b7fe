"""`draft_feedback`: a sectioned feedback draft in which every claim cites a verbatim quote.

The draft is extractive on purpose: each point quotes the evidence the scoring step weighed,
so it can never invent an achievement, and a reader can check every line against its source.
Three kinds:

- `manager`: a manager's review of someone in their reporting tree;
- `self`: an employee's own self-review (only for the signed-in person);
- `peer`: feedback one colleague writes about another. A peer may not read the colleague's
  documents, so the evidence is the writer's own visible documents that mention the colleague.

Per dimension: strengths (the strongest positive evidence), growth areas (the strongest
negative evidence), and, for the lowest-scoring dimensions, concrete suggestions from the
rubric's advice. Then a verifier checks every sentence against the quotes it cites, and the
bias and quality check runs over the result. A draft is never a rating.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from perfagent.errors import BadInputError
from perfagent.org import OrgChart, Person
from perfagent.periods import Period
from perfagent.retrieval.access import Viewer
from perfagent.tools.aggregation import DimensionScore, WeighedEvidence
from perfagent.tools.citations import Citation, marker_numbers
from perfagent.tools.language_check import CitedSource, LanguageRules, check_text
from perfagent.tools.scoring import ADVISORY_NOTE, JudgedSentences, ScoringService
from perfagent.tools.verifier import CitationVerifier, VerificationReport

DraftKind = Literal["manager", "self", "peer"]
DRAFT_KINDS: tuple[DraftKind, ...] = ("manager", "self", "peer")

DOC_TYPE_LABELS = {
    "weekly_report": "weekly report",
    "project_summary": "project summary",
    "peer_feedback": "peer feedback note",
    "manager_note": "manager note",
    "self_review": "self-review",
    "okr_update": "OKR update",
    "one_on_one": "one-on-one note",
    "recognition": "recognition post",
}
# Evidence whose direction the judge is less sure of than this is neither a strength nor a
# growth area (certainty 0 = no direction, 1 = certain).
MIN_CERTAINTY = 0.4


def _leaning(w: WeighedEvidence) -> float:
    """Direction times certainty: > 0 for a strength, < 0 for a growth area."""
    return (1.0 if w.evidence.polarity > 0 else -1.0) * w.evidence.certainty


@dataclass(frozen=True)
class FeedbackDraft:
    employee_id: str
    name: str
    kind: DraftKind
    period: Period
    text: str
    citations: tuple[Citation, ...]
    warnings: tuple[str, ...]
    verification: VerificationReport

    def to_json(self) -> dict[str, object]:
        return {
            "employee_id": self.employee_id,
            "name": self.name,
            "kind": self.kind,
            "period": self.period.label,
            "text": self.text,
            "citations": [c.to_json() for c in self.citations],
            "warnings": list(self.warnings),
            "advisory": ADVISORY_NOTE,
            "verified_share": round(self.verification.supported_share, 4),
        }

    def to_text(self) -> str:
        lines = [self.text, "", "Sources"]
        lines += [f"[{c.n}] {c.doc_type} {c.date} — {c.chunk_id}" for c in self.citations]
        if self.warnings:
            lines += ["", "Language check"] + [f"- {w}" for w in self.warnings]
        return "\n".join(lines)


def _day(value: date) -> str:
    return f"{value.day} {value:%b %Y}"


class _CitationBook:
    """Numbers quotes in order of first use; the same quote keeps its number."""

    def __init__(self) -> None:
        self.citations: list[Citation] = []
        self._index: dict[tuple[str, str], int] = {}

    def cite(self, e: WeighedEvidence) -> int:
        ev = e.evidence
        key = (ev.chunk_id, ev.quote)
        if key not in self._index:
            n = len(self.citations) + 1
            self.citations.append(
                Citation(n, ev.doc_id, ev.chunk_id, ev.quote, ev.date.isoformat(), ev.doc_type)
            )
            self._index[key] = n
        return self._index[key]

    def number_of(self, e: WeighedEvidence) -> int | None:
        return self._index.get((e.evidence.chunk_id, e.evidence.quote))


class DraftingService:
    def __init__(
        self,
        scoring: ScoringService,
        verifier: CitationVerifier,
        *,
        rules: LanguageRules | None = None,
        points_per_section: int = 2,
        suggestion_dimensions: int = 2,
    ) -> None:
        self.scoring = scoring
        self.verifier = verifier
        self.rules = rules
        self.points_per_section = points_per_section
        self.suggestion_dimensions = suggestion_dimensions

    @property
    def org(self) -> OrgChart:
        return self.scoring.org

    def draft(
        self,
        viewer: Viewer,
        employee_id: str,
        kind: str,
        *,
        period: Period | None = None,
        dimensions: Sequence[str] | None = None,
    ) -> FeedbackDraft:
        if kind not in DRAFT_KINDS:
            raise BadInputError(f"unknown draft kind '{kind}' (one of {', '.join(DRAFT_KINDS)})")
        subject = self.org.get(employee_id)
        chosen = [d.name for d in self.scoring.rubric.select(list(dimensions or []) or None)]
        resolved = self.scoring.resolve_period(period)
        if kind == "self" and employee_id != viewer.employee_id:
            raise BadInputError(
                "a self-review draft is only for yourself; use --kind manager or peer"
            )
        if kind in ("manager", "peer") and employee_id == viewer.employee_id:
            raise BadInputError(f"use --kind self for your own review, not --kind {kind}")
        if kind == "manager":
            # Refuses (exit 3) anyone outside the viewer's tree, revealing nothing about them.
            self.scoring.access.check_subject(viewer, employee_id)
            judged = self.scoring.judged_sentences(viewer, employee_id, resolved)
        elif kind == "self":
            judged = self.scoring.judged_sentences(viewer, employee_id, resolved)
        else:
            judged = self._peer_evidence(viewer, subject, resolved)
        scores = self.scoring.score_judged(judged, chosen)
        book = _CitationBook()
        body = self._compose(kind, subject, viewer, resolved, scores, book)
        report = self.verifier.verify(body, book.citations, repair=True)
        # Suggestions are advice from the rubric, not claims about the person, so they are added
        # after verification; each points only at evidence that survived it.
        surviving = set(marker_numbers(report.text))
        suggestions = self._suggestions(kind, scores, book, surviving)
        text = report.text
        if suggestions:
            heading = "Goals for next period" if kind == "self" else "Suggestions"
            text = "\n".join([text.rstrip("\n"), "", f"## {heading}", *suggestions])
        citations = [c for c in book.citations if c.n in surviving]
        warnings = check_text(
            text,
            citations=[CitedSource(c.n, c.doc_id, date.fromisoformat(c.date)) for c in citations],
            period=resolved,
            rules=self.rules,
        )
        return FeedbackDraft(
            employee_id=employee_id,
            name=subject.name,
            kind=kind,  # type: ignore[arg-type]
            period=resolved,
            text=text,
            citations=tuple(citations),
            warnings=tuple(str(w) for w in warnings),
            verification=report,
        )

    # ------------------------------------------------------------------ evidence for peers

    def _peer_evidence(self, viewer: Viewer, subject: Person, period: Period) -> JudgedSentences:
        """Sentences in the writer's own visible documents that name the colleague."""
        own = self.scoring.judged_sentences(viewer, viewer.employee_id, period)
        pattern = _mention_pattern(subject, self.org)
        keep = [i for i, s in enumerate(own.sentences) if pattern.search(s.quote)]
        return own.subset(keep)

    # ------------------------------------------------------------------ composition

    def _compose(
        self,
        kind: DraftKind,
        subject: Person,
        viewer: Viewer,
        period: Period,
        scores: Sequence[DimensionScore],
        book: _CitationBook,
    ) -> str:
        titles = {
            "manager": f"# Review draft: {subject.name}, {period.label}",
            "self": f"# Self-review draft: {subject.name}, {period.label}",
            "peer": f"# Peer feedback draft: {viewer.person.name} on {subject.name}, {period.label}",
        }
        lines = [
            titles[kind],
            "",
            "*Draft built only from cited documents: edit it, check each point against its "
            "source, and decide for yourself. It is not a rating.*",
        ]
        if kind == "peer" and not any(d.evidence for d in scores):
            lines += [
                "",
                f"*None of your documents in this period mention {subject.first_name}; write "
                "from your own first-hand observations.*",
            ]
            return "\n".join(lines)
        used: set[tuple[str, str]] = set()
        for dim in scores:
            lines += ["", f"## {dim.name.capitalize()}{_score_label(dim, kind)}"]
            if dim.score is None and kind != "peer":
                lines.append(
                    "*Insufficient evidence in this period: too few documents speak to this "
                    "dimension to say anything either way.*"
                )
                continue
            strengths = self._pick(dim, positive=True, used=used)
            growth = self._pick(dim, positive=False, used=used)
            heads = _section_heads(kind)
            if strengths:
                lines += ["", f"**{heads[0]}**"]
                lines += [self._point(kind, e, book) for e in strengths]
            if growth:
                lines += ["", f"**{heads[1]}**"]
                lines += [self._point(kind, e, book) for e in growth]
            if not strengths and not growth:
                lines.append(
                    "*The evidence for this dimension is neither clearly positive nor negative.*"
                )
        return "\n".join(lines)

    def _pick(
        self, dim: DimensionScore, *, positive: bool, used: set[tuple[str, str]]
    ) -> list[WeighedEvidence]:
        picked: list[WeighedEvidence] = []
        for w in dim.evidence:  # strongest effect first
            lean = _leaning(w)
            if (lean >= MIN_CERTAINTY) if positive else (lean <= -MIN_CERTAINTY):
                key = (w.evidence.chunk_id, w.evidence.quote)
                if key in used:
                    continue
                used.add(key)
                picked.append(w)
                if len(picked) == self.points_per_section:
                    break
        return picked

    def _point(self, kind: DraftKind, w: WeighedEvidence, book: _CitationBook) -> str:
        ev = w.evidence
        n = book.cite(w)
        label = DOC_TYPE_LABELS.get(ev.doc_type, ev.doc_type.replace("_", " "))
        if kind in ("self", "peer") and ev.source == "self":  # written by the draft's writer
            lead = f"My {label} of {_day(ev.date)}"
        else:
            # By sound: "an OKR update", "a one-on-one note".
            article = "An" if label[0] in "aeioAEIO" and not label.startswith("one") else "A"
            lead = f"{article} {label} of {_day(ev.date)}"
        quote = ev.quote.replace('"', "'")
        return f'- {lead}: "{quote}" [{n}]'

    def _suggestions(
        self,
        kind: DraftKind,
        scores: Sequence[DimensionScore],
        book: _CitationBook,
        surviving: set[int],
    ) -> list[str]:
        """Concrete next steps for the lowest-scoring dimensions, each tied to its evidence."""
        scored = sorted((d for d in scores if d.score is not None), key=lambda d: (d.score, d.name))
        out: list[str] = []
        for dim in scored:
            if len(out) == self.suggestion_dimensions:
                break
            advice = self.scoring.rubric.dimensions[dim.name].advice
            numbers = [
                n
                for w in dim.evidence
                if _leaning(w) <= -MIN_CERTAINTY
                and (n := book.number_of(w)) is not None
                and n in surviving
            ][:2]
            if not numbers or not advice:
                continue
            markers = "".join(f"[{n}]" for n in numbers)
            # Imperative, so it reads right in a manager's, a peer's and a self-review.
            out.append(f"- {dim.name.capitalize()} (prompted by {markers}): {advice[0]}.")
        return out


def _score_label(dim: DimensionScore, kind: DraftKind) -> str:
    if kind == "peer" or dim.score is None:
        return ""
    return f" (evidence summary {dim.score:.1f} of 5, {dim.confidence} confidence)"


def _section_heads(kind: DraftKind) -> tuple[str, str]:
    if kind == "self":
        return ("What went well", "What I want to improve")
    if kind == "peer":
        # Not "what could be better": a heading is not criticism, and the language check would
        # flag it as unactionable.
        return ("What worked well", "Growth areas")
    return ("Strengths", "Growth areas")


def _mention_pattern(person: Person, org: OrgChart) -> re.Pattern[str]:
    """A person's full name, plus first or last name where no one else in the org shares it."""
    parts = [person.name]
    for i, part in enumerate(person.name.split()):
        others = [p for p in org if p.employee_id != person.employee_id and part in p.name.split()]
        if not others and len(part) > 2 and i in (0, len(person.name.split()) - 1):
            parts.append(part)
    return re.compile(r"\b(?:" + "|".join(re.escape(p) for p in parts) + r")\b")
