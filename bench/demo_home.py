"""What the server benchmarks share: a home with the demo ingested, and percentiles."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo"


@contextmanager
def demo_container(home: str | None, purpose: str) -> Iterator[Any]:
    """A writable Container over `home` (default: a temporary one, removed afterwards) holding
    the demo organisation, ingested on first use."""
    from perfagent.container import Container
    from perfagent.settings import load_settings

    path = Path(home) if home else Path(tempfile.mkdtemp(prefix="perfagent-bench-"))
    try:
        container = Container(load_settings(path), writable=True, purpose=purpose)
        if not container.settings.org_file.is_file():
            print("ingesting the demo ...", file=sys.stderr)
            container.install_org(DEMO / "org.csv")
            container.ingestor().run(DEMO, progress=False)
        yield container
    finally:
        if not home:
            shutil.rmtree(path, ignore_errors=True)


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, `q` in 0..1 (nan for no values)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)
