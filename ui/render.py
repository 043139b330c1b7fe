"""What the web UI shows, as plain data: agent events as chat messages, sources, the score chart
(SVG), the evidence chain and a draft's warnings as highlighted spans.

No Gradio components are built here (`gradio_ui.py` does that), so each rendering is a pure
function a test can check without a browser.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from perfagent.tools.scoring import ADVISORY_NOTE

TOOL_TITLES = {
    "retrieve_documents": "Searched documents",
    "score_dimensions": "Scored dimensions",
    "draft_feedback": "Drafted feedback",
}
QUOTE_CHARS = 240


def _inline(text: str) -> str:
    return " ".join(str(text).split())


def _clip(text: str, limit: int = QUOTE_CHARS) -> str:
    text = _inline(text)
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def args_text(args: dict[str, Any]) -> str:
    """A tool call's arguments as the step's body: `employee: "Sofia" · period: 2026-Q3`."""
    parts = []
    for key, value in args.items():
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{key}: {shown}")
    return " · ".join(parts) or "(no arguments)"


def tool_step_title(name: str) -> str:
    return f"🔧 {TOOL_TITLES.get(name, name)}"


def step_summary(name: str, artifact: dict[str, Any]) -> str:
    """One line on what a finished tool call returned (shown under its arguments)."""
    if "error" in artifact:
        kind = artifact["error"].get("kind")
        if kind == "permission":
            return "refused: outside what you may see"
        if kind in ("ambiguous_employee", "unknown_employee"):
            return "the name needs clarifying"
        return f"failed: {_inline(artifact['error'].get('message', 'bad request'))}"
    if name == "retrieve_documents":
        n = len(artifact.get("results", []))
        return f"{n} passage{'' if n == 1 else 's'} found"
    if name == "score_dimensions":
        dims = artifact.get("dimensions", [])
        scored = sum(d.get("score") is not None for d in dims)
        return f"{scored} of {len(dims)} dimensions scored"
    if name == "draft_feedback":
        n = len(artifact.get("citations", []))
        return f"draft with {n} citation{'' if n == 1 else 's'}"
    return "done"


@dataclass(frozen=True)
class Source:
    """A cited document as the Sources list shows it."""

    n: int
    doc_id: str
    title: str
    doc_type: str
    date: str
    quote: str

    def label(self) -> str:
        title = self.title or self.doc_type.replace("_", " ")
        return f"[{self.n}] {title} ({self.date})"


def sources_markdown(sources: Sequence[Source]) -> str:
    """The Sources section: title, type, date and the quoted text of each citation."""
    if not sources:
        return ""
    lines = ["**Sources**", ""]
    for s in sources:
        title = s.title or "(untitled)"
        kind = s.doc_type.replace("_", " ")
        lines.append(f"{s.n}. **{_escape_md(title)}** · {kind} · {s.date}  ")
        lines.append(f"   > {_escape_md(_clip(s.quote))}")
    return "\n".join(lines)


def _escape_md(text: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", text)


def document_markdown(doc: dict[str, Any], highlight: str | None = None) -> str:
    """An opened document: its header and text, the cited quote in bold where it occurs."""
    kind = str(doc.get("doc_type", "")).replace("_", " ")
    head = f"### {_escape_md(doc.get('title') or kind)}\n\n"
    head += f"{kind} · {doc.get('date')} · by {_escape_md(str(doc.get('author', '')))}\n\n"
    text = str(doc.get("text", ""))
    if highlight and highlight in text:
        at = text.index(highlight)
        body = (
            _escape_md(text[:at])
            + "**"
            + _escape_md(highlight).strip()
            + "**"
            + _escape_md(text[at + len(highlight) :])
        )
    else:
        body = _escape_md(text)
    return head + body.replace("\n", "  \n")


# --- scores --------------------------------------------------------------------------------------

_CONFIDENCE_COLOURS = {
    "high": "#2f6f4f",
    "medium": "#4f8a6b",
    "low": "#8fb39f",
}


def score_chart_svg(report: dict[str, Any]) -> str:
    """Horizontal bars from 1 to 5, one per dimension, with confidence and evidence counts;
    an insufficient dimension gets an empty, dashed track and says so. Accessible: the SVG has a
    title, and each bar a text label."""
    dims = report.get("dimensions", [])
    row, top, left, width = 38, 34, 150, 300
    height = top + row * len(dims) + 30
    name = html.escape(str(report.get("name") or report.get("employee_id", "")))
    period = html.escape(str(report.get("period", "")))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{left + width + 230}" '
        f'height="{height}" viewBox="0 0 {left + width + 230} {height}" class="score-chart" '
        f'font-family="sans-serif" font-size="13">',
        f"<title>Dimension scores for {name}, {period}</title>",
        f'<text x="0" y="18" font-weight="bold">{name} · {period} (advisory)</text>',
    ]
    for tick in range(1, 6):
        x = left + (tick - 1) / 4 * width
        parts.append(
            f'<line x1="{x:.0f}" y1="{top - 6}" x2="{x:.0f}" y2="{top + row * len(dims)}" '
            'stroke="#ddd"/>'
        )
        parts.append(
            f'<text x="{x:.0f}" y="{top + row * len(dims) + 16}" text-anchor="middle" '
            f'fill="#666">{tick}</text>'
        )
    for i, d in enumerate(dims):
        y = top + i * row
        label = html.escape(str(d["name"]))
        count = len(d.get("evidence", []))
        quotes = f"{count} quote{'' if count == 1 else 's'}"
        parts.append(f'<text x="0" y="{y + 20}">{label}</text>')
        if d.get("score") is None:
            parts.append(
                f'<rect x="{left}" y="{y + 6}" width="{width}" height="20" fill="none" '
                'stroke="#b35c00" stroke-dasharray="4 3" data-insufficient="true"/>'
            )
            parts.append(
                f'<text x="{left + width + 10}" y="{y + 20}" fill="#b35c00">'
                f"insufficient evidence ({quotes})</text>"
            )
            continue
        score = float(d["score"])
        bar = max(2.0, (score - 1) / 4 * width)
        colour = _CONFIDENCE_COLOURS.get(str(d.get("confidence")), "#8fb39f")
        parts.append(
            f'<rect x="{left}" y="{y + 6}" width="{bar:.1f}" height="20" fill="{colour}" '
            f'data-score="{score:.1f}"><title>{label}: {score:.1f}</title></rect>'
        )
        parts.append(
            f'<text x="{left + width + 10}" y="{y + 20}">{score:.1f} · '
            f"{html.escape(str(d.get('confidence')))} confidence · {quotes}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def evidence_chain_markdown(report: dict[str, Any], per_dimension: int = 4) -> str:
    """Beneath the chart: each score and the quotes behind it, strongest first
    (`collaboration 4.2 <- weekly report 2026-08-14: "ran the three cross-team syncs"`)."""
    lines = [f"_{ADVISORY_NOTE}_", ""]
    for d in report.get("dimensions", []):
        evidence = sorted(d.get("evidence", []), key=lambda e: -abs(float(e.get("effect", 0))))
        if d.get("score") is None:
            lines.append(f"**{d['name']}**: insufficient evidence ({len(evidence)} quotes)")
        else:
            lines.append(f"**{d['name']} {float(d['score']):.1f}** ({d.get('confidence')})")
        for e in evidence[:per_dimension]:
            kind = str(e.get("doc_type", "")).replace("_", " ")
            lines.append(
                f"- {float(e.get('effect', 0)):+.2f} ← {kind} {e.get('date')}: "
                f"“{_escape_md(_clip(e.get('quote', ''), 200))}”"
            )
        lines.append("")
    return "\n".join(lines)


# --- drafts --------------------------------------------------------------------------------------


def warning_spans(text: str, warnings: Sequence[Any]) -> list[tuple[str, str | None]]:
    """`text` cut into (piece, label) pairs for `gr.HighlightedText`: each warning's span gets
    its kind as the label, the rest None. Overlapping findings keep the first."""
    spans = sorted(
        ((int(w.start), int(w.end), str(w.kind)) for w in warnings if w.end > w.start),
        key=lambda s: s[0],
    )
    pieces: list[tuple[str, str | None]] = []
    at = 0
    for start, end, kind in spans:
        if start < at:
            continue
        if start > at:
            pieces.append((text[at:start], None))
        pieces.append((text[start:end], kind.replace("_", " ")))
        at = end
    if at < len(text):
        pieces.append((text[at:], None))
    return pieces


def warnings_markdown(warnings: Sequence[Any]) -> str:
    if not warnings:
        return "No wording warnings."
    return "\n".join(
        f"- **{str(w.kind).replace('_', ' ')}**: “{_escape_md(_inline(w.span))}”: "
        f"{_escape_md(w.message)}; try: {_escape_md(w.suggestion)}"
        for w in warnings
    )


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
