"""resolve_person: ids, "me", names, typos and ambiguity, always within what the viewer may see."""

from __future__ import annotations

import gc
import pickle
from pathlib import Path

import pytest

from perfagent.errors import BadInputError, PermissionRefusal
from perfagent.org import OrgChart
from perfagent.retrieval import people as people_module
from perfagent.retrieval.access import AccessPolicy
from perfagent.retrieval.people import (
    AmbiguousPersonError,
    Candidate,
    UnknownPersonError,
    normalise,
    resolve_person,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

HR = "E001"  # Priya Raman: everyone
DIRECTOR = "E002"  # Marcus Okafor: everyone but HR
DANA = "E003"  # Payments manager: E006..E012
GRACE = "E005"  # Mobile manager: E018..E022, E024 (both Alexes)
KENJI = "E006"  # Billing lead under Dana: E010, E011, E012
IC = "E007"  # Michael Brennan: only himself
ALL_VIEWERS = (HR, DIRECTOR, DANA, GRACE, KENJI, IC)

ALEXES_MESSAGE = (
    "'Alex' matches several people: Alex Novak (E020, Product Designer, Mobile), "
    "Alex Park (E021, Mobile Engineer, Mobile); say which"
)


@pytest.fixture(scope="module")
def org() -> OrgChart:
    return OrgChart.load(REPO_ROOT / "data" / "demo" / "org.csv")


@pytest.fixture(scope="module")
def policy(org: OrgChart) -> AccessPolicy:
    return AccessPolicy(org)


def resolve(org: OrgChart, policy: AccessPolicy, viewer_id: str, query: str) -> str:
    return resolve_person(org, policy.viewer(viewer_id), query).employee_id


def small_org(*people: tuple[str, str, str, str]) -> tuple[OrgChart, AccessPolicy]:
    """An org from (id, name, manager_id, role) rows, with a title and team for each."""
    rows = [
        {
            "employee_id": pid,
            "name": name,
            "manager_id": manager,
            "role": role,
            "title": "Engineer",
            "team": "Core",
            "email": f"{pid.lower()}@example.test",
        }
        for pid, name, manager, role in people
    ]
    chart = OrgChart.from_rows(rows)
    return chart, AccessPolicy(chart)


# --- ids and "me" ------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["E009", "e009", "  E009 ", "\tE009\n"])
def test_an_exact_id_is_that_person_whatever_its_case_and_spacing(
    org: OrgChart, policy: AccessPolicy, query: str
) -> None:
    for viewer in (HR, DIRECTOR, DANA):
        assert resolve(org, policy, viewer, query) == "E009"


@pytest.mark.parametrize("viewer", ALL_VIEWERS)
def test_the_viewers_own_id_is_the_viewer(org: OrgChart, policy: AccessPolicy, viewer: str) -> None:
    assert resolve(org, policy, viewer, viewer.lower()) == viewer


@pytest.mark.parametrize(
    ("viewer", "subject"),
    [(IC, "E008"), (IC, "E003"), (KENJI, "E007"), (GRACE, "E009"), (DANA, "E004"), (DIRECTOR, HR)],
)
def test_an_id_the_viewer_may_not_see_is_refused_like_check_subject(
    org: OrgChart, policy: AccessPolicy, viewer: str, subject: str
) -> None:
    with pytest.raises(PermissionRefusal) as refused:
        resolve(org, policy, viewer, f" {subject.lower()} ")
    assert str(refused.value) == f"you may not see documents about {subject}"
    assert refused.value.exit_code == 3
    with pytest.raises(PermissionRefusal) as from_policy:
        policy.check_subject(policy.viewer(viewer), subject)
    assert str(from_policy.value) == str(refused.value)


@pytest.mark.parametrize("query", ["E999", " e999 ", "E0", "X-12"])
def test_an_unknown_id_is_no_one(org: OrgChart, policy: AccessPolicy, query: str) -> None:
    for viewer in (HR, IC):
        with pytest.raises(UnknownPersonError) as unknown:
            resolve(org, policy, viewer, query)
        assert str(unknown.value) == f"no one with id '{query.strip()}' in the organisation"
        assert isinstance(unknown.value, BadInputError)
        assert unknown.value.exit_code == 2


@pytest.mark.parametrize("word", ["me", "Me", " ME ", "myself", "I", "i", "my", "self", "Myself."])
def test_self_words_are_the_viewer(org: OrgChart, policy: AccessPolicy, word: str) -> None:
    for viewer in ALL_VIEWERS:
        person = resolve_person(org, policy.viewer(viewer), word)
        assert person == org.get(viewer)


@pytest.mark.parametrize("query", ["", "   ", "\n\t "])
def test_an_empty_employee_is_bad_input(org: OrgChart, policy: AccessPolicy, query: str) -> None:
    with pytest.raises(BadInputError, match=r"^the employee is empty$") as error:
        resolve(org, policy, HR, query)
    assert not isinstance(error.value, UnknownPersonError | AmbiguousPersonError)


def test_punctuation_alone_is_no_one(org: OrgChart, policy: AccessPolicy) -> None:
    with pytest.raises(UnknownPersonError, match="no one called '\\?\\?\\?' in the organisation"):
        resolve(org, policy, HR, "???")


# --- exact names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Tomás Alvarez", "E004"),
        ("tomas alvarez", "E004"),
        ("TOMAS ALVAREZ", "E004"),
        ("Liam O'Connor", "E010"),
        ("Liam OConnor", "E010"),
        ("liam o’connor", "E010"),
        ("Liam O Connor", "E010"),
        ("  michael   brennan ", "E007"),
        ("Mei-Chen", "E011"),
        ("@mei.chen", "E011"),
    ],
)
def test_full_names_ignore_case_accents_and_punctuation(
    org: OrgChart, policy: AccessPolicy, query: str, expected: str
) -> None:
    assert resolve(org, policy, HR, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Dana", "E003"),
        ("whitfield", "E003"),
        ("Kenji", "E006"),
        ("Mori", "E006"),
        ("tomas", "E004"),
        ("O'Connor", "E010"),
        ("Sam", "E024"),
        ("Shankar", "E014"),
    ],
)
def test_a_unique_first_or_last_name_is_that_person(
    org: OrgChart, policy: AccessPolicy, query: str, expected: str
) -> None:
    assert resolve(org, policy, HR, query) == expected
    assert resolve(org, policy, DIRECTOR, query) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Dana's", "E003"),
        ("Dana’s", "E003"),
        ("Michael Brennan's", "E007"),
        ("Liam O'Connor's", "E010"),
        ("Mei Chen's", "E011"),
    ],
)
def test_possessives_are_stripped(
    org: OrgChart, policy: AccessPolicy, query: str, expected: str
) -> None:
    assert resolve(org, policy, HR, query) == expected


