"""What the web UI renders, without a browser: the score chart, evidence chain, sources, the
opened document, highlighted warnings and the draft downloads."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from perfagent.tools.language_check import check_text
from perfagent.ui import render
from perfagent.ui.export import draft_markdown, write_docx

REPORT = {
    "employee_id": "E008",
    "name": "Sofia Rossi",
    "period": "2026-Q3",
    "dimensions": [
        {
            "name": "collaboration",
            "score": 4.2,
            "confidence": "medium",
            "evidence": [
                {
                    "doc_id": "d1",
                    "chunk_id": "d1::0",
                    "quote": "ran the three cross-team syncs",
                    "date": "2026-08-14",
                    "doc_type": "weekly_report",
                    "effect": 0.4,
                },
                {
                    "doc_id": "d2",
                    "chunk_id": "d2::0",
                    "quote": "missed the handover",
                    "date": "2026-08-20",
                    "doc_type": "peer_feedback",
                    "effect": -0.1,
                },
            ],
        },
        {"name": "growth", "score": None, "confidence": "insufficient", "evidence": []},
    ],
}


def test_the_chart_draws_a_bar_per_score_and_marks_thin_evidence() -> None:
    svg = render.score_chart_svg(REPORT)
    root = ET.fromstring(svg)  # well-formed
    ns = {"s": "http://www.w3.org/2000/svg"}
    bars = root.findall(".//s:rect[@data-score]", ns)
    assert [b.get("data-score") for b in bars] == ["4.2"]
    # 4.2 on a 1..5 scale of 300 px: (4.2 - 1) / 4 * 300
    assert float(bars[0].get("width", "0")) == 240.0
    assert len(root.findall(".//s:rect[@data-insufficient]", ns)) == 1
    text = " ".join(t.text or "" for t in root.iter() if t.text)
    assert "insufficient evidence (0 quotes)" in text
    assert "4.2 · medium confidence · 2 quotes" in text
    assert "(advisory)" in text


def test_the_evidence_chain_lists_quotes_strongest_first() -> None:
    chain = render.evidence_chain_markdown(REPORT)
    assert chain.startswith("_Advisory")
    first = chain.index("ran the three cross-team syncs")
    second = chain.index("missed the handover")
    assert first < second
    assert "+0.40 ← weekly report 2026-08-14" in chain
    assert "**growth**: insufficient evidence (0 quotes)" in chain


def test_sources_show_title_type_date_and_quote() -> None:
    sources = [
        render.Source(1, "d1", "Week 33 report", "weekly_report", "2026-08-14", "ran *syncs*"),
        render.Source(2, "d2", "", "peer_feedback", "2026-08-20", "missed the handover"),
    ]
    text = render.sources_markdown(sources)
    assert "1. **Week 33 report** · weekly report · 2026-08-14" in text
    assert r"> ran \*syncs\*" in text  # markdown in quotes is shown, not interpreted
    assert "2. **(untitled)** · peer feedback" in text
    assert sources[1].label() == "[2] peer feedback (2026-08-20)"
    assert render.sources_markdown([]) == ""


def test_an_opened_document_bolds_the_cited_quote() -> None:
    doc = {
        "title": "Week 33",
        "doc_type": "weekly_report",
        "date": "2026-08-14",
        "author": "a peer",
        "text": "Monday. I ran the three cross-team syncs.\nThen lunch.",
    }
    shown = render.document_markdown(doc, "ran the three cross-team syncs")
    assert "**ran the three cross-team syncs**" in shown
    assert "by a peer" in shown and shown.startswith("### Week 33")
    assert "**" not in render.document_markdown(doc, "not in the text")


def test_warning_spans_cover_the_text_exactly_once() -> None:
    text = "Sofia is abrasive in meetings. She shipped the API on time [1]."
    found = check_text(text)
    assert found, "the personality word should be flagged"
    pieces = render.warning_spans(text, found)
    assert "".join(piece for piece, _ in pieces) == text
    flagged = [(piece, label) for piece, label in pieces if label]
    assert any("abrasive" in piece for piece, _ in flagged)
    assert render.warnings_markdown([]) == "No wording warnings."


def test_tool_steps_read_as_sentences() -> None:
    assert render.tool_step_title("score_dimensions") == "🔧 Scored dimensions"
    assert render.args_text({"employee": "Sofia", "dimensions": ["a", "b"]}) == (
        "employee: Sofia · dimensions: a, b"
    )
    refused = {"error": {"kind": "permission", "message": "no"}}
    assert render.step_summary("score_dimensions", refused) == ("refused: outside what you may see")
    assert render.step_summary("retrieve_documents", {"results": [{}, {}]}) == ("2 passages found")


def test_draft_downloads_carry_text_sources_and_warnings(tmp_path: Path) -> None:
    from docx import Document

    text = "## Strengths\n- **Delivery**: shipped the API on time [1].\nShe is abrasive."
    citations = [
        {
            "n": 1,
            "doc_id": "d1",
            "quote": "shipped the API",
            "date": "2026-08-14",
            "doc_type": "weekly_report",
        }
    ]
    warnings = [str(w) for w in check_text(text)]
    md = draft_markdown("Manager review: Sofia Rossi, 2026-Q3", text, citations, warnings)
    assert md.startswith("# Manager review: Sofia Rossi, 2026-Q3")
    assert '- [1] weekly report, 2026-08-14: "shipped the API"' in md
    assert "## Language check" in md and "abrasive" in md.split("## Language check")[1]
    path = write_docx(tmp_path / "d.docx", "Manager review", text, citations, warnings)
    doc = Document(str(path))
    paragraphs = [(p.style.name, p.text) for p in doc.paragraphs]
    assert ("Heading 1", "Manager review") in paragraphs
    assert ("Heading 3", "Strengths") in paragraphs
    bullet = next(p for p in doc.paragraphs if p.text.startswith("Delivery"))
    assert bullet.style.name == "List Bullet"
    assert bullet.runs[0].bold and bullet.runs[0].text == "Delivery"
    assert any(
        re.match(r'\[1\] weekly report, 2026-08-14: "shipped the API"', t) for _, t in paragraphs
    )
