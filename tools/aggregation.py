"""Turn judged evidence into a dimension score with an evidence chain (pure, deterministic).

Each piece of evidence is a verbatim quote that a judge has tied to one dimension with a
polarity in [-1, 1], a relevance in (0, 1] and a certainty of direction in [0, 1]. This module
only weighs (source x relevance x certainty) and adds them up:

- attribution: what people say about themselves weighs less than what others observed;
- recency balance: no single week may carry more than `week_cap` of a dimension's weight, so
  one eventful week cannot outweigh months;
- shrinkage: a prior pulls thin evidence towards the middle of the scale;
- abstention: too few quotes or too few distinct documents give `score=None`,
  `confidence="insufficient"`, never a guess;
- the evidence chain: each quote's `effect` is its signed contribution, and the effects add up
  exactly to the score's distance from the scale's midpoint.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Confidence = Literal["high", "medium", "low", "insufficient"]
Source = Literal["self", "peer", "manager"]


class AggregationPolicy(BaseModel):
    """How evidence is weighed; every number a company might want to tune, in one place."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    self_weight: float = Field(0.5, gt=0, description="weight of self-written evidence")
    peer_weight: float = Field(1.0, gt=0)
    manager_weight: float = Field(1.0, gt=0)
    week_cap: float = Field(0.25, gt=0, le=1, description="max share of weight from one week")
    prior_strength: float = Field(2.0, ge=0, description="pseudo-weight at the midpoint")
    min_items: int = Field(3, ge=1, description="fewer quotes than this: insufficient")
    min_documents: int = Field(2, ge=1, description="fewer distinct documents: insufficient")
    high_weight: float = Field(6.0, gt=0, description="total weight for 'high' confidence")
    medium_weight: float = Field(3.0, gt=0)
    scale_min: int = 1
    scale_max: int = 5


@dataclass(frozen=True)
class JudgedEvidence:
    doc_id: str
    chunk_id: str
    quote: str
    date: date
    doc_type: str
    source: Source
    polarity: float  # -1 (against) .. 1 (for): direction times strength
    relevance: float  # 0..1: how surely the quote is about this dimension
    # 0..1: how surely the quote points one way. A plan or a neutral status line can be about a
    # dimension without saying anything good or bad; weighing it fully would drag every score
    # towards the midpoint however clear the rest of the evidence is.
    certainty: float = 1.0
    offset: int = 0  # where the quote starts in its document (ordering only)


@dataclass(frozen=True)
class WeighedEvidence:
    evidence: JudgedEvidence
    weight: float
    effect: float  # signed contribution to the score


@dataclass(frozen=True)
class DimensionScore:
    name: str
    score: float | None
    confidence: Confidence
    evidence: tuple[WeighedEvidence, ...]


def _source_weight(source: Source, policy: AggregationPolicy) -> float:
    return {
        "self": policy.self_weight,
        "peer": policy.peer_weight,
        "manager": policy.manager_weight,
    }[source]


def _cap_weeks(items: Sequence[JudgedEvidence], weights: list[float], cap: float) -> list[float]:
    """Scale down weeks holding more than `cap` of the total, keeping the others as they are."""
    weeks: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        iso = item.date.isocalendar()
        weeks[(iso.year, iso.week)].append(i)
    if len(weeks) * cap < 1:  # too few weeks for any cap to hold: leave as they are
        return weights
    capped = list(weights)
    for _ in range(len(weeks)):  # converges in a few rounds; bounded for safety
        total = sum(capped)
        over = [idx for idx in weeks.values() if sum(capped[i] for i in idx) > cap * total + 1e-12]
        if not over:
            break
        for idx in over:
            week_total = sum(capped[i] for i in idx)
            rest = total - week_total
            # Solve week' = cap * (rest + week'), i.e. the week's share becomes exactly `cap`.
            target = cap * rest / (1 - cap)
            for i in idx:
                capped[i] *= target / week_total
    return capped


def aggregate(
    name: str, items: Sequence[JudgedEvidence], policy: AggregationPolicy | None = None
) -> DimensionScore:
    """Score one dimension from its judged evidence (order-independent and deterministic)."""
    policy = policy or AggregationPolicy()
    # Document order, not chunk ids: a copy whose names differ in length chunks differently,
    # and float sums must add the same numbers in the same order to give the same score.
    ordered = sorted(items, key=lambda e: (e.date, e.doc_id, e.offset, e.quote))
    documents = {e.doc_id for e in ordered}
    if len(ordered) < policy.min_items or len(documents) < policy.min_documents:
        return DimensionScore(name, None, "insufficient", _chain(ordered, [0.0] * len(ordered), 0))
    weights = [_source_weight(e.source, policy) * e.relevance * e.certainty for e in ordered]
    weights = _cap_weeks(ordered, weights, policy.week_cap)
    denominator = sum(weights) + policy.prior_strength
    half_range = (policy.scale_max - policy.scale_min) / 2
    midpoint = policy.scale_min + half_range
    effects = [
        half_range * w * e.polarity / denominator for w, e in zip(weights, ordered, strict=True)
    ]
    score = min(policy.scale_max, max(policy.scale_min, midpoint + sum(effects)))
    total = sum(weights)
    confidence: Confidence = (
        "high"
        if total >= policy.high_weight
        else "medium"
        if total >= policy.medium_weight
        else "low"
    )
    return DimensionScore(name, round(score, 2), confidence, _chain(ordered, weights, effects))


def _chain(
    items: Sequence[JudgedEvidence], weights: Sequence[float], effects: Sequence[float] | int
) -> tuple[WeighedEvidence, ...]:
    effects_list = [0.0] * len(items) if isinstance(effects, int) else list(effects)
    chain = [
        WeighedEvidence(e, round(w, 4), round(x, 4))
        for e, w, x in zip(items, weights, effects_list, strict=True)
    ]
    # Strongest movers first: the chain reads as "why the score is what it is".
    return tuple(
        sorted(chain, key=lambda c: (-abs(c.effect), c.evidence.date, c.evidence.chunk_id))
    )
