"""The `perfagent` command line (contract section 3): a thin layer over the services.

Exit codes: 0 ok, 2 bad input (one line on stderr), 3 permission refusal.
`--json` prints exactly one JSON object on stdout; progress and notes go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from perfagent.errors import BadInputError, PerfagentError
from perfagent.offline import configure_offline_env

configure_offline_env()  # before any Hugging Face library is imported


def _container(args: argparse.Namespace, *, writable: bool = False, purpose: str = ""):
    from perfagent.container import Container
    from perfagent.settings import load_settings

    return Container(load_settings(args.home), writable=writable, purpose=purpose)


def _emit_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def cmd_ingest(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.exists():
        raise BadInputError(f"{path}: no such file or directory")
    container = _container(args, writable=True, purpose=f"perfagent ingest {path}")
    org_file = Path(args.org) if args.org else None
    if org_file is None and path.is_dir() and (path / "org.csv").is_file():
        org_file = path / "org.csv"
    if org_file is not None:
        org = container.install_org(org_file)
        print(f"org: {len(org)} people from {org_file}", file=sys.stderr)
    report = container.ingestor().run(path, prune=args.prune, progress=not args.no_progress)
    if args.json:
        _emit_json(report.to_json())
    else:
        print(report.summary())
    return 0


def _parse_types(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


def cmd_search(args: argparse.Namespace) -> int:
    from perfagent.periods import parse_period

    container = _container(args)
    service = container.search_service
    viewer = service.policy.viewer(args.as_id)
    period = parse_period(args.period) if args.period else service.default_period()
    hits = service.search(
        viewer,
        args.query,
        employee_id=args.employee,
        doc_types=_parse_types(args.type),
        period=period,
        k=args.k,
    )
    if args.json:
        _emit_json({"results": [h.to_json() for h in hits]})
        return 0
    org = container.org
    print(f"{len(hits)} results for {viewer.person.name} ({viewer.employee_id}), period {period}")
    for i, hit in enumerate(hits, start=1):
        subject = org.people[hit.employee_id].name
        title = f" — {hit.title}" if hit.title else ""
        print(f"\n[{i}] {hit.date} {hit.doc_type} about {subject}, by {hit.author}{title}")
        print(f"    score {hit.score:.3f}  {hit.chunk_id}")
        print(textwrap.indent(textwrap.fill(hit.text, 96), "    "))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfagent", description="Evidence-based performance feedback, offline."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--home",
        help="data directory (default: $PERFAGENT_HOME, else the per-user data dir)",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", parents=[common], help="load documents into the store")
    p.add_argument("path", help="a directory (searched recursively) or one file")
    p.add_argument("--org", help="org.csv (default: PATH/org.csv if present, else the home's)")
    p.add_argument("--prune", action="store_true", help="remove documents no longer under PATH")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", parents=[common], help="permission-aware retrieval")
    p.add_argument("--as", dest="as_id", required=True, metavar="ID", help="the viewer")
    p.add_argument("query")
    p.add_argument("--employee", metavar="ID", help="only documents about this person")
    p.add_argument(
        "--type", action="append", metavar="T", help="doc_type filter (repeat or comma-separate)"
    )
    p.add_argument("--period", metavar="P", help="2026-Q3, 2026-H1, 2026, 2026-07 or A..B")
    p.add_argument("--k", type=int, default=None, help="number of results (default 8)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except PerfagentError as exc:
        print(f"perfagent: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("perfagent: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
