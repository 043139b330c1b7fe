"""Run the real `perfagent` command line in a subprocess, against a given home."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
