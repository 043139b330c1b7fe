"""Periods named in a question, resolved against today's date (what the agent's tools receive)."""

from __future__ import annotations

from datetime import date

import pytest

from perfagent.agent.routing_set import load_routing_set
from perfagent.periods import find_period

OCT = date(2026, 10, 5)
JAN = date(2026, 1, 15)


@pytest.mark.parametrize(
    ("text", "today", "label"),
    [
        ("How did Dana do last quarter?", OCT, "2026-Q3"),
        ("How did Dana do last quarter?", JAN, "2025-Q4"),  # across the year boundary
        ("scores for this quarter", OCT, "2026-Q4"),
        ("Q2 please", OCT, "2026-Q2"),
        ("Q4", JAN, "2025-Q4"),  # a quarter not yet begun this year means last year's
        ("the third quarter of 2025", OCT, "2025-Q3"),
        ("first half of the year", OCT, "2026-H1"),
        ("H2", OCT, "2026-H2"),
        ("H2", date(2026, 3, 1), "2025-H2"),
        ("last month", OCT, "2026-09"),
        ("last month", JAN, "2025-12"),
        ("what about in December?", date(2026, 3, 1), "2025-12"),
        ("in August", OCT, "2026-08"),
        ("this year", OCT, "2026"),
        ("last year", OCT, "2025"),
        ("since June", OCT, "2026-06-01..2026-10-05"),
        ("since November", date(2026, 2, 10), "2025-11-01..2026-02-10"),
        ("between May and July", OCT, "2026-05-01..2026-07-31"),
        ("from November to February", date(2026, 3, 1), "2025-11-01..2026-02-28"),
        ("over the last six months", OCT, "2026-04-05..2026-10-05"),
        ("past 3 months", date(2026, 5, 31), "2026-02-28..2026-05-31"),  # clamped month end
        ("for 2026-05-01..2026-09-30", OCT, "2026-05-01..2026-09-30"),
        ("2026-Q1", OCT, "2026-Q1"),
        ("2026-07", OCT, "2026-07"),
        # forms added after the fresh routing set showed them missing
        ("July to September", OCT, "2026-07-01..2026-09-30"),
        ("covering April through June", OCT, "2026-04-01..2026-06-30"),
        ("Q2 and Q3 combined", OCT, "2026-04-01..2026-09-30"),
        ("Q3 through Q4", date(2026, 1, 10), "2025-07-01..2025-12-31"),
        ("since 1 August", OCT, "2026-08-01..2026-10-05"),
        ("since the 3rd of March", OCT, "2026-03-03..2026-10-05"),
        ("since the start of July", OCT, "2026-07-01..2026-10-05"),
        ("the quarter before last", OCT, "2026-Q2"),
        ("the quarter before last", date(2026, 2, 1), "2025-Q3"),
        ("the past six weeks", OCT, "2026-08-24..2026-10-05"),
        ("YTD", OCT, "2026"),
        ("year-to-date", OCT, "2026"),
        ("just covering september", OCT, "2026-09"),
        # a half with its year, with or without "of" (was read as this year's half)
        ("for H2 2025? a rough rating", date(2026, 12, 26), "2025-H2"),
        ("the second half of 2024", OCT, "2024-H2"),
        ("Q3 2025", OCT, "2025-Q3"),
    ],
)
def test_named_periods(text: str, today: date, label: str) -> None:
    found = find_period(text, today)
    assert found is not None and found.label == label


@pytest.mark.parametrize(
    "text",
    ["How is Sofia doing?", "Draft my self-review", "May I see Liam's notes?", "Score E015"],
)
def test_no_period_named(text: str) -> None:
    assert find_period(text, OCT) is None


def test_every_routing_question_resolves_to_its_expected_period() -> None:
    cases = [c for c in load_routing_set() if c.expect.kind == "tool"]
    assert len(cases) >= 150
    wrong = []
    for case in cases:
        assert case.expect.call is not None
        found = find_period(case.question, case.today)
        if (found.label if found else None) != case.expect.call.period:
            wrong.append((case.id, case.question, case.expect.call.period, found))
    assert not wrong, wrong