def test_a_name_unique_among_visible_people_resolves_even_if_not_unique_in_the_org(
    org: OrgChart, policy: AccessPolicy
) -> None:
    # "Dan" starts both Dana Whitfield (E003) and Daniel Mensah (E016): ambiguous for HR, but Dana
    # may not see Daniel, so he is not offered and she gets herself.
    with pytest.raises(AmbiguousPersonError) as ambiguous:
        resolve(org, policy, HR, "Dan")
    assert [c.employee_id for c in ambiguous.value.candidates] == ["E003", "E016"]
    assert resolve(org, policy, DANA, "Dan") == DANA


# --- fuzzy -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Micheal", "E007"),
        ("Micheal Brennan", "E007"),
        ("Michael Brenan", "E007"),
        ("Brennan Michael", "E007"),
        ("Micheal B", "E007"),
        ("Mich", "E007"),
        ("Sofa Rossi", "E008"),
        ("Sofia Rosi", "E008"),
        ("Aisha B", "E009"),
        ("aisha b.", "E009"),
        ("Alex P", "E021"),
        ("Alex Park", "E021"),
        ("alex n", "E020"),
        ("connor", "E010"),
        ("liamoconor", "E010"),
        ("Kenj", "E006"),
    ],
)
def test_close_spellings_find_the_person(
    org: OrgChart, policy: AccessPolicy, query: str, expected: str
) -> None:
    assert resolve(org, policy, HR, query) == expected


