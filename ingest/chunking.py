"""Split a document into chunks of whole sentences, keeping exact character offsets.

A chunk's text is always `body[start:end]`, so a quote taken from a chunk is a verbatim
substring of the source document too.
"""

from __future__ import annotations

import re

CHUNKER_VERSION = "1"

# Words that end in a period without ending a sentence.
_ABBREVIATIONS = {
    "e.g", "i.e", "etc", "vs", "approx", "dr", "mr", "mrs", "ms", "jr", "sr", "inc", "ltd",
    "no", "fig", "est", "min", "max", "cf", "al", "st", "mt", "jan", "feb", "mar", "apr",
    "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
}  # fmt: skip
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?=\s)")
_LINE_BREAK = re.compile(r"\n[ \t]*(?=\n|[-*•]\s|\d+[.)]\s|#)")


_LOOKBACK = 40  # the longest abbreviation or list number we need to see before a period


def _is_abbreviation(text: str, dot_at: int) -> bool:
    word = re.search(r"([A-Za-z][A-Za-z.]*)$", text[max(0, dot_at - _LOOKBACK) : dot_at])
    return bool(word) and word.group(1).lower().rstrip(".") in _ABBREVIATIONS


_LIST_NUMBER = re.compile(r"(?:^|\n)[ \t]*\d+$")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences in `text`, whitespace trimmed."""
    cuts: set[int] = set()
    for m in _SENTENCE_END.finditer(text):
        if text[m.start()] == "." and (
            _is_abbreviation(text, m.start())
            or _LIST_NUMBER.search(text, max(0, m.start() - _LOOKBACK), m.start())
        ):
            continue
        cuts.add(m.end())
    for m in _LINE_BREAK.finditer(text):
        cuts.add(m.start())
    spans: list[tuple[int, int]] = []
    start = 0
    for cut in [*sorted(cuts), len(text)]:
        s, e = start, cut
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            spans.append((s, e))
        start = cut
    return spans


def _split_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """A single sentence longer than a chunk: cut at clause marks, then spaces (never mid-word)."""
    pieces: list[tuple[int, int]] = []
    while end - start > max_chars:
        window = text[start : start + max_chars]
        clause = max(window.rfind("; "), window.rfind(", "))
        cut = clause + 1 if clause > max_chars // 3 else window.rfind(" ")
        if cut <= max_chars // 3:
            cut = max_chars  # one enormous word: nothing better than a hard cut
        piece_end = start + cut
        while piece_end > start and text[piece_end - 1].isspace():
            piece_end -= 1
        pieces.append((start, piece_end))
        start += cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


def chunk_spans(text: str, max_chars: int) -> list[tuple[int, int]]:
    """Pack whole sentences greedily into chunks of at most `max_chars` characters.

    A paragraph break ends a chunk early once it is half full, so chunks follow the document's
    own structure where they can.
    """
    sentences: list[tuple[int, int]] = []
    for s, e in sentence_spans(text):
        sentences.extend(_split_long(text, s, e, max_chars) if e - s > max_chars else [(s, e)])
    chunks: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for s, e in sentences:
        if current is None:
            current = (s, e)
            continue
        paragraph_break = "\n\n" in text[current[1] : s]
        too_long = e - current[0] > max_chars
        if too_long or (paragraph_break and current[1] - current[0] >= max_chars // 2):
            chunks.append(current)
            current = (s, e)
        else:
            current = (current[0], e)
    if current is not None:
        chunks.append(current)
    return chunks
