"""A feedback draft as a file to download: Markdown, or Word (.docx) for people who edit there.

Both carry the (possibly edited) text, the numbered sources its `[n]` markers point to, and the
advisory note; the .docx turns the draft's small Markdown (headings, bullets, bold) into Word
styles.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from perfagent.tools.scoring import ADVISORY_NOTE

_BOLD = re.compile(r"\*\*(.+?)\*\*")


def _source_line(c: dict[str, Any]) -> str:
    quote = " ".join(str(c.get("quote", "")).split())
    kind = str(c.get("doc_type", "")).replace("_", " ")
    return f'[{c["n"]}] {kind}, {c.get("date")}: "{quote}"'


def draft_markdown(
    title: str, text: str, citations: Sequence[dict[str, Any]], warnings: Sequence[str] = ()
) -> str:
    lines = [f"# {title}", "", f"_{ADVISORY_NOTE}_", "", text.strip(), ""]
    if citations:
        lines += ["## Sources", ""] + [f"- {_source_line(c)}" for c in citations] + [""]
    if warnings:
        lines += ["## Language check", ""] + [f"- {w}" for w in warnings] + [""]
    return "\n".join(lines)


def _add_runs(paragraph: Any, text: str) -> None:
    """Text with `**bold**` spans as Word runs."""
    at = 0
    for m in _BOLD.finditer(text):
        if m.start() > at:
            paragraph.add_run(text[at : m.start()])
        paragraph.add_run(m.group(1)).bold = True
        at = m.end()
    if at < len(text):
        paragraph.add_run(text[at:])


def write_docx(
    path: Path,
    title: str,
    text: str,
    citations: Sequence[dict[str, Any]],
    warnings: Sequence[str] = (),
) -> Path:
    from docx import Document

    doc = Document()
    doc.add_heading(title, level=1)
    doc.add_paragraph().add_run(ADVISORY_NOTE).italic = True
    for line in text.strip().splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            level = min(len(stripped) - len(stripped.lstrip("#")), 3)
            doc.add_heading(stripped.lstrip("#").strip(), level=level + 1)
        elif stripped.startswith(("- ", "* ")):
            _add_runs(doc.add_paragraph(style="List Bullet"), stripped[2:])
        else:
            _add_runs(doc.add_paragraph(), stripped)
    if citations:
        doc.add_heading("Sources", level=2)
        for c in citations:
            doc.add_paragraph(_source_line(c))
    if warnings:
        doc.add_heading("Language check", level=2)
        for w in warnings:
            doc.add_paragraph(w, style="List Bullet")
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path
