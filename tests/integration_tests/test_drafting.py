"""`draft` on the real demo store: sections, [n] markers and their citations, verbatim quotes,
verification, suggestions, the kind rules, peer drafts from the writer's own documents, the CLI."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from perfagent.errors import BadInputError, PermissionRefusal
from perfagent.retrieval.access import Viewer
from perfagent.retrieval.people import resolve_person
from perfagent.tools.citations import CITATION_MARKER, marker_numbers
from perfagent.tools.drafting import FeedbackDraft
from tests.cli_runner import ingest_with_cli, one_json, run_cli

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo"
DIMENSIONS = ["delivery", "quality", "collaboration", "ownership", "communication", "growth"]
ITALIC_LINE = re.compile(r"^\*.*\*$")
QUOTED_POINT = re.compile(r'"(?P<quote>[^"]+)" \[(?P<n>\d+)\]$')


# ------------------------------------------------------------------------------ helpers


def viewer(container: Any, employee_id: str) -> Viewer:
    return container.search_service.policy.viewer(employee_id)


def draft(container: Any, viewer_id: str, employee_id: str, kind: str) -> FeedbackDraft:
    return container.drafting_service.draft(viewer(container, viewer_id), employee_id, kind)


def sections(text: str) -> dict[str, str]:
    """`## ` heading's first word -> the section's body."""
    parts = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    return {p.split()[0]: p.partition("\n")[2] for p in parts}


def check_markers_and_citations(
    container: Any, d: FeedbackDraft, viewer_id: str, about: str
) -> dict[int, Any]:
    """Every claim line carries [n], every [n] has a citation, every quote is verbatim in a
    chunk about `about` that the viewer may see, dated in the draft's period."""
    numbers = {c.n for c in d.citations}
    assert len(numbers) == len(d.citations), "citation numbers are unique"
    for line in d.text.splitlines():
        body = line.strip()
        if not body or body.startswith("#") or ITALIC_LINE.match(body):
            continue
        assert CITATION_MARKER.search(body), f"a claim without a citation: {line!r}"
    used = set(marker_numbers(d.text))
    assert used <= numbers, f"markers without citations: {sorted(used - numbers)}"
    assert numbers <= used, "every listed citation is used in the text"
    chunks = {
        c.chunk_id: c for c in container.store.get(ids=sorted({c.chunk_id for c in d.citations}))
    }
    me = viewer(container, viewer_id)
    for c in d.citations:
        chunk = chunks[c.chunk_id]
        assert c.quote and c.quote in chunk.text  # verbatim
        meta = chunk.metadata
        assert meta["employee_id"] == about
        assert me.may_see(meta), f"{viewer_id} may not see {c.doc_id}"
        assert meta["doc_id"] == c.doc_id and meta["doc_type"] == c.doc_type
        assert str(meta["date"]) == c.date and date.fromisoformat(c.date) in d.period
    return chunks


def check_points_quote_their_citation(d: FeedbackDraft) -> None:
    """Each bullet quotes its cited evidence (double quotes shown as single ones)."""
    by_n = {c.n: c for c in d.citations}
    points = 0
    for line in d.text.splitlines():
        m = QUOTED_POINT.search(line)
        if m:
            assert m["quote"] == by_n[int(m["n"])].quote.replace('"', "'")
            points += 1
    assert points >= 1


def check_reverified(container: Any, d: FeedbackDraft) -> None:
    report = container.drafting_service.verifier.verify(
        d.verification.text, list(d.citations), repair=False
    )
    assert report.verdicts, "the draft makes claims"
    assert report.supported_share == 1.0, [v for v in report.verdicts if not v.supported]
    assert d.text.startswith(d.verification.text.rstrip("\n"))


