"""The same code against a real `chroma run` server, selected by PERFAGENT_CHROMA_URL."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "data" / "demo"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    chroma = Path(sys.executable).with_name("chroma")
    assert chroma.exists(), "the chromadb package ships the `chroma` command"
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("chroma run did not come up") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _cli(args: list[str], home: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PERFAGENT_HOME": str(home), "PERFAGENT_CHROMA_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "perfagent.cli", *args], env=env, capture_output=True, text=True
    )


@pytest.mark.server
def test_ingest_and_search_through_a_chroma_server(tmp_path: Path, chroma_server: str) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DEMO / "docs" / "billing", corpus / "billing")
    shutil.copy(DEMO / "org.csv", corpus / "org.csv")
    home = tmp_path / "home"

    first = _cli(["ingest", str(corpus), "--json"], home, chroma_server)
    assert first.returncode == 0, first.stderr
    loaded = json.loads(first.stdout)
    assert loaded["new"] > 30 and loaded["skipped"] == []
    assert not (home / "chroma").exists(), "with a server URL nothing is stored locally"

    again = json.loads(_cli(["ingest", str(corpus), "--json"], home, chroma_server).stdout)
    assert again["unchanged"] == loaded["new"] and again["chunks_written"] == 0

    # Two readers at once are fine with a server (the embedded store would refuse a writer).
    kenji = _cli(["search", "--as", "E006", "invoice bug", "--json"], home, chroma_server)
    liam = _cli(["search", "--as", "E010", "invoice bug", "--json"], home, chroma_server)
    assert kenji.returncode == 0 and liam.returncode == 0, kenji.stderr + liam.stderr
    kenji_hits = json.loads(kenji.stdout)["results"]
    liam_hits = json.loads(liam.stdout)["results"]
    assert {h["employee_id"] for h in kenji_hits} <= {"E006", "E010", "E011", "E012"}
    assert len({h["employee_id"] for h in kenji_hits}) > 1
    assert liam_hits and {h["employee_id"] for h in liam_hits} == {"E010"}


def test_unreachable_server_is_a_one_line_error(tmp_path: Path, demo_dir: Path) -> None:
    shutil.copy(demo_dir / "org.csv", tmp_path / "org.csv")
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(demo_dir / "org.csv", home / "org.csv")
    result = _cli(["search", "--as", "E003", "anything"], home, f"http://127.0.0.1:{_free_port()}")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Chroma server" in lines[0]
