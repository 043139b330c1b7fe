"""`score_dimensions`: per-dimension scores for one person and period, each with its evidence chain.

Flow: the viewer's permission filter selects the person's chunks in the period (inside Chroma, as
for search) -> sentences with verbatim quotes -> masked copies -> the judge -> per-dimension
aggregation (attribution, recency balance, shrinkage, abstention). Scores are advisory: they
summarise evidence for a person who decides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from perfagent.org import OrgChart
from perfagent.periods import Period
from perfagent.retrieval.access import AccessPolicy, Viewer
from perfagent.store.chroma_store import ChunkStore
from perfagent.tools.aggregation import (
    AggregationPolicy,
    DimensionScore,
    JudgedEvidence,
    aggregate,
)
from perfagent.tools.evidence import EvidenceSentence, split_sentences
from perfagent.tools.judge import RELEVANCE_THRESHOLD, EvidenceJudge, Verdicts
from perfagent.tools.rubric import Rubric

ADVISORY_NOTE = (
    "Advisory: an evidence summary to inform a person's judgement, not a rating or a decision."
)


@dataclass(frozen=True)
class ScoreReport:
    employee_id: str
    name: str
    period: Period
    dimensions: tuple[DimensionScore, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "employee_id": self.employee_id,
            "name": self.name,
            "period": self.period.label,
            "advisory": ADVISORY_NOTE,
            "dimensions": [
                {
                    "name": d.name,
                    "score": d.score,
                    "confidence": d.confidence,
                    "evidence": [
                        {
                            "doc_id": w.evidence.doc_id,
                            "chunk_id": w.evidence.chunk_id,
                            "quote": w.evidence.quote,
                            "date": w.evidence.date.isoformat(),
                            "doc_type": w.evidence.doc_type,
                            "effect": w.effect,
                            "source": w.evidence.source,
                            "weight": w.weight,
                        }
                        for w in d.evidence
                    ],
                }
                for d in self.dimensions
            ],
        }

    def to_text(self, *, quotes_per_dimension: int = 3) -> str:
        """A terminal rendering: each score with its strongest quotes."""
        lines = [f"{self.name} ({self.employee_id}), period {self.period.label}", ADVISORY_NOTE, ""]
        for d in self.dimensions:
            if d.score is None:
                n = len(d.evidence)
                lines.append(
                    f"{d.name:<14} insufficient evidence ({n} relevant quote{'' if n == 1 else 's'})"
                )
                continue
            lines.append(f"{d.name:<14} {d.score:.1f}  {d.confidence} confidence")
            for w in d.evidence[:quotes_per_dimension]:
                e = w.evidence
                quote = e.quote if len(e.quote) <= 110 else e.quote[:107] + "..."
                lines.append(f'    {w.effect:+.2f} <- {e.doc_type} {e.date}: "{quote}"')
        return "\n".join(lines)

    def dimension(self, name: str) -> DimensionScore:
        return next(d for d in self.dimensions if d.name == name)


@dataclass(frozen=True)
class JudgedSentences:
    """The evidence sentences of one person and period with the judge's verdicts on them."""

    sentences: tuple[EvidenceSentence, ...]
    verdicts: Verdicts

    def subset(self, keep: Sequence[int]) -> JudgedSentences:
        v = self.verdicts
        return JudgedSentences(
            tuple(self.sentences[i] for i in keep),
            Verdicts(
                v.dimensions,
                v.relevance[list(keep)],
                v.polarity[list(keep)],
                v.certainty[list(keep)],
            ),
        )

    def for_dimension(self, name: str) -> list[JudgedEvidence]:
        j = self.verdicts.dimensions.index(name)
        return [
            JudgedEvidence(
                doc_id=s.doc_id,
                chunk_id=s.chunk_id,
                quote=s.quote,
                date=s.date,
                doc_type=s.doc_type,
                source=s.source,
                polarity=float(self.verdicts.polarity[i, j]),
                relevance=float(self.verdicts.relevance[i, j]),
                certainty=float(self.verdicts.certainty[i, j]),
                offset=s.offset,
            )
            for i, s in enumerate(self.sentences)
            if self.verdicts.relevance[i, j] >= RELEVANCE_THRESHOLD
        ]


class ScoringService:
    def __init__(
        self,
        store: ChunkStore,
        org: OrgChart,
        judge: EvidenceJudge,
        rubric: Rubric,
        *,
        default_period: Callable[[], Period | None],
        policy: AggregationPolicy | None = None,
    ) -> None:
        self.store = store
        self.org = org
        self.judge = judge
        self.rubric = rubric
        self.access = AccessPolicy(org)
        self.default_period = default_period
        self.policy = policy or AggregationPolicy(
            scale_min=rubric.scale.min, scale_max=rubric.scale.max
        )

    def resolve_period(self, period: Period | None) -> Period:
        resolved = period or self.default_period()
        if resolved is None:  # empty store: any period would do, none holds evidence
            from perfagent.periods import parse_period

            return parse_period("1970")
        return resolved

    def judged_sentences(self, viewer: Viewer, employee_id: str, period: Period) -> JudgedSentences:
        """The person's visible sentences in the period, judged (refuses an invisible subject)."""
        self.org.get(employee_id)  # unknown id -> BadInputError
        where = self.access.where_filter(viewer, employee_id=employee_id, period=period)
        chunks = sorted(self.store.get(where=where), key=lambda c: c.chunk_id)
        sentences = split_sentences(chunks, self.org)
        verdicts = self.judge.judge([s.masked for s in sentences])
        return JudgedSentences(tuple(sentences), verdicts)

    def score(
        self,
        viewer: Viewer,
        employee_id: str,
        *,
        period: Period | None = None,
        dimensions: Sequence[str] | None = None,
    ) -> ScoreReport:
        chosen = [d.name for d in self.rubric.select(list(dimensions) if dimensions else None)]
        resolved = self.resolve_period(period)
        judged = self.judged_sentences(viewer, employee_id, resolved)
        scores = self.score_judged(judged, chosen)
        return ScoreReport(employee_id, self.org.people[employee_id].name, resolved, scores)

    def score_judged(
        self, judged: JudgedSentences, dimensions: Sequence[str]
    ) -> tuple[DimensionScore, ...]:
        return tuple(aggregate(d, judged.for_dimension(d), self.policy) for d in dimensions)
