"""Reporting periods: `2026-Q3`, `2026-H1`, `2026`, `2026-07`, `2026-05-01..2026-09-30`."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from perfagent.errors import BadInputError


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    label: str

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.start <= day <= self.end

    @property
    def start_int(self) -> int:
        return date_to_int(self.start)

    @property
    def end_int(self) -> int:
        return date_to_int(self.end)

    def __str__(self) -> str:
        return self.label


def date_to_int(day: date) -> int:
    """A date as yyyymmdd, the form Chroma can compare with $gte/$lte."""
    return day.year * 10000 + day.month * 100 + day.day


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def parse_period(text: str) -> Period:
    """Parse the contract's period forms; raise BadInputError with a one-line reason otherwise."""
    raw = text.strip()
    try:
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", raw, re.IGNORECASE):
            year, q = int(m[1]), int(m[2])
            return Period(date(year, 3 * q - 2, 1), _month_end(year, 3 * q), f"{year}-Q{q}")
        if m := re.fullmatch(r"(\d{4})-H([12])", raw, re.IGNORECASE):
            year, h = int(m[1]), int(m[2])
            return Period(date(year, 6 * h - 5, 1), _month_end(year, 6 * h), f"{year}-H{h}")
        if m := re.fullmatch(r"(\d{4})", raw):
            year = int(m[1])
            return Period(date(year, 1, 1), date(year, 12, 31), raw)
        if m := re.fullmatch(r"(\d{4})-(\d{2})", raw):
            year, month = int(m[1]), int(m[2])
            return Period(date(year, month, 1), _month_end(year, month), raw)
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", raw):
            start, end = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if end < start:
                raise BadInputError(f"period '{raw}': ends before it starts")
            return Period(start, end, raw)
    except ValueError as exc:
        raise BadInputError(f"period '{raw}': {exc}") from None
    raise BadInputError(
        f"period '{raw}' is not one of 2026-Q3, 2026-H1, 2026, 2026-07, 2026-05-01..2026-09-30"
    )


def default_period(newest: date) -> Period:
    """The six calendar months up to and including `newest`'s month (the contract's default)."""
    months = newest.year * 12 + newest.month - 1 - 5
    start = date(months // 12, months % 12 + 1, 1)
    return Period(start, newest, f"{start.isoformat()}..{newest.isoformat()}")


# Month names and abbreviations (also what the citation verifier reads dates with).
MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sep": 9, "sept": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
    "dec": 12,
}  # fmt: skip
_MONTH = r"(" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")"
_NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "six": 6, "nine": 9, "twelve": 12}


