"""The routing evaluation set: questions with the tool call (or refusal, or clarification) a
correct agent turn makes.

Each line of `data/routing/questions.jsonl` is one case (see `data/routing/README.md`)::

    {"id": "r001", "split": "test", "as": "E003", "today": "2026-10-05",
     "question": "Score Michael Brennan for Q3.",
     "expect": {"kind": "tool", "tool": "score_dimensions",
                "args": {"employee": "E007", "period": "2026-Q3"}},
     "tags": ["full_name"]}

`load_routing_set()` reads and validates the bundled file (or another path) into frozen
`RoutingCase`s; a malformed line raises `RoutingSetError` with a one-line message naming the file
and line. Fine-tuning trains on `split="train"` only; the routing benchmark reports on `"test"`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

from perfagent.errors import BadInputError
from perfagent.ingest.documents import DOC_TYPES
from perfagent.periods import parse_period
from perfagent.tools.drafting import DRAFT_KINDS

Split = Literal["train", "test"]
ExpectKind = Literal["tool", "refuse", "clarify"]

SPLITS: tuple[str, ...] = ("train", "test")
TOOL_NAMES: tuple[str, ...] = ("retrieve_documents", "score_dimensions", "draft_feedback")

_ID_RE = re.compile(r"r\d{3,}")
_EMPLOYEE_RE = re.compile(r"E\d{3,}")
_CASE_KEYS = frozenset({"id", "split", "as", "today", "question", "expect", "tags"})
_ARG_KEYS = {
    "retrieve_documents": (
        frozenset({"employee", "query_terms"}),
        frozenset({"period", "doc_types"}),
    ),
    "score_dimensions": (frozenset({"employee"}), frozenset({"period", "dimensions"})),
    "draft_feedback": (frozenset({"employee", "kind"}), frozenset({"period", "dimensions"})),
}


class RoutingSetError(ValueError):
    """A line of the routing set breaks the format; the message names the file and line."""


@dataclass(frozen=True)
class ExpectedCall:
    """What a correct tool call must contain, after resolving names and periods.

    `query_terms` (retrieve_documents only): words a good `query` contains, compared
    case-insensitively with hyphens read as spaces. `None` fields must be absent from the call
    (or, for `doc_types` and `dimensions`, may be left out by it).
    """

    tool: str
    employee: str
    period: str | None = None
    dimensions: tuple[str, ...] | None = None
    kind: str | None = None
    doc_types: tuple[str, ...] | None = None
    query_terms: tuple[str, ...] | None = None

    def as_args(self) -> dict[str, Any]:
        """The expectation as the JSON `args` object it was read from."""
        args: dict[str, Any] = {"employee": self.employee}
        for name in ("kind", "query_terms", "period", "dimensions", "doc_types"):
            value = getattr(self, name)
            if value is not None:
                args[name] = list(value) if isinstance(value, tuple) else value
        return args


@dataclass(frozen=True)
class Expectation:
    kind: ExpectKind
    call: ExpectedCall | None = None  # kind == "tool"
    candidates: tuple[str, ...] = ()  # kind == "clarify": the employee ids to choose between
    about: str | None = None  # kind == "refuse": whom the refused request is about (optional)


@dataclass(frozen=True)
class RoutingCase:
    id: str
    split: Split
    viewer: str  # the "as" field: the signed-in employee id
    today: date
    question: str
    expect: Expectation
    tags: tuple[str, ...] = field(default=())


def default_path() -> Traversable:
    """The bundled routing set."""
    return resources.files("perfagent.data") / "routing" / "questions.jsonl"


def load_routing_set(
    path: str | Path | Traversable | None = None, split: str | None = None
) -> list[RoutingCase]:
    """The cases in `path` (default: the bundled set), only those of `split` when given."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
    source = default_path() if path is None else Path(path) if isinstance(path, str) else path
    name = str(source)
    text = source.read_text(encoding="utf-8")
    cases: list[RoutingCase] = []
    seen: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            case = _parse_case(line)
            if case.id in seen:
                raise ValueError(f"duplicate id {case.id}")
        except (ValueError, TypeError, KeyError, BadInputError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise RoutingSetError(f"{name}:{lineno}: {reason}") from None
        seen.add(case.id)
        if split is None or case.split == split:
            cases.append(case)
    return cases


def _parse_case(line: str) -> RoutingCase:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    missing = {"id", "split", "as", "today", "question", "expect"} - obj.keys()
    if missing:
        raise ValueError(f"missing {', '.join(sorted(missing))}")
    extra = obj.keys() - _CASE_KEYS
    if extra:
        raise ValueError(f"unknown field {', '.join(sorted(extra))}")
    case_id = _str(obj, "id")
    if not _ID_RE.fullmatch(case_id):
        raise ValueError(f"id {case_id!r} is not like 'r001'")
    split = _str(obj, "split")
    if split not in SPLITS:
        raise ValueError(f"split {split!r} is not train or test")
    viewer = _employee(obj["as"], "as")
    today = date.fromisoformat(_str(obj, "today"))
    question = _str(obj, "question")
    if not question.strip():
        raise ValueError("empty question")
    tags = obj.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise ValueError("tags must be a list of strings")
    return RoutingCase(
        id=case_id,
        split=split,  # type: ignore[arg-type]
        viewer=viewer,
        today=today,
        question=question,
        expect=_parse_expect(obj["expect"]),
        tags=tuple(tags),
    )


def _parse_expect(exp: Any) -> Expectation:
    if not isinstance(exp, dict):
        raise ValueError("expect is not an object")
    kind = exp.get("kind")
    if kind == "refuse":
        _only(exp, {"kind", "about"}, "expect")
        about = exp.get("about")
        return Expectation("refuse", about=None if about is None else _employee(about, "about"))
    if kind == "clarify":
        _only(exp, {"kind", "candidates"}, "expect")
        cands = exp.get("candidates")
        if not isinstance(cands, list) or len(cands) < 2:
            raise ValueError("clarify needs at least two candidates")
        ids = tuple(_employee(c, "candidates") for c in cands)
        if len(set(ids)) != len(ids):
            raise ValueError("clarify candidates repeat")
        return Expectation("clarify", candidates=ids)
    if kind != "tool":
        raise ValueError(f"expect.kind {kind!r} is not tool, refuse or clarify")
    _only(exp, {"kind", "tool", "args"}, "expect")
    tool = exp.get("tool")
    if tool not in TOOL_NAMES:
        raise ValueError(f"unknown tool {tool!r}")
    args = exp.get("args")
    if not isinstance(args, dict):
        raise ValueError("expect.args is not an object")
    required, optional = _ARG_KEYS[tool]
    if missing := required - args.keys():
        raise ValueError(f"{tool} args miss {', '.join(sorted(missing))}")
    _only(args, required | optional, f"{tool} args")
    period = args.get("period")
    if period is not None:
        if not isinstance(period, str):
            raise ValueError("period is not a string")
        if parse_period(period).label != period:
            raise ValueError(f"period {period!r} is not in canonical form")
    kind_arg = args.get("kind")
    if tool == "draft_feedback" and kind_arg not in DRAFT_KINDS:
        raise ValueError(f"draft kind {kind_arg!r} is not manager, self or peer")
    doc_types = _str_list(args, "doc_types")
    if doc_types and (bad := [d for d in doc_types if d not in DOC_TYPES]):
        raise ValueError(f"unknown doc_type {bad[0]!r}")
    terms = _str_list(args, "query_terms")
    if tool == "retrieve_documents" and not (terms and 1 <= len(terms) <= 3):
        raise ValueError("query_terms must hold 1 to 3 words")
    call = ExpectedCall(
        tool=tool,
        employee=_employee(args["employee"], "employee"),
        period=period,
        dimensions=_str_list(args, "dimensions"),
        kind=kind_arg,
        doc_types=doc_types,
        query_terms=terms,
    )
    return Expectation("tool", call=call)


def _only(obj: dict[str, Any], allowed: set[str] | frozenset[str], where: str) -> None:
    if extra := obj.keys() - allowed:
        raise ValueError(f"unknown field in {where}: {', '.join(sorted(extra))}")


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj[key]
    if not isinstance(value, str):
        raise ValueError(f"{key} is not a string")
    return value


def _employee(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _EMPLOYEE_RE.fullmatch(value):
        raise ValueError(f"{where}: {value!r} is not an employee id")
    return value


def _str_list(obj: dict[str, Any], key: str) -> tuple[str, ...] | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key} must be a non-empty list of strings")
    return tuple(value)


# --- judging a call against an expectation -------------------------------------------------------


def _norm_text(text: str) -> str:
    return " ".join(text.casefold().replace("-", " ").split())


def query_covers(query: str, terms: Sequence[str]) -> bool:
    """Whether a search `query` holds every one of `terms` (case and hyphens aside)."""
    norm = _norm_text(query)
    return all(_norm_text(t) in norm for t in terms)


def resolve_written(org: Any, viewer: Any, written: Any, kind: Any) -> tuple[str | None, str]:
    """The employee id `written` means, resolved as the tool would, or (None, why not)."""
    from perfagent.errors import PermissionRefusal
    from perfagent.retrieval.people import (
        AmbiguousPersonError,
        UnknownPersonError,
        resolve_person,
    )
    from perfagent.tools.agent_tools import resolve_colleague

    if not isinstance(written, str) or not written.strip():
        return None, "no employee"
    resolve = resolve_colleague if kind == "peer" else resolve_person
    try:
        return resolve(org, viewer, written).employee_id, ""
    except AmbiguousPersonError:
        return None, "ambiguous"
    except UnknownPersonError:
        return None, "unknown"
    except PermissionRefusal:
        return None, "refused"
    except BadInputError as exc:
        return None, str(exc)


def same_period(written: Any, expected: str | None) -> bool:
    """Whether a call's `period` is the expected one (by start and end; absent when None)."""
    if expected is None:
        return written is None or (isinstance(written, str) and not written.strip())
    if not isinstance(written, str):
        return False
    try:
        got = parse_period(written)
    except BadInputError:
        return False
    want = parse_period(expected)
    return (got.start, got.end) == (want.start, want.end)


def _as_set(values: Any) -> set[str] | None:
    if not values:
        return None
    if not isinstance(values, list):
        return {"<not a list>"}
    return {str(v).strip().casefold() for v in values}


def compare_call(
    org: Any,
    viewer: Any,
    name: str | None,
    args: dict[str, Any],
    exp: ExpectedCall,
    *,
    resolve: bool = True,
) -> tuple[list[str], dict[str, Any]]:
    """(the expected fields the call got wrong, notes); [] is an exact match. The employee is
    resolved as the tool would (`resolve`), or must be the expected id as written."""
    if resolve:
        employee, why = resolve_written(org, viewer, args.get("employee"), args.get("kind"))
    else:
        employee, why = str(args.get("employee")), ""
    notes: dict[str, Any] = {"resolved": employee or why}
    if name != exp.tool:
        return ["tool"], notes
    wrong: list[str] = []
    if employee != exp.employee:
        wrong.append("employee")
    if not same_period(args.get("period"), exp.period):
        wrong.append("period")
    want_dims = {d.casefold() for d in exp.dimensions} if exp.dimensions else None
    if _as_set(args.get("dimensions")) != want_dims:
        wrong.append("dimensions")
    if exp.tool == "draft_feedback" and args.get("kind") != exp.kind:
        wrong.append("kind")
    if exp.doc_types is not None:
        if _as_set(args.get("doc_types")) != set(exp.doc_types):
            wrong.append("doc_types")
    elif args.get("doc_types"):
        notes["extra_doc_types"] = True
    if exp.query_terms is not None and not query_covers(
        str(args.get("query") or ""), exp.query_terms
    ):
        wrong.append("query")
    return wrong, notes


def expected_call(obj: dict[str, Any]) -> ExpectedCall:
    """An `expect` object of kind "tool" (the routing set's shape) as an `ExpectedCall`."""
    exp = _parse_expect(obj)
    if exp.call is None:
        raise RoutingSetError("not a tool expectation")
    return exp.call
