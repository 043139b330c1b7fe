"""Mask names and pronouns before evidence is judged, so they cannot move a score.

Every third-person pronoun becomes the same token and every person's name becomes `[PERSON]`:
swapping "she" for "he" or "Sofia" for "Samuel" in a document yields the same masked text, hence
the same judgement (counterfactual fairness by construction, not by hope).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

PERSON = "[PERSON]"
PRONOUN = "they"
_PRONOUNS = (
    "he", "she", "him", "her", "his", "hers", "himself", "herself", "they", "them", "their",
    "theirs", "themself", "themselves", "sir", "madam",
)  # fmt: skip
_PRONOUN_RE = re.compile(r"\b(?:" + "|".join(_PRONOUNS) + r")\b", re.IGNORECASE)
# Titles only before a (masked) name: "480 ms" is a unit, "Ms. [PERSON]" is a gendered title.
_TITLE_RE = re.compile(r"\b(?:Mr|Mrs|Ms|Miss|Mx|MR|MRS|MS)\b\.?\s*(?=\[PERSON\]|[A-Z])")


@lru_cache(maxsize=32)
def _name_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    parts: set[str] = set()
    for name in names:
        parts.add(name)
        parts.update(p for p in re.split(r"[\s-]+", name) if len(p) > 1)
    if not parts:
        return None
    # Longest first so "Sofia Rossi" is one mask, and possessives ("Sofia's") keep their 's.
    alternatives = sorted((re.escape(p) for p in parts), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


def mask_people(text: str, names: Iterable[str]) -> str:
    """`text` with person names and gendered words replaced by neutral tokens."""
    pattern = _name_pattern(tuple(sorted(set(names))))
    if pattern is not None:
        text = pattern.sub(PERSON, text)
        text = re.sub(rf"(?:{re.escape(PERSON)}\s*)+", PERSON + " ", text).replace(
            PERSON + " 's", PERSON + "'s"
        )
    return _PRONOUN_RE.sub(PRONOUN, _TITLE_RE.sub("", text))
