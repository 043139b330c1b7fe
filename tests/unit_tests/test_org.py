"""OrgChart: loading org.csv, the management tree, and every way a bad org file is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfagent.errors import BadInputError
from perfagent.org import OrgChart

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_ORG = REPO_ROOT / "data" / "demo" / "org.csv"

HEADER = "employee_id,name,email,title,team,manager_id,role,slack_user_id"


def _csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


@pytest.fixture(scope="module")
def demo_org() -> OrgChart:
    return OrgChart.from_csv_text(DEMO_ORG.read_text(encoding="utf-8-sig"), source="org.csv")


def test_demo_org_loads_everyone(demo_org: OrgChart) -> None:
    assert len(demo_org) == 24
    assert {p.employee_id for p in demo_org} == {f"E{n:03d}" for n in range(1, 25)}
    dana = demo_org.get("E003")
    assert dana.name == "Dana Whitfield"
    assert dana.role == "manager"
    assert dana.manager_id == "E002"
    assert dana.team == "Payments"
    assert dana.slack_user_id == "U07DWHITF03"
    assert dana.first_name == "Dana"
    # An empty manager_id is the top of the tree, stored as None.
    assert demo_org.get("E002").manager_id is None
    assert demo_org.get("E001").role == "hr"


def test_load_reads_a_file_with_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _csv("E1,Ann Lee,,,,,employee").encode())
    org = OrgChart.load(path)
    assert "E1" in org
    assert org.get("E1").name == "Ann Lee"


def test_load_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="not found"):
        OrgChart.load(tmp_path / "nope.csv")


def test_load_refuses_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "org.csv"
    path.write_bytes(_csv("E1,Ren\xe9 Roy,,,,,employee").encode("latin-1"))
    with pytest.raises(BadInputError, match="UTF-8"):
        OrgChart.load(path)


def test_get_unknown_id_is_bad_input(demo_org: OrgChart) -> None:
    with pytest.raises(BadInputError, match="E999"):
        demo_org.get("E999")
    assert "E999" not in demo_org


def test_subtree_is_transitive(demo_org: OrgChart) -> None:
    # E002 -> E003 -> E006 -> E010: E010 is two levels below E003 and three below E002.
    assert demo_org.chain_of_command("E010") == ["E006", "E003", "E002"]
    below_e002 = demo_org.subtree("E002")
    assert "E010" in below_e002
    assert "E006" in below_e002
    assert below_e002 == {f"E{n:03d}" for n in range(3, 25)}
    assert "E002" not in below_e002  # not including themself
    assert "E001" not in below_e002  # HR sits outside the engineering tree


def test_subtree_of_a_middle_manager(demo_org: OrgChart) -> None:
    assert demo_org.subtree("E003") == {"E006", "E007", "E008", "E009", "E010", "E011", "E012"}
    assert demo_org.subtree("E006") == {"E010", "E011", "E012"}


def test_subtree_of_an_individual_contributor_is_empty(demo_org: OrgChart) -> None:
    assert demo_org.subtree("E014") == set()
    assert demo_org.subtree("E001") == set()


def test_direct_reports_are_only_one_level(demo_org: OrgChart) -> None:
    assert demo_org.direct_reports("E002") == ["E003", "E004", "E005"]
    assert demo_org.direct_reports("E003") == ["E006", "E007", "E008", "E009"]
    assert demo_org.direct_reports("E006") == ["E010", "E011", "E012"]
    assert demo_org.direct_reports("E010") == []


def test_direct_reports_returns_a_copy(demo_org: OrgChart) -> None:
    reports = demo_org.direct_reports("E006")
    reports.append("E999")
    assert demo_org.direct_reports("E006") == ["E010", "E011", "E012"]


def test_chain_of_command(demo_org: OrgChart) -> None:
    assert demo_org.chain_of_command("E014") == ["E004", "E002"]
    assert demo_org.chain_of_command("E003") == ["E002"]
    assert demo_org.chain_of_command("E002") == []
    assert demo_org.chain_of_command("E001") == []


def test_optional_columns_may_be_absent() -> None:
    org = OrgChart.from_csv_text(
        _csv(
            "E1,Ann Lee,,manager",
            "E2,Bo Park,E1,Employee",
            header="employee_id,name,manager_id,role",
        )
    )
    assert org.get("E2").role == "employee"  # role is case-insensitive
    assert org.get("E2").email == ""
    assert org.direct_reports("E1") == ["E2"]


def test_missing_column_is_named() -> None:
    text = _csv("E1,Ann Lee,,", header="employee_id,name,manager_id,title")
    with pytest.raises(BadInputError, match=r"missing column\(s\) role"):
        OrgChart.from_csv_text(text)


def test_several_missing_columns_are_all_named() -> None:
    with pytest.raises(BadInputError) as info:
        OrgChart.from_csv_text(_csv("E1,Ann Lee", header="employee_id,name"))
    assert "manager_id" in str(info.value)
    assert "role" in str(info.value)


def test_duplicate_id_is_named() -> None:
    text = _csv(
        "E1,Ann Lee,,,,,manager,", "E2,Bo Park,,,,E1,employee,", "E2,Cy Diaz,,,,E1,employee,"
    )
    with pytest.raises(BadInputError, match="duplicate employee_id E2") as info:
        OrgChart.from_csv_text(text, source="org.csv")
    assert "line 4" in str(info.value)
    assert str(info.value).startswith("org.csv")


def test_unknown_role_is_named() -> None:
    text = _csv("E1,Ann Lee,,,,,manager,", "E2,Bo Park,,,,E1,director,")
    with pytest.raises(BadInputError, match="role 'director' for E2") as info:
        OrgChart.from_csv_text(text)
    assert "employee, manager, hr" in str(info.value)


def test_empty_employee_id_is_named() -> None:
    with pytest.raises(BadInputError, match="empty employee_id"):
        OrgChart.from_csv_text(_csv(",Ann Lee,,,,,employee,"))


def test_empty_name_is_named() -> None:
    with pytest.raises(BadInputError, match="empty name for E1"):
        OrgChart.from_csv_text(_csv("E1,,,,,,employee,"))


def test_manager_that_is_not_a_person_is_named() -> None:
    text = _csv("E1,Ann Lee,,,,,manager,", "E2,Bo Park,,,,E77,employee,")
    with pytest.raises(BadInputError, match="manager_id E77 of E2 is not a person"):
        OrgChart.from_csv_text(text)


def test_management_cycle_is_refused() -> None:
    text = _csv(
        "E1,Ann Lee,,,,,manager,",
        "E2,Bo Park,,,,E4,manager,",
        "E3,Cy Diaz,,,,E2,manager,",
        "E4,Di Fox,,,,E3,manager,",
    )
    with pytest.raises(BadInputError, match="management cycle"):
        OrgChart.from_csv_text(text)


def test_self_management_is_a_cycle() -> None:
    with pytest.raises(BadInputError, match="management cycle through E1"):
        OrgChart.from_csv_text(_csv("E1,Ann Lee,,,,E1,manager,"))


def test_header_only_file_has_no_people() -> None:
    with pytest.raises(BadInputError, match="no people"):
        OrgChart.from_csv_text(_csv(), source="org.csv")


def test_empty_file_is_refused() -> None:
    with pytest.raises(BadInputError) as info:
        OrgChart.from_csv_text("", source="org.csv")
    message = str(info.value)
    assert message.startswith("org.csv")
    assert "employee_id" in message  # names the required columns it could not find
    assert "\n" not in message
