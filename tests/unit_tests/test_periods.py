"""Reporting periods: the contract's forms, the errors for anything else, and the default."""

from __future__ import annotations

from datetime import date

import pytest

from perfagent.errors import BadInputError
from perfagent.periods import Period, date_to_int, default_period, parse_period


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), "2026-Q1"),
        ("2026-Q2", date(2026, 4, 1), date(2026, 6, 30), "2026-Q2"),
        ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30), "2026-Q3"),
        ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), "2026-Q4"),
        ("2026-q3", date(2026, 7, 1), date(2026, 9, 30), "2026-Q3"),
        ("2026-H1", date(2026, 1, 1), date(2026, 6, 30), "2026-H1"),
        ("2026-H2", date(2026, 7, 1), date(2026, 12, 31), "2026-H2"),
        ("2026-h1", date(2026, 1, 1), date(2026, 6, 30), "2026-H1"),
        ("2026", date(2026, 1, 1), date(2026, 12, 31), "2026"),
        ("2026-07", date(2026, 7, 1), date(2026, 7, 31), "2026-07"),
        ("2026-04", date(2026, 4, 1), date(2026, 4, 30), "2026-04"),
        ("2026-12", date(2026, 12, 1), date(2026, 12, 31), "2026-12"),
        ("2026-02", date(2026, 2, 1), date(2026, 2, 28), "2026-02"),
        ("2028-02", date(2028, 2, 1), date(2028, 2, 29), "2028-02"),
        ("2000-02", date(2000, 2, 1), date(2000, 2, 29), "2000-02"),
        ("2100-02", date(2100, 2, 1), date(2100, 2, 28), "2100-02"),
        ("  2026-Q3 ", date(2026, 7, 1), date(2026, 9, 30), "2026-Q3"),
    ],
)
def test_named_periods(text: str, start: date, end: date, label: str) -> None:
    period = parse_period(text)
    assert (period.start, period.end, period.label) == (start, end, label)
    assert str(period) == label


def test_range() -> None:
    period = parse_period("2026-05-01..2026-09-30")
    assert period.start == date(2026, 5, 1)
    assert period.end == date(2026, 9, 30)
    assert period.label == "2026-05-01..2026-09-30"


def test_range_of_one_day() -> None:
    period = parse_period("2026-05-01..2026-05-01")
    assert period.start == period.end == date(2026, 5, 1)


def test_range_across_a_year() -> None:
    period = parse_period("2025-11-15..2026-02-14")
    assert period.start == date(2025, 11, 15)
    assert period.end == date(2026, 2, 14)


def test_membership_is_inclusive_at_both_ends() -> None:
    q3 = parse_period("2026-Q3")
    assert date(2026, 7, 1) in q3
    assert date(2026, 9, 30) in q3
    assert date(2026, 6, 30) not in q3
    assert date(2026, 10, 1) not in q3
    assert "2026-08-01" not in q3  # only dates are members


def test_integer_bounds_for_chroma() -> None:
    q3 = parse_period("2026-Q3")
    assert q3.start_int == 20260701
    assert q3.end_int == 20260930
    assert date_to_int(date(2026, 1, 9)) == 20260109
    # The integers order the same way the dates do.
    assert date_to_int(date(2025, 12, 31)) < date_to_int(date(2026, 1, 1))


@pytest.mark.parametrize(
    "text",
    [
        "2026-Q5",
        "2026-Q0",
        "2026-H3",
        "2026-13",
        "2026-00",
        "last year",
        "",
        "26",
        "2026-7",
        "2026/07",
        "2026-09-30..2026-01-01",
        "2026-02-30..2026-03-01",
        "2026-05-01..",
        "2026-05-01 .. 2026-09-30",
    ],
)
def test_bad_forms_are_bad_input(text: str) -> None:
    with pytest.raises(BadInputError) as info:
        parse_period(text)
    message = str(info.value)
    assert "\n" not in message
    assert f"'{text.strip()}'" in message  # the message quotes what the user typed


def test_unknown_form_lists_the_accepted_forms() -> None:
    with pytest.raises(BadInputError, match="2026-Q3, 2026-H1, 2026, 2026-07"):
        parse_period("last year")


def test_backwards_range_says_so() -> None:
    with pytest.raises(BadInputError, match="ends before it starts"):
        parse_period("2026-09-30..2026-01-01")


def test_impossible_month_says_why() -> None:
    with pytest.raises(BadInputError, match="month"):
        parse_period("2026-13")


def test_default_period_is_six_months_up_to_the_newest_date() -> None:
    period = default_period(date(2026, 9, 30))
    assert period == Period(date(2026, 4, 1), date(2026, 9, 30), "2026-04-01..2026-09-30")
    # Its label parses back to the same period.
    assert parse_period(period.label) == period


def test_default_period_mid_month_starts_on_the_first() -> None:
    period = default_period(date(2026, 9, 14))
    assert period.start == date(2026, 4, 1)
    assert period.end == date(2026, 9, 14)


@pytest.mark.parametrize(
    ("newest", "start"),
    [
        (date(2027, 1, 15), date(2026, 8, 1)),
        (date(2027, 5, 31), date(2026, 12, 1)),
        (date(2027, 6, 1), date(2027, 1, 1)),
        (date(2026, 12, 31), date(2026, 7, 1)),
    ],
)
def test_default_period_across_a_year(newest: date, start: date) -> None:
    period = default_period(newest)
    assert period.start == start
    assert period.end == newest
    assert period.label == f"{start.isoformat()}..{newest.isoformat()}"
