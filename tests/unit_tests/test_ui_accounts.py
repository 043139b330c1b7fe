"""Web UI sign-in: password hashes, the users file, sign-in names, demo accounts."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from perfagent.errors import BadInputError
from perfagent.org import OrgChart
from perfagent.ui.accounts import (
    SignIn,
    UserStore,
    find_person,
    hash_password,
    password_matches,
)

DEMO_ORG = Path(__file__).resolve().parents[2] / "data" / "demo" / "org.csv"


@pytest.fixture(scope="module")
def org() -> OrgChart:
    return OrgChart.load(DEMO_ORG)


def test_hashes_are_salted_and_check_only_the_right_password() -> None:
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second  # a fresh salt each time
    assert "correct horse" not in first
    assert password_matches("correct horse", first) and password_matches("correct horse", second)
    assert not password_matches("correct horsE", first)
    assert not password_matches("correct horse", "not-a-hash")
    assert not password_matches("correct horse", "md5$1$1$1$abc$def")


def test_the_users_file_adds_changes_and_removes_accounts(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "home" / "users.json")
    assert store.ids() == [] and not store.verify("E003", "whatever1")
    store.set_password("E003", "dana-password")
    store.set_password("E008", "sofia-password")
    assert store.ids() == ["E003", "E008"]
    assert store.verify("E003", "dana-password")
    assert not store.verify("E003", "sofia-password")
    store.set_password("E003", "a-new-password")
    assert not store.verify("E003", "dana-password") and store.verify("E003", "a-new-password")
    assert store.remove("E008") and not store.remove("E008")
    assert store.ids() == ["E003"]
    raw = (tmp_path / "home" / "users.json").read_text()
    assert "a-new-password" not in raw and json.loads(raw)["users"]["E003"].startswith("scrypt$")
    mode = stat.S_IMODE((tmp_path / "home" / "users.json").stat().st_mode)
    assert mode == 0o600
    assert not list((tmp_path / "home").glob("*.tmp"))


def test_short_passwords_and_broken_files_are_named(tmp_path: Path) -> None:
    store = UserStore(tmp_path / "users.json")
    with pytest.raises(BadInputError, match="shorter than 8"):
        store.set_password("E003", "short")
    (tmp_path / "users.json").write_text("[1, 2]")
    with pytest.raises(BadInputError, match=r"users\.json: not a users file"):
        store.ids()


def test_sign_in_names_are_ids_in_any_case_or_emails(org: OrgChart) -> None:
    assert find_person(org, "E003").name == "Dana Whitfield"  # type: ignore[union-attr]
    assert find_person(org, " e003 ").name == "Dana Whitfield"  # type: ignore[union-attr]
    dana = find_person(org, "Dana.Whitfield@lumenfreight.example")
    assert dana is not None and dana.employee_id == "E003"
    assert find_person(org, "Dana Whitfield") is None  # names are not unique: not a sign-in
    assert find_person(org, "") is None and find_person(org, "E999") is None


def test_demo_password_only_in_demo_mode(org: OrgChart, tmp_path: Path) -> None:
    users = UserStore(tmp_path / "users.json")
    users.set_password("E003", "dana-password")
    real = SignIn(org, users)
    assert real.check("E003", "dana-password") and real.check("e003", "dana-password")
    assert not real.check("E003", "perfagent-demo")
    assert not real.check("E008", "dana-password")  # someone else's password
    assert not real.check("E999", "dana-password") and not real.check("E003", "")
    demo = SignIn(org, users, demo_password="perfagent-demo")
    assert demo.check("E008", "perfagent-demo") and demo.check("E003", "dana-password")
    assert not demo.check("E008", "perfagent-dem0")


def test_demo_accounts_are_an_hr_partner_a_manager_and_an_engineer(org: OrgChart) -> None:
    accounts = SignIn(org, None, demo_password="x" * 8).demo_accounts()
    assert [a.role for a in accounts] == ["HR partner", "manager", "engineer"]
    hr, manager, engineer = (org.get(a.employee_id) for a in accounts)
    assert hr.role == "hr"
    assert org.direct_reports(manager.employee_id) and manager.role != "hr"
    assert engineer.role == "employee" and not org.direct_reports(engineer.employee_id)
