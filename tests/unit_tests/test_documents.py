"""Reading the contract's document formats, and skipping bad files with a one-line reason."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from perfagent.ingest.documents import (
    DocumentReader,
    Skipped,
    SourceDocument,
    iter_document_files,
    read_documents,
)
from perfagent.org import OrgChart

REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_BYTES = 100_000

FIELDS: dict[str, str] = {
    "employee_id": "E014",
    "author_id": "E013",
    "doc_type": "peer_feedback",
    "date": "2026-06-24",
}
BODY = "Ravi ships well-scoped work on time. He should ask for help earlier when blocked."


@pytest.fixture(scope="module")
def org() -> OrgChart:
    return OrgChart.load(REPO_ROOT / "data" / "demo" / "org.csv")


def front_matter(**overrides: str | None) -> str:
    fields = {**FIELDS, **overrides}
    lines = [f"{k}: {v}" for k, v in fields.items() if v is not None]
    return "---\n" + "\n".join(lines) + "\n---\n"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def read_all(root: Path, org: OrgChart, max_file_bytes: int = MAX_BYTES) -> list[object]:
    return list(read_documents(root, org, max_file_bytes=max_file_bytes))


def read_one(root: Path, path: Path, org: OrgChart, max_file_bytes: int = MAX_BYTES) -> object:
    results = list(DocumentReader(root, org, max_file_bytes=max_file_bytes).read(path))
    assert len(results) == 1, results
    return results[0]


def only_doc(result: object) -> SourceDocument:
    assert isinstance(result, SourceDocument), result
    return result


def only_skip(result: object) -> Skipped:
    assert isinstance(result, Skipped), result
    assert "\n" not in result.reason, result.reason
    assert result.reason.strip()
    return result


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF that shows `text` in Helvetica, with a correct xref table."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)


def sidecar_yaml(**overrides: str) -> str:
    return "".join(f"{k}: {v}\n" for k, v in {**FIELDS, **overrides}.items())


# --- valid documents --------------------------------------------------------------------------


def test_markdown_document(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    path = write(
        root / "E014" / "feedback.md",
        front_matter(title='"Feedback: on-call"', visibility="management") + "\n" + BODY + "\n\n",
    )
    doc = only_doc(read_one(root, path, org))
    assert doc.doc_id == "docs/E014/feedback.md"
    assert doc.source == "E014/feedback.md"
    assert doc.source_root == "docs"
    assert doc.text == BODY  # leading and trailing blank lines dropped
    f = doc.fields
    assert (f.employee_id, f.author_id, f.doc_type) == ("E014", "E013", "peer_feedback")
    assert f.date == date(2026, 6, 24)
    assert f.title == "Feedback: on-call"
    assert f.visibility == "management"


def test_txt_document_with_defaults(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "notes"
    path = write(root / "weekly.txt", front_matter(doc_type="weekly_report") + BODY)
    doc = only_doc(read_one(root, path, org))
    assert doc.doc_id == "notes/weekly.txt"
    assert doc.fields.doc_type == "weekly_report"
    assert doc.fields.title == ""
    assert doc.fields.visibility == "default"


def test_utf8_bom_and_crlf_free_text_is_kept_verbatim(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    body = "Café launch went well — “great” work.\nSecond line."
    path = write(root / "a.md", b"\xef\xbb\xbf" + (front_matter() + body).encode("utf-8"))
    assert only_doc(read_one(root, path, org)).text == body


def test_jsonl_lines_load_and_a_bad_line_is_skipped_alone(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    good = [
        {**FIELDS, "doc_type": "okr_update", "date": "2026-06-26", "text": "KR1 done."},
        {**FIELDS, "doc_type": "okr_update", "date": "2026-09-30", "text": "KR2 slipped."},
    ]
    lines = [
        json.dumps(good[0]),
        "{not json",
        "",
        json.dumps(good[1]),
        json.dumps({**FIELDS, "text": "no doc"} | {"doc_type": "rumour"}),
        json.dumps(["a list"]),
        json.dumps(dict(FIELDS)),
    ]
    write(root / "okrs.jsonl", "\n".join(lines) + "\n")
    results = read_all(root, org)
    docs = [r for r in results if isinstance(r, SourceDocument)]
    skips = {s.source: s.reason for s in results if isinstance(s, Skipped)}
    assert [d.text for d in docs] == ["KR1 done.", "KR2 slipped."]
    assert [d.doc_id for d in docs] == ["docs/okrs.jsonl#L1", "docs/okrs.jsonl#L4"]
    assert docs[1].fields.date == date(2026, 9, 30)
    assert set(skips) == {"okrs.jsonl#L2", "okrs.jsonl#L5", "okrs.jsonl#L6", "okrs.jsonl#L7"}
    assert "not valid JSON" in skips["okrs.jsonl#L2"]
    assert "rumour" in skips["okrs.jsonl#L5"]
    assert "not a JSON object" in skips["okrs.jsonl#L6"]
    assert "missing field 'text'" in skips["okrs.jsonl#L7"]
    assert all("\n" not in reason for reason in skips.values())
    assert str(Skipped("okrs.jsonl#L2", skips["okrs.jsonl#L2"])).startswith("okrs.jsonl#L2: ")


def test_jsonl_bad_date_names_the_date(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    write(root / "x.jsonl", json.dumps({**FIELDS, "date": "2026-13-45", "text": "t"}) + "\n")
    skip = only_skip(read_all(root, org)[0])
    assert skip.source == "x.jsonl#L1"
    assert "bad date '2026-13-45'" in skip.reason


def test_docx_with_sidecar(tmp_path: Path, org: OrgChart) -> None:
    from docx import Document

    root = tmp_path / "docs"
    root.mkdir()
    document = Document()
    document.add_paragraph("Delivered the carrier payouts project.")
    document.add_paragraph("")
    document.add_paragraph("Mentored two new engineers.")
    document.save(str(root / "review.docx"))
    write(root / "review.docx.meta.yaml", sidecar_yaml(doc_type="self_review", author_id="E014"))
    results = read_all(root, org)
    doc = only_doc(results[0])
    assert len(results) == 1  # the sidecar is not a document of its own
    assert doc.doc_id == "docs/review.docx"
    assert doc.text == "Delivered the carrier payouts project.\n\nMentored two new engineers."
    assert doc.fields.doc_type == "self_review"
    assert doc.fields.author_id == "E014"


def test_docx_with_stem_sidecar(tmp_path: Path, org: OrgChart) -> None:
    from docx import Document

    root = tmp_path / "docs"
    root.mkdir()
    document = Document()
    document.add_paragraph("Ran the Q3 planning.")
    document.save(str(root / "plan.docx"))
    write(root / "plan.meta.yaml", sidecar_yaml(doc_type="project_summary"))
    doc = only_doc(read_one(root, root / "plan.docx", org))
    assert doc.text == "Ran the Q3 planning."
    assert doc.fields.doc_type == "project_summary"


def test_pdf_with_sidecar(tmp_path: Path, org: OrgChart) -> None:
    from pypdf import PdfReader

    root = tmp_path / "docs"
    pdf = write(root / "summary.pdf", minimal_pdf("Shipped the ledger migration on time."))
    # The hand-written PDF is valid and its text is extractable.
    assert PdfReader(str(pdf)).pages[0].extract_text() == "Shipped the ledger migration on time."
    write(root / "summary.pdf.meta.yaml", sidecar_yaml(doc_type="project_summary"))
    doc = only_doc(read_one(root, pdf, org))
    assert doc.doc_id == "docs/summary.pdf"
    assert doc.text == "Shipped the ledger migration on time."
    assert doc.fields.doc_type == "project_summary"
    assert doc.fields.date == date(2026, 6, 24)


def test_read_documents_on_a_single_file(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    path = write(root / "a.md", front_matter() + BODY)
    (doc,) = read_all(path, org)
    assert only_doc(doc).doc_id == "docs/a.md"


# --- bad documents ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("missing.md", front_matter(employee_id=None) + BODY, ["missing field 'employee_id'"]),
        ("no-type.md", front_matter(doc_type=None) + BODY, ["missing field 'doc_type'"]),
        (
            "unknown-emp.md",
            front_matter(employee_id="E999") + BODY,
            ["unknown employee_id", "E999"],
        ),
        ("unknown-auth.md", front_matter(author_id="E998") + BODY, ["unknown author_id", "E998"]),
        (
            "bad-type.md",
            front_matter(doc_type="gossip") + BODY,
            ["doc_type 'gossip'", "not one of"],
        ),
        ("bad-vis.md", front_matter(visibility="secret") + BODY, ["visibility 'secret'"]),
        ("word-date.md", front_matter(date="yesterday") + BODY, ["bad date 'yesterday'"]),
        ("non-utf8.md", (front_matter() + "Caf").encode() + b"\xe9 \xff.\n", ["not valid UTF-8"]),
        ("empty.md", b"", ["empty file"]),
        ("no-fm.md", BODY + "\n", ["no YAML front matter"]),
        ("late-fm.md", "\n" + front_matter() + BODY, ["no YAML front matter"]),
        ("unclosed.md", front_matter()[:-4] + BODY, ["not closed"]),
        (
            "bad-yaml.md",
            "---\nemployee_id: [E014\nauthor_id: E013\n---\nBody\n",
            ["not valid YAML"],
        ),
        ("list-fm.md", "---\n- a\n- b\n---\nBody\n", ["not a YAML mapping"]),
        ("empty-body.md", front_matter() + "\n  \n\n", ["no text"]),
        ("only-fm.md", front_matter(), ["no text"]),
    ],
)
def test_bad_text_file_is_skipped_with_a_reason(
    tmp_path: Path, org: OrgChart, name: str, content: str | bytes, expected: list[str]
) -> None:
    root = tmp_path / "docs"
    path = write(root / name, content)
    skip = only_skip(read_one(root, path, org))
    assert skip.source == name
    for words in expected:
        assert words in skip.reason, skip.reason
    assert str(skip) == f"{name}: {skip.reason}"


@pytest.mark.parametrize("value", ["2026-13-45", "2026-02-30", "'2026-13-45'"])
def test_impossible_front_matter_date_names_the_date(
    tmp_path: Path, org: OrgChart, value: str
) -> None:
    root = tmp_path / "docs"
    path = write(root / "bad-date.md", front_matter(date=value) + BODY)
    skip = only_skip(read_one(root, path, org))
    assert "bad date" in skip.reason
    assert value.strip("'") in skip.reason


def test_impossible_sidecar_date_names_the_date(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    path = write(root / "s.pdf", minimal_pdf("Text."))
    write(root / "s.pdf.meta.yaml", sidecar_yaml(date="2026-13-45"))
    skip = only_skip(read_one(root, path, org))
    assert "bad date '2026-13-45'" in skip.reason


def test_huge_file_is_skipped_before_reading(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    path = write(root / "huge.md", front_matter() + "x " * 3_000)
    skip = only_skip(read_one(root, path, org, max_file_bytes=1_000))
    assert "too large" in skip.reason
    assert "max_file_bytes" in skip.reason
    # The same file under a larger limit loads.
    assert isinstance(read_one(root, path, org, max_file_bytes=10_000), SourceDocument)


def test_huge_file_reason_shows_distinct_sizes(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    path = write(root / "huge.md", front_matter() + "x" * 6_000)
    skip = only_skip(read_one(root, path, org, max_file_bytes=5_000))
    assert "too large" in skip.reason
    # A 6 kB file is not "0.0 MB", and the size shown must differ from the limit shown.
    assert "0.0 MB" not in skip.reason, skip.reason


def test_pdf_without_sidecar_is_skipped(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    path = write(root / "scan.pdf", minimal_pdf("Some text."))
    skip = only_skip(read_one(root, path, org))
    assert skip.source == "scan.pdf"
    assert "no sidecar" in skip.reason
    assert "scan.pdf.meta.yaml" in skip.reason


def test_unreadable_pdf_is_skipped(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    path = write(root / "broken.pdf", b"this is not a pdf at all")
    write(root / "broken.pdf.meta.yaml", sidecar_yaml())
    skip = only_skip(read_one(root, path, org))
    assert "cannot read pdf" in skip.reason


def test_pdf_without_text_is_skipped(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    path = write(root / "blank.pdf", minimal_pdf(""))
    write(root / "blank.pdf.meta.yaml", sidecar_yaml())
    skip = only_skip(read_one(root, path, org))
    assert "no extractable text" in skip.reason


def test_sidecar_with_bad_field_is_skipped(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    path = write(root / "s.pdf", minimal_pdf("Text."))
    write(root / "s.pdf.meta.yaml", sidecar_yaml(employee_id="E404"))
    skip = only_skip(read_one(root, path, org))
    assert "unknown employee_id 'E404'" in skip.reason


def test_sidecar_that_is_not_a_mapping_is_skipped(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    path = write(root / "s.pdf", minimal_pdf("Text."))
    write(root / "s.pdf.meta.yaml", "- just\n- a list\n")
    skip = only_skip(read_one(root, path, org))
    assert "not a YAML mapping" in skip.reason


def test_sidecar_with_invalid_yaml_gets_a_one_line_reason(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    path = write(root / "s.pdf", minimal_pdf("Text."))
    write(root / "s.pdf.meta.yaml", "employee_id: [E014\nauthor_id: E013\n")
    result = read_one(root, path, org)
    assert isinstance(result, Skipped)
    assert "\n" not in result.reason


def test_bad_files_do_not_stop_the_others(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    write(root / "a.md", front_matter() + BODY)
    write(root / "b.md", BODY)
    write(root / "c.md", b"")
    write(root / "d.md", front_matter(author_id="E007") + "Another body.")
    results = read_all(root, org)
    assert [type(r).__name__ for r in results] == [
        "SourceDocument",
        "Skipped",
        "Skipped",
        "SourceDocument",
    ]


# --- identity and change detection ------------------------------------------------------------


def test_doc_id_is_root_name_and_relative_path_and_stable(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "team-docs"
    write(root / "E014" / "2026" / "a.md", front_matter() + BODY)
    first = only_doc(read_all(root, org)[0])
    assert first.doc_id == "team-docs/E014/2026/a.md"
    # The same files read again, or through a differently spelled root, give the same ids.
    again = only_doc(read_all(root, org)[0])
    assert again.doc_id == first.doc_id
    assert again.content_hash == first.content_hash
    other_spelling = tmp_path / "team-docs" / "E014" / ".."
    assert only_doc(read_all(other_spelling, org)[0]).doc_id == first.doc_id
    # The same tree copied elsewhere under the same root name keeps its ids.
    copy = tmp_path / "elsewhere" / "team-docs"
    write(copy / "E014" / "2026" / "a.md", front_matter() + BODY)
    assert only_doc(read_all(copy, org)[0]).doc_id == first.doc_id


def _hash(tmp_path: Path, org: OrgChart, name: str, content: str) -> str:
    root = tmp_path / name / "docs"
    return only_doc(read_one(root, write(root / "a.md", content), org)).content_hash


def test_content_hash_tracks_text_and_every_field(tmp_path: Path, org: OrgChart) -> None:
    base = _hash(tmp_path, org, "base", front_matter() + BODY)
    assert len(base) == 32
    # Not changed by things that do not change the document.
    assert _hash(tmp_path, org, "same", front_matter() + BODY) == base
    assert _hash(tmp_path, org, "trailing", front_matter() + BODY + "\n\n") == base
    assert _hash(tmp_path, org, "explicit", front_matter(visibility="default") + BODY) == base
    assert _hash(tmp_path, org, "quoted", front_matter(date="'2026-06-24'") + BODY) == base
    # Changed by the text and by each field.
    variants = {
        "text": front_matter() + BODY + " One more sentence.",
        "employee": front_matter(employee_id="E015") + BODY,
        "author": front_matter(author_id="E004") + BODY,
        "type": front_matter(doc_type="manager_note") + BODY,
        "date": front_matter(date="2026-06-25") + BODY,
        "title": front_matter(title="New title") + BODY,
        "visibility": front_matter(visibility="management") + BODY,
    }
    hashes = {name: _hash(tmp_path, org, name, content) for name, content in variants.items()}
    for name, value in hashes.items():
        assert value != base, name
    assert len(set(hashes.values())) == len(hashes)


def test_iter_document_files_skips_sidecars_hidden_and_other_files(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    for name in [
        "a.md",
        "b.TXT",
        "sub/c.jsonl",
        "sub/d.pdf",
        "sub/d.pdf.meta.yaml",
        "sub/e.docx",
        "sub/e.meta.yaml",
        ".hidden.md",
        ".git/config.md",
        "sub/.cache/f.md",
        "notes.yaml",
        "image.png",
        "README",
    ]:
        write(root / name, "x")
    (root / "folder.md").mkdir()  # a directory with a document suffix is not a file
    documents, others = iter_document_files(root)
    rel = [p.relative_to(root).as_posix() for p in documents]
    assert rel == ["a.md", "b.TXT", "sub/c.jsonl", "sub/d.pdf", "sub/e.docx"]
    assert sorted(p.relative_to(root).as_posix() for p in others) == [
        "README",
        "image.png",
        "notes.yaml",
    ]


def test_iter_document_files_on_one_file(tmp_path: Path) -> None:
    doc = write(tmp_path / "a.md", "x")
    other = write(tmp_path / "a.csv", "x")
    assert iter_document_files(doc) == ([doc], [])
    assert iter_document_files(other) == ([], [other])


def test_read_documents_ignores_sidecars_and_other_files(tmp_path: Path, org: OrgChart) -> None:
    root = tmp_path / "docs"
    write(root / "a.md", front_matter() + BODY)
    write(root / "a.pdf.meta.yaml", sidecar_yaml())
    write(root / ".draft.md", front_matter() + "hidden")
    write(root / "notes.csv", "x,y\n")
    results = read_all(root, org)
    assert [only_doc(r).doc_id for r in results] == ["docs/a.md"]