@pytest.mark.parametrize(
    "query",
    ["Zed", "the payments team", "Bob", "payments", "team", "manager", "someone", "Al", "Mobile"],
)
def test_words_that_are_not_names_match_no_one(
    org: OrgChart, policy: AccessPolicy, query: str
) -> None:
    for viewer in (HR, IC):
        with pytest.raises(UnknownPersonError) as unknown:
            resolve(org, policy, viewer, query)
        assert str(unknown.value) == f"no one called '{query}' in the organisation"


def test_the_managers_own_team_resolves_by_typo(org: OrgChart, policy: AccessPolicy) -> None:
    assert resolve(org, policy, DANA, "Micheal") == "E007"
    assert resolve(org, policy, DANA, "Sofa Rossi") == "E008"
    assert resolve(org, policy, KENJI, "Liam OConnor") == "E010"  # subtree of a sub-lead
    assert resolve(org, policy, DANA, "Liam") == "E010"  # transitively under Dana
    assert resolve(org, policy, IC, "Micheal") == IC


# --- ambiguity ---------------------------------------------------------------------------------


@pytest.mark.parametrize("viewer", [HR, DIRECTOR, GRACE])
def test_alex_is_ambiguous_for_whoever_sees_both(
    org: OrgChart, policy: AccessPolicy, viewer: str
) -> None:
    with pytest.raises(AmbiguousPersonError) as ambiguous:
        resolve(org, policy, viewer, "Alex")
    error = ambiguous.value
    assert str(error) == ALEXES_MESSAGE
    assert "\n" not in str(error)
    assert error.exit_code == 2
    assert isinstance(error, BadInputError)
    assert error.candidates == (
        Candidate("E020", "Alex Novak", "Product Designer", "Mobile"),
        Candidate("E021", "Alex Park", "Mobile Engineer", "Mobile"),
    )


def test_a_typo_equally_close_to_two_people_is_ambiguous(
    org: OrgChart, policy: AccessPolicy
) -> None:
    with pytest.raises(AmbiguousPersonError) as ambiguous:
        resolve(org, policy, GRACE, "Alx")
    assert [c.employee_id for c in ambiguous.value.candidates] == ["E020", "E021"]


def test_ambiguous_candidates_are_best_first_then_by_id() -> None:
    chart, policy = small_org(
        ("A1", "Ann Hale", "", "hr"),
        ("A2", "John Carter", "", "employee"),
        ("A3", "Johann Weber", "", "employee"),
        ("A4", "Joan Fox", "", "employee"),
    )
    # "johnn" scores 90.9 against "johann" and 88.9 against "john": too close to call.
    with pytest.raises(AmbiguousPersonError) as ambiguous:
        resolve_person(chart, policy.viewer("A1"), "Johnn")
    assert [c.employee_id for c in ambiguous.value.candidates] == ["A3", "A2"]
    # Equal scores (here two prefixes) are listed by id; Joan does not start with "joh".
    with pytest.raises(AmbiguousPersonError) as tied:
        resolve_person(chart, policy.viewer("A1"), "Joh")
    assert [c.employee_id for c in tied.value.candidates] == ["A2", "A3"]


def test_two_people_with_the_same_name_are_ambiguous_unless_only_one_is_visible() -> None:
    chart, policy = small_org(
        ("H1", "Hana Ito", "", "hr"),
        ("M1", "Mo Diaz", "", "manager"),
        ("S1", "Sam Lee", "M1", "employee"),
        ("S2", "Sam Lee", "", "employee"),
    )
    with pytest.raises(AmbiguousPersonError) as ambiguous:
        resolve_person(chart, policy.viewer("H1"), "sam lee")
    assert [c.employee_id for c in ambiguous.value.candidates] == ["S1", "S2"]
    assert resolve_person(chart, policy.viewer("M1"), "Sam Lee").employee_id == "S1"
    assert resolve_person(chart, policy.viewer("M1"), "Sam").employee_id == "S1"