def check_suggestions(d: FeedbackDraft, heading: str) -> list[str]:
    """Suggestions sit in the last section, under `heading`, and cite existing numbers."""
    found = sections(d.text)
    other = "Suggestions" if heading.startswith("Goals") else "Goals for next period"
    assert not any(h.startswith(other.split()[0]) for h in found)
    key = heading.split()[0]
    if key not in found:
        return []
    assert list(found)[-1] == key, "suggestions come last"
    assert f"## {heading}\n" in d.text
    lines = [line for line in found[key].splitlines() if line.strip()]
    numbers = {c.n for c in d.citations}
    for line in lines:
        assert re.match(r"- [A-Z][a-z]+ \(prompted by (\[\d+\])+\): ", line), line
        cited = marker_numbers(line)
        assert cited and set(cited) <= numbers
    return lines


@pytest.fixture(scope="module")
def container(demo_container: Any) -> Any:
    return demo_container


@pytest.fixture(scope="module")
def self_draft(container: Any) -> FeedbackDraft:
    me = viewer(container, "E007")
    subject = resolve_person(container.org, me, "me").employee_id
    assert subject == "E007"
    return container.drafting_service.draft(me, subject, "self")


@pytest.fixture(scope="module")
def manager_draft(container: Any) -> FeedbackDraft:
    return draft(container, "E003", "E008", "manager")


@pytest.fixture(scope="module")
def peer_draft(container: Any) -> FeedbackDraft:
    return draft(container, "E009", "E008", "peer")


# ------------------------------------------------------------------------------ self


def test_self_draft_has_a_section_per_dimension(self_draft: FeedbackDraft) -> None:
    assert self_draft.kind == "self" and self_draft.employee_id == "E007"
    headings = re.findall(r"^## (\w+)", self_draft.text, flags=re.MULTILINE)
    assert headings[: len(DIMENSIONS)] == [d.capitalize() for d in DIMENSIONS]
    assert self_draft.text.startswith("# Self-review draft: Michael Brennan")


def test_self_draft_cites_only_what_the_writer_may_see(
    container: Any, self_draft: FeedbackDraft
) -> None:
    chunks = check_markers_and_citations(container, self_draft, "E007", about="E007")
    assert self_draft.citations
    assert all(c.metadata.get("visibility") != "management" for c in chunks.values())
    check_points_quote_their_citation(self_draft)


def test_self_draft_survives_verification(container: Any, self_draft: FeedbackDraft) -> None:
    check_reverified(container, self_draft)


def test_self_draft_goals_and_warnings(self_draft: FeedbackDraft) -> None:
    check_suggestions(self_draft, "Goals for next period")
    assert (
        "**What went well**" in self_draft.text or "**What I want to improve**" in self_draft.text
    )
    assert isinstance(self_draft.warnings, tuple)
    assert all(isinstance(w, str) and w for w in self_draft.warnings)
    out = self_draft.to_json()
    assert isinstance(out["warnings"], list)
    assert set(out) >= {"employee_id", "kind", "period", "text", "citations", "warnings"}
    for c in out["citations"]:
        assert set(c) >= {"n", "doc_id", "chunk_id", "quote", "date", "doc_type"}


def test_own_documents_read_as_mine_in_a_self_draft(
    container: Any, self_draft: FeedbackDraft
) -> None:
    by_n = {c.n: c for c in self_draft.citations}
    authors = {
        c.chunk_id: c.metadata["author_id"]
        for c in container.store.get(ids=sorted({c.chunk_id for c in self_draft.citations}))
    }
    for line in self_draft.text.splitlines():
        m = QUOTED_POINT.search(line)
        if m:
            mine = authors[by_n[int(m["n"])].chunk_id] == "E007"
            assert line.startswith("- My ") == mine, line


# ------------------------------------------------------------------------------ manager


def test_manager_draft_has_strengths_growth_areas_and_suggestions(
    container: Any, manager_draft: FeedbackDraft
) -> None:
    d = manager_draft
    assert d.kind == "manager" and d.text.startswith("# Review draft: Sofia Rossi")
    assert "**Strengths**" in d.text and "**Growth areas**" in d.text
    check_markers_and_citations(container, d, "E003", about="E008")
    check_points_quote_their_citation(d)
    check_reverified(container, d)
    suggestions = check_suggestions(d, "Suggestions")
    assert suggestions, "the lowest-scoring dimensions get suggestions"
    assert len(suggestions) <= container.drafting_service.suggestion_dimensions


