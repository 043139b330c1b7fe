"""Ingest against a real embedded Chroma: idempotence, updates, prune, bad files, crash-safety."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from perfagent.container import Container
from perfagent.settings import load_settings
from perfagent.store.lock import DirectoryLock

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo"


def _small_corpus(target: Path, n: int = 12) -> Path:
    """A copy of a few demo documents (and the org) in a directory named like a company's."""
    root = target / "acme-docs"
    files = sorted((DEMO / "docs").rglob("*.md"))[:n]
    for f in files:
        dest = root / f.relative_to(DEMO / "docs")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, dest)
    shutil.copy(DEMO / "org.csv", root / "org.csv")
    return root


def _container(home: Path, embeddings) -> Container:
    container = Container(load_settings(home), writable=True, embeddings=embeddings)
    return container


def _snapshot(container: Container) -> dict[str, tuple[str, str]]:
    return {c.chunk_id: (c.text, str(c.metadata["doc_hash"])) for c in container.store.get()}


def test_reingest_changes_nothing(tmp_path: Path, shared_embeddings) -> None:
    corpus = _small_corpus(tmp_path)
    container = _container(tmp_path / "home", shared_embeddings)
    container.install_org(corpus / "org.csv")
    first = container.ingestor().run(corpus, progress=False)
    assert first.new == 12 and first.chunks_written > 12 - 1
    before = _snapshot(container)
    second = container.ingestor().run(corpus, progress=False)
    assert (second.new, second.updated, second.unchanged, second.chunks_written) == (0, 0, 12, 0)
    assert _snapshot(container) == before


def test_changed_file_replaces_its_chunks(tmp_path: Path, shared_embeddings) -> None:
    corpus = _small_corpus(tmp_path)
    container = _container(tmp_path / "home", shared_embeddings)
    container.install_org(corpus / "org.csv")
    container.ingestor().run(corpus, progress=False)
    target = sorted(corpus.rglob("*.md"))[0]
    doc_id = f"acme-docs/{target.relative_to(corpus).as_posix()}"
    old = [c for c in container.store.get() if c.metadata["doc_id"] == doc_id]
    head, _, _ = target.read_text().partition("\n---\n")
    target.write_text(head + "\n---\nShort replacement body. It has two sentences.\n")
    report = container.ingestor().run(corpus, progress=False)
    assert (report.updated, report.new) == (1, 0)
    new = [c for c in container.store.get() if c.metadata["doc_id"] == doc_id]
    assert [c.text for c in new] == ["Short replacement body. It has two sentences."]
    assert len(old) >= 1 and {c.metadata["doc_hash"] for c in new} != {
        c.metadata["doc_hash"] for c in old
    }


def test_prune_removes_deleted_files_of_that_root_only(tmp_path: Path, shared_embeddings) -> None:
    corpus = _small_corpus(tmp_path)
    other = tmp_path / "other-root"
    other.mkdir()
    keep = sorted(corpus.rglob("*.md"))[-1]
    shutil.copy(keep, other / "kept.md")
    container = _container(tmp_path / "home", shared_embeddings)
    container.install_org(corpus / "org.csv")
    container.ingestor().run(corpus, progress=False)
    container.ingestor().run(other, progress=False)
    victim = sorted(corpus.rglob("*.md"))[0]
    victim.unlink()
    without_prune = container.ingestor().run(corpus, progress=False)
    assert without_prune.pruned == 0
    report = container.ingestor().run(corpus, prune=True, progress=False)
    assert report.pruned == 1
    doc_ids = {c.metadata["doc_id"] for c in container.store.get(with_text=False)}
    assert f"acme-docs/{victim.relative_to(corpus).as_posix()}" not in doc_ids
    assert "other-root/kept.md" in doc_ids  # another root's documents are not touched
    assert len(doc_ids) == 12  # 11 left in acme-docs + 1 in other-root


def test_bad_files_are_skipped_and_the_rest_loads(tmp_path: Path, shared_embeddings) -> None:
    corpus = _small_corpus(tmp_path, n=3)
    bad = corpus / "bad"
    bad.mkdir()
    (bad / "no-date.md").write_text(
        "---\nemployee_id: E007\nauthor_id: E007\ndoc_type: weekly_report\n---\nText.\n"
    )
    (bad / "bad-date.md").write_text(
        "---\nemployee_id: E007\nauthor_id: E007\ndoc_type: weekly_report\n"
        "date: 2026-02-30\n---\nText.\n"
    )
    (bad / "stranger.md").write_text(
        "---\nemployee_id: E999\nauthor_id: E007\ndoc_type: weekly_report\n"
        "date: 2026-05-01\n---\nText.\n"
    )
    (bad / "latin1.md").write_bytes(
        b"---\nemployee_id: E007\nauthor_id: E007\ndoc_type: weekly_report\n"
        b"date: 2026-05-01\n---\nCaf\xe9 notes.\n"
    )
    (bad / "empty.md").write_bytes(b"")
    (bad / "huge.txt").write_bytes(b"---\n" + b"x" * 6_000_001)
    container = _container(tmp_path / "home", shared_embeddings)
    container.install_org(corpus / "org.csv")
    report = container.ingestor().run(corpus, progress=False)
    assert report.new == 3
    reasons = {s.source.split("/")[-1]: s.reason for s in report.skipped}
    assert set(reasons) == {
        "no-date.md", "bad-date.md", "stranger.md", "latin1.md", "empty.md", "huge.txt"
    }  # fmt: skip
    assert "missing field 'date'" in reasons["no-date.md"]
    assert "bad date" in reasons["bad-date.md"]
    assert "unknown employee_id 'E999'" in reasons["stranger.md"]
    assert "UTF-8" in reasons["latin1.md"]
    assert reasons["empty.md"] == "empty file"
    assert "too large" in reasons["huge.txt"]
    assert all("\n" not in str(s) for s in report.skipped)


def _ingest_cmd(path: Path) -> list[str]:
    return [sys.executable, "-m", "perfagent.cli", "ingest", str(path)]


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PERFAGENT_HOME"] = str(home)
    return env


@pytest.mark.slow
def test_killed_ingest_rerun_equals_one_clean_run(tmp_path: Path) -> None:
    """SIGKILL mid-way, then re-run: the store ends identical to a clean run, no duplicates."""
    for home in (tmp_path / "crashed", tmp_path / "clean"):
        home.mkdir()
        (home / "settings.yaml").write_text("ingest:\n  batch_chunks: 8\n")
    crashed = tmp_path / "crashed"
    proc = subprocess.Popen(
        _ingest_cmd(DEMO), env=_env(crashed), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    assert proc.stderr is not None
    os.set_blocking(proc.stderr.fileno(), False)
    seen = b""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        seen += proc.stderr.read() or b""
        percents = [int(p) for p in re.findall(rb"(\d+)%\|", seen)]
        if percents and max(percents) >= 35:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "ingest finished before it could be interrupted"

    rerun = subprocess.run(_ingest_cmd(DEMO), env=_env(crashed), capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert " 0 new" not in rerun.stdout and "unchanged" in rerun.stdout
    clean = subprocess.run(
        _ingest_cmd(DEMO), env=_env(tmp_path / "clean"), capture_output=True, text=True
    )
    assert clean.returncode == 0, clean.stderr

    snapshots = []
    for home in (crashed, tmp_path / "clean"):
        container = Container(load_settings(home))
        snapshots.append(_snapshot(container))
        assert container.store.count() == len(snapshots[-1])
    DirectoryLock.release_all()
    assert snapshots[0] == snapshots[1]
    assert len(snapshots[0]) > 300