def test_candidates_never_include_people_the_viewer_may_not_see() -> None:
    chart, policy = small_org(
        ("H1", "Hana Ito", "", "hr"),
        ("M1", "Mo Diaz", "", "manager"),
        ("P1", "Alex Stone", "M1", "employee"),
        ("P2", "Alex Brook", "M1", "employee"),
        ("P3", "Alex Marsh", "", "employee"),
    )
    with pytest.raises(AmbiguousPersonError) as ambiguous:
        resolve_person(chart, policy.viewer("M1"), "Alex")
    assert [c.employee_id for c in ambiguous.value.candidates] == ["P1", "P2"]
    assert "P3" not in str(ambiguous.value)
    assert "Marsh" not in str(ambiguous.value)
    with pytest.raises(AmbiguousPersonError) as for_hr:
        resolve_person(chart, policy.viewer("H1"), "Alex")
    assert len(for_hr.value.candidates) == 3


def test_a_long_list_of_candidates_is_cut_short_in_the_message() -> None:
    rows = [("H1", "Hana Ito", "", "hr")] + [
        (f"K{n:02d}", f"Kim Number{chr(97 + n)}", "", "employee") for n in range(12)
    ]
    chart, policy = small_org(*rows)
    with pytest.raises(AmbiguousPersonError) as ambiguous:
        resolve_person(chart, policy.viewer("H1"), "Kim")
    assert len(ambiguous.value.candidates) == 12
    message = str(ambiguous.value)
    assert message.endswith("and 4 more; say which")
    assert "K07" in message
    assert "K08" not in message


def test_a_candidate_without_title_or_team_shows_only_the_id() -> None:
    chart = OrgChart.from_rows(
        [
            {"employee_id": "H1", "name": "Hana Ito", "manager_id": "", "role": "hr"},
            {"employee_id": "X1", "name": "Lee Ray", "manager_id": "", "role": "employee"},
            {"employee_id": "X2", "name": "Lee Ross", "manager_id": "", "role": "employee"},
        ]
    )
    with pytest.raises(AmbiguousPersonError) as ambiguous:
        resolve_person(chart, AccessPolicy(chart).viewer("H1"), "Lee")
    assert str(ambiguous.value) == (
        "'Lee' matches several people: Lee Ray (X1), Lee Ross (X2); say which"
    )


# --- people the viewer may not see -------------------------------------------------------------


@pytest.mark.parametrize(
    ("viewer", "query"),
    [
        (IC, "Sofia Rossi"),
        (IC, "Sofa Rossi"),
        (IC, "Alex"),
        (IC, "Dana's"),
        (KENJI, "Micheal"),
        (KENJI, "Aisha B"),
        (GRACE, "tomas alvarez"),
        (DANA, "Alex Park"),
        (DANA, "Kowalski"),
        (DIRECTOR, "Priya"),
        (DIRECTOR, "Priya Raman"),
    ],
)
def test_a_name_the_viewer_may_not_see_is_refused_revealing_nothing(
    org: OrgChart, policy: AccessPolicy, viewer: str, query: str
) -> None:
    with pytest.raises(PermissionRefusal) as refused:
        resolve(org, policy, viewer, query)
    assert str(refused.value) == f"you may not see documents about {query}"
    # No id, title or team of anyone leaks into the message.
    assert all(pid not in str(refused.value) for pid in org.people)
    assert "Engineer" not in str(refused.value)


def test_refusal_quotes_the_query_stripped(org: OrgChart, policy: AccessPolicy) -> None:
    with pytest.raises(PermissionRefusal, match=r"^you may not see documents about Sofia$"):
        resolve(org, policy, IC, "  Sofia \n")


def test_a_stronger_match_outside_the_visible_set_beats_a_weaker_one_inside() -> None:
    chart, policy = small_org(
        ("M1", "Mo Diaz", "", "manager"),
        ("J1", "Jon Smith", "M1", "employee"),
        ("J2", "John Smith", "", "employee"),
    )
    manager = policy.viewer("M1")
    # The user named John Smith exactly: Jon Smith must not silently stand in for him.
    with pytest.raises(PermissionRefusal, match=r"about John Smith$"):
        resolve_person(chart, manager, "John Smith")
    assert resolve_person(chart, manager, "Jon Smith").employee_id == "J1"
    assert resolve_person(chart, manager, "Jon").employee_id == "J1"


