"""AccessPolicy on the demo org: filters, refusals, and the author label peers get."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from perfagent.errors import BadInputError, PermissionRefusal
from perfagent.ingest.documents import audience_key
from perfagent.org import OrgChart
from perfagent.periods import parse_period
from perfagent.retrieval.access import PEER_LABEL, AccessPolicy, Viewer

REPO_ROOT = Path(__file__).resolve().parents[2]

HR = "E001"
DIRECTOR = "E002"  # manages everyone but HR
MANAGER = "E003"  # Payments: E006..E012
SUB_LEAD = "E006"  # Billing, reports to E003: E010, E011, E012
IC = "E014"  # Platform, reports to E004
PEER = "E013"  # also reports to E004

OWN_DEFAULT = {"audience": IC}


@pytest.fixture(scope="module")
def org() -> OrgChart:
    return OrgChart.load(REPO_ROOT / "data" / "demo" / "org.csv")


@pytest.fixture(scope="module")
def policy(org: OrgChart) -> AccessPolicy:
    return AccessPolicy(org)


def matches(where: dict[str, Any] | None, meta: dict[str, Any]) -> bool:
    """Evaluate a Chroma `where` filter against one metadata dict (the operators used here)."""
    if where is None:
        return True
    ((key, condition),) = where.items()
    if key == "$and":
        return all(matches(c, meta) for c in condition)
    if key == "$or":
        return any(matches(c, meta) for c in condition)
    value = meta.get(key)
    if not isinstance(condition, dict):
        return value == condition
    ((op, operand),) = condition.items()
    if op == "$eq":
        return value == operand
    if op == "$ne":
        return value != operand
    if op == "$in":
        return value in operand
    if op == "$gte":
        return value is not None and value >= operand
    if op == "$lte":
        return value is not None and value <= operand
    raise AssertionError(f"unexpected operator {op}")


def meta(
    employee_id: str,
    *,
    author_id: str | None = None,
    doc_type: str = "weekly_report",
    visibility: str = "default",
    date_int: int = 20260801,
) -> dict[str, Any]:
    return {
        "employee_id": employee_id,
        "author_id": author_id or employee_id,
        "doc_type": doc_type,
        "visibility": visibility,
        "audience": audience_key(employee_id, visibility),
        "date_int": date_int,
    }


# --- viewers ----------------------------------------------------------------------------------


def test_viewers_know_whom_they_manage(policy: AccessPolicy) -> None:
    assert policy.viewer(HR).is_hr
    assert policy.viewer(HR).managed is None
    assert policy.viewer(IC).managed == frozenset()
    assert policy.viewer(SUB_LEAD).managed == {"E010", "E011", "E012"}
    assert policy.viewer(MANAGER).managed == {f"E{n:03d}" for n in range(6, 13)}
    assert not policy.viewer(DIRECTOR).is_hr
    assert policy.viewer(DIRECTOR).managed == {f"E{n:03d}" for n in range(3, 25)}


def test_unknown_viewer_is_bad_input(policy: AccessPolicy) -> None:
    with pytest.raises(BadInputError, match="E999"):
        policy.viewer("E999")


# --- where filters ----------------------------------------------------------------------------


def test_employee_filter_is_own_documents_without_management_ones(policy: AccessPolicy) -> None:
    assert policy.where_filter(policy.viewer(IC)) == OWN_DEFAULT


def test_manager_filter_adds_the_whole_subtree(policy: AccessPolicy) -> None:
    where = policy.where_filter(policy.viewer(MANAGER))
    own = {"audience": MANAGER}
    subtree = sorted(f"E{n:03d}" for n in range(6, 13))
    assert where == {"$or": [own, {"employee_id": {"$in": subtree}}]}
    # Transitive: E010 reports to E006, who reports to E003.
    assert "E010" in where["$or"][1]["employee_id"]["$in"]


def test_sub_lead_filter_is_only_their_own_team(policy: AccessPolicy) -> None:
    where = policy.where_filter(policy.viewer(SUB_LEAD))
    assert where is not None
    assert where["$or"][1] == {"employee_id": {"$in": ["E010", "E011", "E012"]}}
    assert where["$or"][0] == {"audience": SUB_LEAD}


def test_hr_filter_has_no_access_clause(policy: AccessPolicy) -> None:
    hr = policy.viewer(HR)
    assert policy.where_filter(hr) is None
    assert policy.where_filter(hr, employee_id=IC) == {"employee_id": IC}


def test_filters_combine_subject_types_and_period(policy: AccessPolicy) -> None:
    where = policy.where_filter(
        policy.viewer(MANAGER),
        employee_id="E010",
        doc_types=["peer_feedback", "manager_note"],
        period=parse_period("2026-Q3"),
    )
    assert where is not None
    clauses = where["$and"]
    assert clauses[0]["$or"][0] == {"audience": MANAGER}  # the access clause stays
    assert clauses[1:] == [
        {"employee_id": "E010"},
        {"doc_type": {"$in": ["peer_feedback", "manager_note"]}},
        {"date_int": {"$gte": 20260701}},
        {"date_int": {"$lte": 20260930}},
    ]


def test_hr_filter_with_only_a_period(policy: AccessPolicy) -> None:
    where = policy.where_filter(policy.viewer(HR), period=parse_period("2026-07"))
    assert where == {"$and": [{"date_int": {"$gte": 20260701}}, {"date_int": {"$lte": 20260731}}]}


def test_empty_doc_types_add_no_clause(policy: AccessPolicy) -> None:
    assert policy.where_filter(policy.viewer(IC), doc_types=[]) == OWN_DEFAULT


# --- refusals ---------------------------------------------------------------------------------


def test_employee_asking_about_a_peer_is_refused(policy: AccessPolicy) -> None:
    viewer = policy.viewer(IC)
    with pytest.raises(PermissionRefusal):
        policy.check_subject(viewer, PEER)
    with pytest.raises(PermissionRefusal):
        policy.where_filter(viewer, employee_id=PEER)
    with pytest.raises(PermissionRefusal):
        policy.check_subject(viewer, "E004")  # nor about their own manager
    policy.check_subject(viewer, IC)  # about themself: allowed


def test_manager_asking_outside_their_tree_is_refused(policy: AccessPolicy) -> None:
    viewer = policy.viewer(SUB_LEAD)
    for outside in ["E007", MANAGER, "E013", HR]:
        with pytest.raises(PermissionRefusal):
            policy.check_subject(viewer, outside)
    for inside in ["E010", "E011", "E012", SUB_LEAD]:
        policy.check_subject(viewer, inside)


def test_manager_may_ask_about_anyone_below_them(policy: AccessPolicy) -> None:
    viewer = policy.viewer(MANAGER)
    for report in ["E006", "E007", "E010", "E012"]:
        policy.check_subject(viewer, report)
        assert policy.where_filter(viewer, employee_id=report) is not None
    with pytest.raises(PermissionRefusal):
        policy.check_subject(viewer, "E004")  # a fellow manager


def test_hr_may_ask_about_anyone(policy: AccessPolicy, org: OrgChart) -> None:
    viewer = policy.viewer(HR)
    for person in org:
        policy.check_subject(viewer, person.employee_id)


def test_refusal_reveals_nothing_about_the_person(policy: AccessPolicy) -> None:
    viewer = policy.viewer(IC)
    messages = []
    for subject in [PEER, "E999"]:  # a real colleague with documents, and no one at all
        with pytest.raises(PermissionRefusal) as info:
            policy.check_subject(viewer, subject)
        messages.append(str(info.value).replace(subject, "<id>"))
        assert info.value.exit_code == 3
    assert messages[0] == messages[1]


# --- Viewer.may_see and the filter agree ------------------------------------------------------


@pytest.mark.parametrize(
    ("viewer_id", "doc", "visible"),
    [
        (IC, meta(IC), True),
        (IC, meta(IC, author_id="E004", doc_type="manager_note"), True),
        (IC, meta(IC, author_id="E004", visibility="management"), False),
        (IC, meta(PEER), False),
        (IC, meta("E004"), False),
        ("E004", meta(IC, visibility="management"), True),
        ("E004", meta("E004", visibility="management"), False),  # about themself: hidden
        ("E004", meta("E004"), True),
        (MANAGER, meta("E010", visibility="management"), True),
        (MANAGER, meta("E013"), False),
        (SUB_LEAD, meta("E011"), True),
        (SUB_LEAD, meta("E007"), False),
        (SUB_LEAD, meta(MANAGER), False),
        (HR, meta(IC, visibility="management"), True),
        (HR, meta(HR, visibility="management"), True),
    ],
)
def test_may_see_follows_the_contract(
    policy: AccessPolicy, viewer_id: str, doc: dict[str, Any], visible: bool
) -> None:
    viewer = policy.viewer(viewer_id)
    assert viewer.may_see(doc) is visible
    assert matches(policy.where_filter(viewer), doc) is visible


def test_may_see_and_where_filter_agree_for_every_viewer(
    policy: AccessPolicy, org: OrgChart
) -> None:
    docs = [
        meta(subject, visibility=visibility)
        for subject, visibility in itertools.product(
            [p.employee_id for p in org], ["default", "management"]
        )
    ]
    for person in org:
        viewer = policy.viewer(person.employee_id)
        visible = {(d["employee_id"], d["visibility"]) for d in docs if viewer.may_see(d)}
        filtered = {
            (d["employee_id"], d["visibility"])
            for d in docs
            if matches(policy.where_filter(viewer), d)
        }
        assert visible == filtered, person.employee_id
        # And both equal the contract, derived from the tree here.
        if person.role == "hr":
            expected = {(d["employee_id"], d["visibility"]) for d in docs}
        else:
            below = org.subtree(person.employee_id)
            expected = {(pid, v) for pid in below for v in ("default", "management")}
            expected.add((person.employee_id, "default"))
        assert visible == expected, person.employee_id


def test_a_subject_filter_never_widens_access(policy: AccessPolicy) -> None:
    viewer = policy.viewer(MANAGER)
    where = policy.where_filter(viewer, employee_id=MANAGER)
    assert not matches(where, meta(MANAGER, visibility="management"))
    assert matches(where, meta(MANAGER))
    assert not matches(where, meta("E010"))  # narrowed to the subject asked about


def test_may_see_subject(policy: AccessPolicy) -> None:
    assert policy.viewer(IC).may_see_subject(IC)
    assert not policy.viewer(IC).may_see_subject(PEER)
    assert policy.viewer(MANAGER).may_see_subject("E011")
    assert policy.viewer(HR).may_see_subject("E999")


# --- author labels ----------------------------------------------------------------------------


def test_peer_author_is_anonymous_to_the_subject(policy: AccessPolicy, org: OrgChart) -> None:
    doc = meta(IC, author_id=PEER, doc_type="peer_feedback")
    assert policy.viewer(IC).author_label(doc, org) == PEER_LABEL == "a peer"


def test_peer_author_is_named_to_others(policy: AccessPolicy, org: OrgChart) -> None:
    doc = meta(IC, author_id=PEER, doc_type="peer_feedback")
    assert policy.viewer("E004").author_label(doc, org) == "Olivia Grant"
    assert policy.viewer(HR).author_label(doc, org) == "Olivia Grant"
    assert policy.viewer(DIRECTOR).author_label(doc, org) == "Olivia Grant"


def test_other_document_types_name_their_author(policy: AccessPolicy, org: OrgChart) -> None:
    viewer = policy.viewer(IC)
    note = meta(IC, author_id="E004", doc_type="manager_note")
    assert viewer.author_label(note, org) == "Tomás Alvarez"
    recognition = meta(IC, author_id=PEER, doc_type="recognition")
    assert viewer.author_label(recognition, org) == "Olivia Grant"


def test_self_written_peer_feedback_keeps_the_name(policy: AccessPolicy, org: OrgChart) -> None:
    doc = meta(IC, author_id=IC, doc_type="peer_feedback")
    assert policy.viewer(IC).author_label(doc, org) == "Ravi Shankar"


def test_unknown_author_falls_back_to_the_id(policy: AccessPolicy, org: OrgChart) -> None:
    doc = meta(IC, author_id="X123", doc_type="weekly_report")
    assert policy.viewer(HR).author_label(doc, org) == "X123"


def test_viewer_is_a_frozen_value(policy: AccessPolicy) -> None:
    viewer = policy.viewer(IC)
    assert isinstance(viewer, Viewer)
    assert viewer.employee_id == IC
    with pytest.raises(AttributeError):
        viewer.managed = None  # type: ignore[misc]