def _month_before(day: date, months: int) -> date:
    """The same day `months` calendar months earlier (clamped to the month's end)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def find_period(text: str, today: date) -> Period | None:
    """The period a question names, in the contract's forms, resolved against `today`.

    Understands explicit forms (`2026-Q3`, `Q3`, `H1`, `2026`, `2026-07`, a date range), and
    relative ones: "last/this quarter", "the first/second half", "last/this month", "this/last
    year", "in August", "since June", "between May and July", "the last six months". None when
    the text names no period (the caller then uses the default). A month or quarter without a year
    is the most recent one that has begun.
    """
    t = text.casefold()
    year = today.year
    quarter_now = (today.month - 1) // 3 + 1
    if m := re.search(r"\b(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})\b", t):
        return parse_period(f"{m[1]}..{m[2]}")
    if m := re.search(r"\b(\d{4})-(q[1-4]|h[12]|\d{2})\b", t):
        return parse_period(f"{m[1]}-{m[2].upper()}")
    if m := re.search(
        r"\b(?:the\s+)?(?:last|past|previous)\s+(\d+|" + "|".join(_NUMBER_WORDS) + r")\s+months?\b",
        t,
    ):
        n = int(m[1]) if m[1].isdigit() else _NUMBER_WORDS[m[1]]
        start = _month_before(today, n)
        return Period(start, today, f"{start.isoformat()}..{today.isoformat()}")
    if m := re.search(
        r"\b(?:the\s+)?(?:last|past|previous)\s+(\d+|" + "|".join(_NUMBER_WORDS) + r")\s+weeks?\b",
        t,
    ):
        n = int(m[1]) if m[1].isdigit() else _NUMBER_WORDS[m[1]]
        start = today - timedelta(weeks=n)
        return Period(start, today, f"{start.isoformat()}..{today.isoformat()}")
    if m := re.search(
        r"\bq([1-4])\s*(?:and|to|through|thru|until|till|-|–)\s*q([1-4])(?:\s+(?:of\s+)?(\d{4}))?\b",
        t,
    ):
        q1, q2 = sorted((int(m[1]), int(m[2])))
        y = int(m[3]) if m[3] else (year if q1 <= quarter_now else year - 1)
        start, end = parse_period(f"{y}-Q{q1}").start, parse_period(f"{y}-Q{q2}").end
        return Period(start, end, f"{start.isoformat()}..{end.isoformat()}")
    if re.search(r"\bquarter\s+before\s+last\b", t):
        back = quarter_now - 2
        q, y = (back, year) if back >= 1 else (back + 4, year - 1)
        return parse_period(f"{y}-Q{q}")
    if re.search(r"\b(?:last|previous|past)\s+quarter\b", t):
        q, y = (quarter_now - 1, year) if quarter_now > 1 else (4, year - 1)
        return parse_period(f"{y}-Q{q}")
    if re.search(r"\b(?:this|current)\s+quarter\b", t):
        return parse_period(f"{year}-Q{quarter_now}")
    ordinal = r"(first|second|third|fourth)"
    if m := re.search(rf"\b(?:q([1-4])|{ordinal}\s+quarter)(?:\s+(?:of\s+)?(\d{{4}}))?\b", t):
        q = int(m[1]) if m[1] else ("first", "second", "third", "fourth").index(m[2]) + 1
        y = int(m[3]) if m[3] else (year if q <= quarter_now else year - 1)
        return parse_period(f"{y}-Q{q}")
    if m := re.search(
        r"\b(?:h([12])|(first|second)\s+half)(?:\s+of\s+the\s+year|\s+(?:of\s+)?(\d{4}))?\b", t
    ):
        h = int(m[1]) if m[1] else (1 if m[2] == "first" else 2)
        y = int(m[3]) if m[3] else (year if h == 1 or today.month >= 7 else year - 1)
        return parse_period(f"{y}-H{h}")
    if re.search(r"\b(?:last|previous|past)\s+month\b", t):
        start = _month_before(today.replace(day=1), 1)
        return parse_period(f"{start.year}-{start.month:02d}")
    if re.search(r"\b(?:this|current)\s+month\b", t):
        return parse_period(f"{year}-{today.month:02d}")
    if re.search(r"\b(?:last|previous)\s+year\b", t):
        return parse_period(str(year - 1))
    if re.search(
        r"\b(?:this|current)\s+(?:year|yr)\b|\byear\s+so\s+far\b|\byear[\s-]+to[\s-]+date\b|\bytd\b",
        t,
    ):
        return parse_period(str(year))
    if m := re.search(
        rf"\b(?:(?:between|from|covering)\s+)?{_MONTH}(?:\s+(\d{{4}}))?\s*"
        rf"(?:and|to|until|till|through|thru|-|–)\s*{_MONTH}(?:\s+(\d{{4}}))?\b",
        t,
    ):
        m1, m2 = MONTHS[m[1]], MONTHS[m[3]]
        y1 = int(m[2]) if m[2] else (year if m1 <= today.month else year - 1)
        y2 = int(m[4]) if m[4] else (y1 if m2 >= m1 else y1 + 1)
        return Period(
            date(y1, m1, 1), _month_end(y2, m2), f"{date(y1, m1, 1)}..{_month_end(y2, m2)}"
        )
    if m := re.search(
        rf"\bsince\s+(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\b", t
    ):
        mo = MONTHS[m[2]]
        y = year if mo <= today.month else year - 1
        try:
            start = date(y, mo, int(m[1]))
        except ValueError:
            start = None
        if start is not None and start <= today:
            return Period(start, today, f"{start.isoformat()}..{today.isoformat()}")
    if m := re.search(
        rf"\bsince\s+(?:the\s+(?:start|beginning)\s+of\s+|early\s+)?{_MONTH}(?:\s+(\d{{4}}))?\b",
        t,
    ):
        mo = MONTHS[m[1]]
        y = int(m[2]) if m[2] else (year if mo <= today.month else year - 1)
        start = date(y, mo, 1)
        return Period(start, today, f"{start.isoformat()}..{today.isoformat()}")
    if m := re.search(
        rf"\b(?:in|for|during|over|of|from|covering)\s+{_MONTH}(?:\s+(\d{{4}}))?\b", t
    ):
        mo = MONTHS[m[1]]
        y = int(m[2]) if m[2] else (year if mo <= today.month else year - 1)
        return parse_period(f"{y}-{mo:02d}")
    if m := re.search(r"\b(?:in|for|during)\s+(\d{4})\b", t):
        return parse_period(m[1])
    return None
