"""Citations: the verbatim quotes that scores, drafts and answers point to with `[n]` markers."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

# "[3]" or "[2, 5]" / "[2][5]" in a text; numbers are 1-based indices into `citations`.
CITATION_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


@dataclass(frozen=True)
class Citation:
    """One cited quote (the contract's citation shape): `quote` is a verbatim substring of the
    chunk `chunk_id`, taken from a document the viewer may see."""

    n: int
    doc_id: str
    chunk_id: str
    quote: str
    date: str
    doc_type: str

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def marker_numbers(text: str) -> list[int]:
    """Every citation number in `text`, in order of appearance (repeats kept)."""
    return [int(n) for m in CITATION_MARKER.finditer(text) for n in m.group(1).split(",")]


def strip_markers(text: str) -> str:
    """`text` without its `[n]` markers (and the space before them)."""
    return re.sub(r"\s*" + CITATION_MARKER.pattern, "", text)
