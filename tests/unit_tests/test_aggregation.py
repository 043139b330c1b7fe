"""Scoring arithmetic: abstention, attribution, recency balance, evidence chain, determinism."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from perfagent.tools.aggregation import AggregationPolicy, JudgedEvidence, Source, aggregate


def ev(
    n: int,
    polarity: float,
    *,
    source: Source = "peer",
    day: date = date(2026, 5, 4),
    doc: str | None = None,
    relevance: float = 1.0,
) -> JudgedEvidence:
    return JudgedEvidence(
        doc_id=doc or f"doc-{n}",
        chunk_id=f"doc-{n}::0",
        quote=f"quote {n}",
        date=day,
        doc_type="peer_feedback",
        source=source,
        polarity=polarity,
        relevance=relevance,
    )


def spread(polarity: float, count: int, *, source: Source = "peer", start: int = 0) -> list:
    return [
        ev(start + i, polarity, source=source, day=date(2026, 4, 6) + timedelta(weeks=i))
        for i in range(count)
    ]


def test_too_little_evidence_abstains() -> None:
    assert aggregate("delivery", spread(1.0, 2)).confidence == "insufficient"
    one_doc = [ev(i, 1.0, doc="same-doc") for i in range(5)]
    result = aggregate("delivery", one_doc)
    assert result.score is None and result.confidence == "insufficient"
    assert len(result.evidence) == 5  # the quotes are still shown


def test_effects_add_up_to_the_score() -> None:
    items = spread(0.8, 4) + spread(-0.5, 3, start=10)
    result = aggregate("quality", items)
    assert result.score is not None
    assert sum(e.effect for e in result.evidence) == pytest.approx(result.score - 3, abs=0.01)
    assert all(e.effect > 0 for e in result.evidence if e.evidence.polarity > 0)
    assert result.evidence[0].effect == max(result.evidence, key=lambda e: abs(e.effect)).effect


def test_scores_stay_on_the_scale_and_shrink_thin_evidence() -> None:
    strong = aggregate("growth", spread(1.0, 20)).score
    thin = aggregate("growth", spread(1.0, 3)).score
    assert strong is not None and thin is not None
    assert 3 < thin < strong <= 5
    assert aggregate("growth", spread(-1.0, 20)).score == pytest.approx(1 + 4 * 2 / 22, abs=0.3)


def test_self_claims_weigh_less_than_what_others_observed() -> None:
    rosy_self = spread(1.0, 4, source="self")
    peers = spread(-1.0, 4, source="peer", start=20)
    result = aggregate("collaboration", rosy_self + peers)
    assert result.score is not None and result.score < 3
    self_effect = sum(e.effect for e in result.evidence if e.evidence.source == "self")
    peer_effect = sum(e.effect for e in result.evidence if e.evidence.source == "peer")
    assert abs(peer_effect) == pytest.approx(2 * self_effect, rel=1e-3)


def test_one_week_cannot_outweigh_months() -> None:
    bad_week = [ev(i, -1.0, day=date(2026, 6, 10)) for i in range(12)]
    good_months = spread(1.0, 6, start=100)
    result = aggregate("delivery", bad_week + good_months)
    assert result.score is not None and result.score > 3
    total = sum(e.weight for e in result.evidence)
    week = sum(e.weight for e in result.evidence if e.evidence.date == date(2026, 6, 10))
    assert week / total == pytest.approx(0.25, abs=0.01)
    uncapped = aggregate("delivery", bad_week + good_months, AggregationPolicy(week_cap=1.0))
    assert uncapped.score is not None and uncapped.score < 3


def test_same_inputs_same_output_in_any_order() -> None:
    items = spread(0.7, 5) + spread(-0.4, 4, start=50, source="manager")
    shuffled = items[:]
    random.Random(3).shuffle(shuffled)
    assert aggregate("ownership", items) == aggregate("ownership", shuffled)


def test_confidence_grows_with_evidence() -> None:
    policy = AggregationPolicy(medium_weight=4, high_weight=7)
    levels = [aggregate("communication", spread(0.5, n), policy).confidence for n in (3, 5, 8)]
    assert levels == ["low", "medium", "high"]