def test_an_employee_gets_the_same_refusal_for_a_real_colleague_however_spelled(
    org: OrgChart, policy: AccessPolicy
) -> None:
    messages = set()
    for query in ("E008", "Sofia", "Sofia Rossi", "sofa rossi"):
        with pytest.raises(PermissionRefusal) as refused:
            resolve(org, policy, IC, query)
        messages.add(str(refused.value).split(" about ")[0])
    assert messages == {"you may not see documents"}


# --- emails, normalisation, synthetic names ----------------------------------------------------


def test_an_exact_email_is_that_person_within_the_same_rules(
    org: OrgChart, policy: AccessPolicy
) -> None:
    assert resolve(org, policy, DANA, "Michael.Brennan@lumenfreight.example") == "E007"
    with pytest.raises(PermissionRefusal):
        resolve(org, policy, IC, "sofia.rossi@lumenfreight.example")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Liam O'Connor", "liam oconnor"),
        ("Tomás Álvarez", "tomas alvarez"),
        ("Dana's", "dana"),
        ("James'", "james"),
        ("  Mary-Jane  WATSON ", "mary jane watson"),
        ("Łukasz Søren", "lukasz soren"),
        ("Zoë", "zoe"),
        ("Straße", "strasse"),
        ("@mei.chen", "mei chen"),
        ("?!", ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_accents_hyphens_and_middle_names_in_the_org() -> None:
    chart, policy = small_org(
        ("H1", "Hana Ito", "", "hr"),
        ("Z1", "Zoë Brontë", "", "employee"),
        ("M1", "Mary-Jane Watson", "", "employee"),
        ("L1", "Łukasz Nowak", "", "employee"),
        ("A1", "Mary Ann Smith", "", "employee"),
    )
    hr = policy.viewer("H1")
    expected = {
        "zoe bronte": "Z1",
        "Zoë": "Z1",
        "Maryjane Watson": "M1",
        "mary jane watson": "M1",
        "Lukasz": "L1",
        "Mary Smith": "A1",
        "Ann": "A1",
    }
    for query, pid in expected.items():
        assert resolve_person(chart, hr, query).employee_id == pid, query


def test_errors_survive_pickling() -> None:
    ambiguous = AmbiguousPersonError("Alex", [Candidate("E1", "Alex A", "T", "X")])
    copy = pickle.loads(pickle.dumps(ambiguous))
    assert str(copy) == str(ambiguous)
    assert copy.candidates == ambiguous.candidates
    unknown = UnknownPersonError("E9", by_id=True)
    assert str(pickle.loads(pickle.dumps(unknown))) == "no one with id 'E9' in the organisation"


# --- determinism, caching, speed ---------------------------------------------------------------


def test_results_are_deterministic(org: OrgChart, policy: AccessPolicy) -> None:
    viewer = policy.viewer(HR)
    for query in ("Alx", "Dan", "Alex"):
        messages = set()
        for _ in range(3):
            with pytest.raises(AmbiguousPersonError) as ambiguous:
                resolve_person(org, viewer, query)
            messages.add(str(ambiguous.value))
        assert len(messages) == 1


def test_each_org_chart_gets_its_own_index(org: OrgChart, policy: AccessPolicy) -> None:
    other, other_policy = small_org(("Q1", "Michael Quinn", "", "hr"))
    assert resolve_person(other, other_policy.viewer("Q1"), "Michael").employee_id == "Q1"
    assert resolve(org, policy, HR, "Michael") == "E007"
    key = id(other)
    assert key in people_module._CACHE
    del other, other_policy
    gc.collect()
    assert key not in people_module._CACHE  # dropped with the chart


@pytest.mark.parametrize(
    ("query", "expected"), [("mike", "E007"), ("Mike", "E007"), ("liv", "E013")]
)
def test_a_common_nickname_resolves_when_no_name_matches_the_word(
    org: OrgChart, policy: AccessPolicy, query: str, expected: str
) -> None:
    assert resolve_person(org, policy.viewer(HR), query).employee_id == expected