def test_suggestions_go_to_the_lowest_scoring_dimensions(
    container: Any, manager_draft: FeedbackDraft
) -> None:
    report = container.scoring_service.score(
        viewer(container, "E003"), "E008", period=manager_draft.period
    )
    scores = {d.name: d.score for d in report.dimensions}
    found = sections(manager_draft.text)
    suggested = [
        re.match(r"- (\w+) \(prompted by", line)[1].lower()  # type: ignore[index]
        for line in check_suggestions(manager_draft, "Suggestions")
    ]
    assert suggested
    assert [scores[s] for s in suggested] == sorted(scores[s] for s in suggested)
    # A dimension with cited growth areas that scores lower than a suggested one is not skipped.
    with_growth_areas = [
        name
        for name in DIMENSIONS
        if scores[name] is not None and "**Growth areas**" in found[name.capitalize()]
    ]
    for name in with_growth_areas:
        if name not in suggested:
            assert all(scores[s] <= scores[name] for s in suggested), (name, scores)


# ------------------------------------------------------------------------------ kind rules


def test_kind_rules(container: Any) -> None:
    service = container.drafting_service
    with pytest.raises(BadInputError, match="only for yourself") as bad:
        service.draft(viewer(container, "E003"), "E007", "self")
    assert bad.value.exit_code == 2
    with pytest.raises(BadInputError, match="use --kind self") as own:
        service.draft(viewer(container, "E003"), "E003", "manager")
    assert own.value.exit_code == 2
    with pytest.raises(BadInputError, match="unknown draft kind"):
        service.draft(viewer(container, "E003"), "E007", "rating")
    with pytest.raises(PermissionRefusal) as outside:
        service.draft(viewer(container, "E003"), "E013", "manager")
    assert outside.value.exit_code == 3
    assert str(outside.value) == "you may not see documents about E013"
    with pytest.raises(PermissionRefusal):
        service.draft(viewer(container, "E008"), "E009", "manager")  # a peer is no manager


# ------------------------------------------------------------------------------ peer


def test_peer_draft_uses_only_the_writers_own_documents(
    container: Any, peer_draft: FeedbackDraft
) -> None:
    d = peer_draft
    assert d.kind == "peer" and d.employee_id == "E008"
    assert d.text.startswith("# Peer feedback draft: Aisha Bello on Sofia Rossi")
    assert d.citations, "Aisha's documents mention Sofia"
    chunks = check_markers_and_citations(container, d, "E009", about="E009")
    assert not any(c.metadata["employee_id"] == "E008" for c in chunks.values())
    assert not any("/E008/" in c.doc_id for c in d.citations)
    for c in d.citations:  # only sentences that name the colleague
        assert re.search(r"\b(Sofia|Rossi)\b", c.quote), c.quote
    check_reverified(container, d)
    assert "evidence summary" not in d.text  # a peer gives no scores


def test_peer_draft_about_someone_never_mentioned(container: Any) -> None:
    d = draft(container, "E009", "E018", "peer")  # Carlos Mendes, Mobile
    assert d.citations == ()
    assert "None of your documents in this period mention Carlos" in d.text
    assert not CITATION_MARKER.search(d.text)


def test_peer_draft_calls_mine_only_what_the_writer_wrote(
    container: Any, peer_draft: FeedbackDraft
) -> None:
    by_n = {c.n: c for c in peer_draft.citations}
    authors = {
        c.chunk_id: c.metadata["author_id"]
        for c in container.store.get(ids=sorted({c.chunk_id for c in peer_draft.citations}))
    }
    for line in peer_draft.text.splitlines():
        m = QUOTED_POINT.search(line)
        if m and line.startswith("- My "):
            assert authors[by_n[int(m["n"])].chunk_id] == "E009", line


