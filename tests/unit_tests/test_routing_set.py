"""The routing evaluation set: well-formed, consistent with the demo org and the contract's
access rule (section 2), and big and varied enough to be worth benchmarking on."""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from perfagent.agent.routing_set import (
    RoutingCase,
    RoutingSetError,
    default_path,
    load_routing_set,
)
from perfagent.periods import parse_period
from perfagent.tools.agent_tools import DEFAULT_DIMENSIONS

ORG_CSV = Path(__file__).resolve().parents[2] / "data" / "demo" / "org.csv"


@pytest.fixture(scope="module")
def org() -> dict[str, dict[str, str]]:
    with ORG_CSV.open(encoding="utf-8", newline="") as f:
        return {row["employee_id"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def cases() -> list[RoutingCase]:
    return load_routing_set()


def _below(org: dict[str, dict[str, str]], manager: str) -> set[str]:
    """Everyone under `manager` in the tree, transitively (not `manager` themself)."""
    found: set[str] = set()
    frontier = {manager}
    while frontier:
        frontier = {e for e, row in org.items() if row["manager_id"] in frontier} - found
        found |= frontier
    return found


def _may_see(org: dict[str, dict[str, str]], viewer: str, subject: str) -> bool:
    if org[viewer]["role"] == "hr":
        return True
    return subject == viewer or subject in _below(org, viewer)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def test_bundled_file_loads_and_ids_are_unique(cases: list[RoutingCase]) -> None:
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids))
    assert default_path().is_file()
    train, test = load_routing_set(split="train"), load_routing_set(split="test")
    assert len(train) + len(test) == len(cases)
    assert {c.split for c in train} == {"train"} and {c.split for c in test} == {"test"}


def test_every_person_is_in_the_org(cases: list[RoutingCase], org: dict) -> None:
    for c in cases:
        assert c.viewer in org, c.id
        e = c.expect
        named = [e.call.employee] if e.call else list(e.candidates)
        if e.about:
            named.append(e.about)
        for emp in named:
            assert emp in org, (c.id, emp)


def test_refusals_are_refusals_under_the_contract(cases: list[RoutingCase], org: dict) -> None:
    for c in cases:
        if c.expect.kind == "refuse":
            assert c.expect.about, f"{c.id}: a refusal names whom it is about"
            assert not _may_see(org, c.viewer, c.expect.about), c.id


def test_tool_cases_are_allowed(cases: list[RoutingCase], org: dict) -> None:
    for c in cases:
        call = c.expect.call
        if call is None:
            continue
        if call.tool == "draft_feedback" and call.kind == "peer":
            # Peer feedback is written *to* a colleague from the writer's own documents, so it
            # needs no right to read theirs (tools/agent_tools.py, resolve_colleague).
            assert call.employee != c.viewer, c.id
        elif call.tool == "draft_feedback" and call.kind == "self":
            assert call.employee == c.viewer, c.id
        elif call.tool == "draft_feedback":
            assert call.kind == "manager"
            assert call.employee in _below(org, c.viewer), c.id
        else:
            assert _may_see(org, c.viewer, call.employee), c.id


def test_clarify_candidates_are_visible_and_share_the_name(
    cases: list[RoutingCase], org: dict
) -> None:
    for c in cases:
        if c.expect.kind != "clarify":
            continue
        firsts = {_fold(org[e]["name"]).split()[0] for e in c.expect.candidates}
        assert len(firsts) == 1, c.id
        (first,) = firsts
        assert re.search(rf"\b{first}\b", _fold(c.question)), c.id
        assert all(_may_see(org, c.viewer, e) for e in c.expect.candidates), c.id
        # the list is complete: every visible person of that name is a candidate
        same = {
            e
            for e, row in org.items()
            if _fold(row["name"]).split()[0] == first and _may_see(org, c.viewer, e)
        }
        assert same == set(c.expect.candidates), c.id


def test_periods_dimensions_and_doc_types_are_valid(cases: list[RoutingCase]) -> None:
    for c in cases:
        call = c.expect.call
        if call is None:
            continue
        if call.period is not None:
            assert parse_period(call.period).label == call.period, c.id
            assert parse_period(call.period).start <= c.today, c.id
        for dim in call.dimensions or ():
            assert dim in DEFAULT_DIMENSIONS, (c.id, dim)
        if call.tool == "retrieve_documents":
            assert call.query_terms and 1 <= len(call.query_terms) <= 3, c.id
        else:
            assert call.query_terms is None and call.doc_types is None, c.id


