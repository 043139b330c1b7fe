"""Run the real `perfagent` command line in a subprocess, against a given home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PERFAGENT_HOME": str(home)}
    env.pop("PERFAGENT_CHROMA_URL", None)  # always the embedded store in `home`
    return subprocess.run(
        [sys.executable, "-m", "perfagent.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=REPO,
    )


def ingest_with_cli(home: Path, source: Path | str) -> Path:
    """`perfagent ingest SOURCE` into `home`, which must load every document."""
    result = run_cli(home, "ingest", str(source), "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "0 skipped" in result.stdout
    return home


def one_json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The one JSON object a successful `--json` command printed."""
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, "--json prints exactly one JSON object"
    obj = json.loads(lines[0])
    assert isinstance(obj, dict)
    return obj