def test_the_drafts_own_labels_raise_no_warnings(peer_draft: FeedbackDraft) -> None:
    """Section labels are the drafter's words, not the user's: none may draw a warning."""
    labels = [
        line.strip("*# ")
        for line in peer_draft.text.splitlines()
        if line.startswith(("**", "#")) and "[" not in line
    ]
    assert "Growth areas" in labels or "What worked well" in labels, peer_draft.text
    spans = [w.split('"')[1] for w in peer_draft.warnings if w.count('"') >= 2]
    for label in labels:
        assert not any(span and span in label for span in spans), (label, peer_draft.warnings)


# ------------------------------------------------------------------------------ the CLI


@pytest.fixture(scope="module")
def cli_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("draft-cli") / "lumen"
    (source / "docs").mkdir(parents=True)
    shutil.copy(DEMO / "org.csv", source / "org.csv")
    # Michael's documents from July on: every kind of evidence, and a quick draft.
    (source / "docs" / "E007").mkdir()
    for path in sorted((DEMO / "docs" / "payments" / "E007").glob("*.md")):
        if path.name >= "2026-07-09":
            shutil.copy(path, source / "docs" / "E007" / path.name)
    return source


@pytest.fixture(scope="module")
def cli_home(cli_source: Path) -> Path:
    """A home of its own, ingested by the CLI (the session store is held by its writer)."""
    home = cli_source.parent / "home"
    return ingest_with_cli(home, cli_source)


def test_cli_self_draft_json(cli_home: Path, cli_source: Path) -> None:
    out = one_json(run_cli(cli_home, "draft", "--as", "E007", "me", "--kind", "self", "--json"))
    assert set(out) >= {"employee_id", "kind", "period", "text", "citations", "warnings"}
    assert out["employee_id"] == "E007" and out["kind"] == "self"
    assert isinstance(out["warnings"], list) and all(isinstance(w, str) for w in out["warnings"])
    for dim in DIMENSIONS:
        assert f"\n## {dim.capitalize()}" in out["text"]
    numbers = {c["n"] for c in out["citations"]}
    assert numbers and set(marker_numbers(out["text"])) <= numbers
    for c in out["citations"]:
        assert set(c) >= {"n", "doc_id", "chunk_id", "quote", "date", "doc_type"}
        assert c["doc_id"].startswith("lumen/docs/E007/")
        source = (cli_source / c["doc_id"].removeprefix("lumen/")).read_text(encoding="utf-8")
        assert c["quote"] in source  # verbatim in the document it cites


def test_cli_peer_draft_may_name_a_colleague_the_writer_cannot_read(cli_home: Path) -> None:
    out = one_json(run_cli(cli_home, "draft", "--as", "E009", "Sofia", "--kind", "peer", "--json"))
    assert out["employee_id"] == "E008" and out["kind"] == "peer"
    assert out["citations"] == []  # this home holds none of Aisha's documents


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--as", "E003", "E007", "--kind", "self"], 2, "only for yourself"),
        (["--as", "E007", "me", "--kind", "manager"], 2, "use --kind self"),
        (["--as", "E003", "Dana", "--kind", "peer"], 2, "use --kind self"),
        (["--as", "E003", "E013", "--kind", "manager"], 3, "you may not see documents about E013"),
        (["--as", "E008", "E009", "--kind", "manager"], 3, "you may not see documents about E009"),
        (["--as", "E003", "E007", "--kind", "rating"], 2, "invalid choice"),
    ],
)
def test_cli_kind_rules(cli_home: Path, args: list[str], code: int, needle: str) -> None:
    result = run_cli(cli_home, "draft", *args, "--json")
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    if code == 3:
        assert result.stderr.strip().splitlines() == [f"perfagent: {needle}"]
    else:
        assert needle in result.stderr