def _quarter(day: date, back: int = 0) -> str:
    q = (day.year * 4 + (day.month - 1) // 3) - back
    return f"{q // 4}-Q{q % 4 + 1}"


def test_relative_periods_resolve_against_today(cases: list[RoutingCase]) -> None:
    checked = 0
    for c in cases:
        call, q = c.expect.call, c.question.lower()
        if call is None:
            continue
        expected = None
        if "last quarter" in q:
            expected = _quarter(c.today, 1)
        elif "this quarter" in q:
            expected = _quarter(c.today)
        elif "since june" in q:
            expected = f"{c.today.year}-06-01..{c.today.isoformat()}"
        elif "last six months" in q:
            start = c.today.replace(month=c.today.month - 6)
            expected = f"{start.isoformat()}..{c.today.isoformat()}"
        elif "last month" in q:
            expected = f"{c.today.year}-{c.today.month - 1:02d}"
        elif "between may and july" in q:
            expected = f"{c.today.year}-05-01..{c.today.year}-07-31"
        elif "this year" in q or "so far this year" in q:
            expected = str(c.today.year)
        if expected is not None:
            assert call.period == expected, (c.id, call.period, expected)
            checked += 1
    assert checked >= 40


def test_draft_kinds(cases: list[RoutingCase]) -> None:
    kinds = Counter(c.expect.call.kind for c in cases if c.expect.call and c.expect.call.kind)
    assert set(kinds) == {"manager", "self", "peer"}
    for c in cases:
        call = c.expect.call
        if call and call.tool == "draft_feedback":
            assert (call.kind == "self") == (call.employee == c.viewer), c.id


def test_size_and_mix(cases: list[RoutingCase]) -> None:
    kinds = Counter(c.expect.kind for c in cases)
    tools = Counter(c.expect.call.tool for c in cases if c.expect.call)
    tags = Counter(t for c in cases for t in c.tags)
    assert len(cases) >= 180
    assert kinds["refuse"] >= 25 and kinds["clarify"] >= 10
    assert tags["injection"] >= 10
    assert tags["typo"] >= 5 and tags["self"] >= 20
    n_tools = sum(tools.values())
    assert 0.30 <= tools["score_dimensions"] / n_tools <= 0.50
    assert 0.20 <= tools["retrieve_documents"] / n_tools <= 0.40
    assert 0.20 <= tools["draft_feedback"] / n_tools <= 0.40
    assert len({c.viewer for c in cases}) >= 15


def test_split_ratio_and_balance(cases: list[RoutingCase]) -> None:
    assert 0.60 <= sum(c.split == "train" for c in cases) / len(cases) <= 0.80
    by_kind: dict[str, Counter[str]] = {}
    for c in cases:
        key = c.expect.call.tool if c.expect.call else c.expect.kind
        by_kind.setdefault(key, Counter())[c.split] += 1
    for key, counts in by_kind.items():
        assert counts["test"] >= 3 and counts["train"] > counts["test"], key


def _case(**overrides: object) -> str:
    obj: dict[str, object] = {
        "id": "r001",
        "split": "train",
        "as": "E003",
        "today": "2026-10-05",
        "question": "Score Sofia for Q3",
        "expect": {
            "kind": "tool",
            "tool": "score_dimensions",
            "args": {"employee": "E008", "period": "2026-Q3"},
        },
    }
    obj.update(overrides)
    return json.dumps(obj)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("{not json", "not JSON"),
        (_case(split="dev"), "split"),
        (_case(expect={"kind": "tool", "tool": "nope", "args": {}}), "unknown tool"),
        (
            _case(
                expect={
                    "kind": "tool",
                    "tool": "score_dimensions",
                    "args": {"employee": "E008", "period": "last quarter"},
                }
            ),
            "period",
        ),
        (_case(expect={"kind": "clarify", "candidates": ["E020"]}), "clarify"),
        (_case(**{"as": "Dana"}), "employee id"),
    ],
)
def test_bad_lines_are_reported_with_their_line(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(_case(id="r000") + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(RoutingSetError) as info:
        load_routing_set(path)
    message = str(info.value)
    assert f"{path}:2:" in message and reason in message and "\n" not in message


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(_case() + "\n" + _case() + "\n", encoding="utf-8")
    with pytest.raises(RoutingSetError, match=r":2: duplicate id r001"):
        load_routing_set(path)
