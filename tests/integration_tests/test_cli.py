"""The command line as a user runs it: real processes, exit codes, exactly one JSON object."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from perfagent.errors import StoreBusyError
from perfagent.ingest.documents import extract_binary_text
from perfagent.org import OrgChart
from perfagent.store.lock import DirectoryLock
from tests.cli_runner import ingest_with_cli, run_cli

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("cli-home")
    return ingest_with_cli(home, "data/demo")


def source_text(doc_id: str) -> str:
    """The text of a demo document, found from its doc_id (jsonl lines are `file#L<n>`)."""
    path, _, line = doc_id.partition("#L")
    if path.endswith((".pdf", ".docx")):
        return extract_binary_text(REPO / "data" / path)
    raw = (REPO / "data" / path).read_text(encoding="utf-8")
    return json.loads(raw.splitlines()[int(line) - 1])["text"] if line else raw


def _json(result: subprocess.CompletedProcess[str]) -> dict:
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, "--json prints exactly one JSON object"
    return json.loads(lines[0])


def test_manager_sees_only_their_tree_and_ic_only_themself(home: Path) -> None:
    org = OrgChart.load(DEMO / "org.csv")
    dana_tree = org.subtree("E003") | {"E003"}
    manager = _json(run_cli(home, "search", "--as", "E003", "missed deadline", "--json"))
    results = manager["results"]
    assert results and {r["employee_id"] for r in results} <= dana_tree
    assert len({r["employee_id"] for r in results}) > 1
    for r in results:
        assert set(r) >= {"doc_id", "chunk_id", "employee_id", "author", "doc_type", "date"}
        assert set(r) >= {"title", "text", "score"}
        assert r["text"] in source_text(r["doc_id"])  # cited text is verbatim

    ic = _json(run_cli(home, "search", "--as", "E008", "missed deadline", "--json"))
    assert ic["results"] and {r["employee_id"] for r in ic["results"]} == {"E008"}
    assert all(r["author"] == "a peer" for r in ic["results"] if r["doc_type"] == "peer_feedback")


def test_filters_period_type_and_k(home: Path) -> None:
    args = ["search", "--as", "E001", "feedback on teamwork", "--type", "peer_feedback,recognition"]
    out = _json(run_cli(home, *args, "--period", "2026-Q2", "--k", "15", "--json"))
    results = out["results"]
    assert len(results) == 15
    assert {r["doc_type"] for r in results} <= {"peer_feedback", "recognition"}
    assert all("2026-04-01" <= r["date"] <= "2026-06-30" for r in results)


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["search", "--as", "E003", "x", "--period", "last year"], "period 'last year'"),
        (["search", "--as", "E999", "x"], "unknown employee id 'E999'"),
        (["search", "--as", "E003", "x", "--type", "memo"], "unknown doc type 'memo'"),
        (["search", "--as", "E003", "   "], "query is empty"),
        (["ingest", "no/such/dir"], "no such file or directory"),
    ],
)
def test_bad_input_exits_2_with_one_line(home: Path, args: list[str], needle: str) -> None:
    result = run_cli(home, *args)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]


def test_refusal_exits_3_and_reveals_nothing(home: Path) -> None:
    peer = run_cli(home, "search", "--as", "E008", "deadline", "--employee", "E007", "--json")
    outside = run_cli(home, "search", "--as", "E005", "deadline", "--employee", "E010")
    assert peer.returncode == 3 and outside.returncode == 3
    assert peer.stdout == "" and outside.stdout == ""
    assert peer.stderr.strip() == "perfagent: you may not see documents about E007"


def test_second_writer_is_refused_while_the_store_is_busy(tmp_path: Path) -> None:
    home = tmp_path / "home"
    lock = DirectoryLock.acquire(home / "chroma", exclusive=True, purpose="test holder")
    try:
        result = run_cli(home, "ingest", "data/demo", "--no-progress")
        assert result.returncode == 2
        assert "in use by another process" in result.stderr
        assert f"pid {os.getpid()}" in result.stderr
        assert not (home / "org.csv").exists() or result.stdout == ""
        with pytest.raises(StoreBusyError):
            # A second, independent open of the same directory (as another process would).
            other = DirectoryLock(home / "chroma")
            other._take(exclusive=True, purpose="second")
    finally:
        DirectoryLock.release_all()
    assert lock.directory == (home / "chroma").resolve()
