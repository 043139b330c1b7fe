"""Reporting periods: `2026-Q3`, `2026-H1`, `2026`, `2026-07`, `2026-05-01..2026-09-30`."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

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
