"""Slack Block Kit messages: the answer as sections, then its sources as a context block of
quotes; refusals, notices and errors as one short section. `text` is the notification fallback."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

SECTION_CHARS = 2900  # Slack's limit is 3000 per section text
CONTEXT_ELEMENTS = 10  # Slack's limit per context block
QUOTE_CHARS = 180
MAX_BLOCKS = 45  # Slack's limit is 50 per message

Blocks = list[dict[str, Any]]


def to_mrkdwn(markdown: str) -> str:
    """The answers' small Markdown as Slack mrkdwn: bold, headings, bullets."""
    lines = []
    for line in markdown.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            line = f"*{stripped.lstrip('#').strip()}*"
        elif stripped.startswith(("- ", "* ")):
            line = "• " + stripped[2:]
        lines.append(line)
    text = "\n".join(lines)
    text = re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _sections(text: str) -> Blocks:
    blocks: Blocks = []
    chunk = ""
    for paragraph in text.split("\n\n"):
        while len(paragraph) > SECTION_CHARS:  # one huge paragraph: cut at a line or a space
            cut = paragraph.rfind("\n", 0, SECTION_CHARS)
            cut = cut if cut > 0 else paragraph.rfind(" ", 0, SECTION_CHARS)
            cut = cut if cut > 0 else SECTION_CHARS
            blocks.append(_section(paragraph[:cut]))
            paragraph = paragraph[cut:].lstrip()
        if chunk and len(chunk) + 2 + len(paragraph) > SECTION_CHARS:
            blocks.append(_section(chunk))
            chunk = paragraph
        else:
            chunk = f"{chunk}\n\n{paragraph}" if chunk else paragraph
    if chunk.strip():
        blocks.append(_section(chunk))
    return blocks


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _quote(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= QUOTE_CHARS else flat[: QUOTE_CHARS - 1].rsplit(" ", 1)[0] + "…"


def sources_block(citations: Sequence[dict[str, Any]]) -> Blocks:
    """The sources as context blocks (ten quotes each)."""
    elements = [
        {
            "type": "mrkdwn",
            "text": to_mrkdwn(
                f"[{c['n']}] {str(c['doc_type']).replace('_', ' ')}, {c['date']}: "
                f"“{_quote(c['quote'])}”"
            ),
        }
        for c in citations
    ]
    return [
        {"type": "context", "elements": elements[i : i + CONTEXT_ELEMENTS]}
        for i in range(0, len(elements), CONTEXT_ELEMENTS)
    ]


def answer_message(body: str, citations: Sequence[dict[str, Any]]) -> tuple[str, Blocks]:
    """(fallback text, blocks) for an agent answer: its body, a divider, its sources."""
    blocks = _sections(to_mrkdwn(body))
    if citations:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "*Sources*"}]})
        blocks += sources_block(citations)
    if len(blocks) > MAX_BLOCKS:
        blocks = [
            *blocks[: MAX_BLOCKS - 1],
            _section("_(shortened: ask in the web UI for the whole answer)_"),
        ]
    fallback = " ".join(body.split())[:280]
    return fallback, blocks


def notice(text: str) -> tuple[str, Blocks]:
    """A short message (a refusal, a pointer to the DM, an error)."""
    return text, [_section(to_mrkdwn(text))]
