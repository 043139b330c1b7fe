"""The rule-based bias and quality check: each rule's hits and misses, exact spans, the
quote exemption, citations against the period and against each other, and the editable rules."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from perfagent.errors import BadInputError
from perfagent.periods import parse_period
from perfagent.tools.language_check import (
    DEFAULT_RULES_PATH,
    CitedSource,
    LanguageRules,
    LanguageWarning,
    TermSet,
    check_text,
    load_rules,
)

Q3 = (date(2026, 7, 1), date(2026, 9, 30))


def check(text: str, **kwargs: Any) -> list[LanguageWarning]:
    """check_text, plus the invariants every result must have."""
    warnings = check_text(text, **kwargs)
    for w in warnings:
        assert text[w.start : w.end] == w.span, w
        assert w.message and "\n" not in w.message
        assert w.suggestion and "\n" not in w.suggestion
    assert [w.start for w in warnings] == sorted(w.start for w in warnings)
    return warnings


def spans(text: str, kind: str, **kwargs: Any) -> list[str]:
    return [w.span for w in check(text, **kwargs) if w.kind == kind]


def kinds(text: str, **kwargs: Any) -> set[str]:
    return {w.kind for w in check(text, **kwargs)}


# --------------------------------------------------------------------------------------------
# The warning object
# --------------------------------------------------------------------------------------------


def test_warning_json_and_one_line_string() -> None:
    text = "She is abrasive\nin reviews."
    [w] = [w for w in check(text) if w.kind == "personality"]
    assert w.to_json() == {
        "kind": "personality",
        "start": 7,
        "end": 15,
        "span": "abrasive",
        "message": w.message,
        "suggestion": w.suggestion,
    }
    line = str(w)
    assert line.startswith('personality: "abrasive" — describes a trait, not a behaviour')
    assert "; try: " in line and "\n" not in line


def test_empty_text_has_no_warnings() -> None:
    assert check_text("") == []
    assert check_text("   \n\n ") == []


# --------------------------------------------------------------------------------------------
# Rule 1: personality
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She is abrasive in reviews.", ["abrasive"]),
        ("ABRASIVE in every review, frankly.", ["ABRASIVE"]),
        ("His abrasiveness costs us.", ["abrasiveness"]),
        ("Laziness is the issue.", ["Laziness"]),
        ("He is bossy and arrogant.", ["bossy", "arrogant"]),
        ("Honestly he is not a culture fit.", ["not a culture fit"]),
        ("There are attitude problems on this team.", ["attitude problems"]),
        ("She can be difficult to work with.", ["difficult to work with"]),
        ("He came across as passive-aggressive.", ["passive-aggressive"]),
        ("She was too aggressive in the review.", ["too aggressive"]),
        ("He is aggressive towards juniors.", ["aggressive"]),  # "towards" is context only
    ],
)
def test_personality_words_are_flagged(text: str, expected: list[str]) -> None:
    assert spans(text, "personality") == expected


@pytest.mark.parametrize(
    "text",
    [
        "She interrupted two colleagues in the 3 May review [1].",
        "The billing migration was difficult.",
        "We enabled lazy loading for the report page.",
        "The timeline was too aggressive.",
        "An aggressive timeline slipped by a week.",
        "Defensive coding caught the null invoice.",
        "Emotionless logging of arrogantly-named services.",  # no whole-word trait
    ],
)
def test_personality_negatives(text: str) -> None:
    assert spans(text, "personality") == []


def test_personality_inside_quotes_is_evidence_not_judgement() -> None:
    text = 'Her peer wrote "she can be abrasive and bossy" [1], and “too emotional” [2].'
    assert spans(text, "personality") == []
    assert spans(text, "gender_coded") == []
    # The same words outside the quotes are flagged.
    assert spans("She can be abrasive and bossy.", "personality") == ["abrasive", "bossy"]


def test_personality_term_can_carry_its_own_suggestion() -> None:
    [abrasive] = [w for w in check("He is abrasive.") if w.kind == "personality"]
    [bossy] = [w for w in check("He is bossy.") if w.kind == "personality"]
    assert "review comments" in abrasive.suggestion
    assert abrasive.suggestion != bossy.suggestion
    assert "behaviour" in bossy.suggestion


def test_overlapping_findings_of_one_kind_merge() -> None:
    # "too aggressive" and "aggressive <with>" both match: one personality warning remains.
    text = "He is too aggressive with juniors."
    personality = [w for w in check(text) if w.kind == "personality"]
    assert [(w.start, w.end, w.span) for w in personality] == [(6, 20, "too aggressive")]
    # A different kind on the same word is kept: it says something else.
    assert spans(text, "gender_coded") == ["aggressive"]


# --------------------------------------------------------------------------------------------
# Rule 2: gender-coded words
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She is assertive and ambitious.", ["assertive", "ambitious"]),
        ("A decisive, fearless lead.", ["decisive", "fearless"]),
        ("He is nurturing and bubbly.", ["nurturing", "bubbly"]),
        ("She's always helpful.", ["helpful"]),  # the copula is context, not the span
        ("He is very warm with new joiners.", ["warm"]),
        ("The girls on the team ran the launch.", ["girls"]),
        ("Tell her to man up about it.", ["man up"]),
    ],
)
def test_gender_coded_words_are_flagged(text: str, expected: list[str]) -> None:
    assert spans(text, "gender_coded") == expected


def test_gender_coded_is_a_hint_even_when_not_about_character() -> None:
    [w] = [
        w for w in check("She was supportive of the migration plan.") if w.kind == "gender_coded"
    ]
    assert w.span == "supportive"
    assert "feminine-coded" in w.message and "hint" in w.message
    assert "Gaucher" in w.message


@pytest.mark.parametrize(
    "text",
    [
        "Thanks, guys, for the quick review.",
        "The docs were helpful for on-call.",
        "We keep a warm cache for the tariff tables.",
        "Sensitive data stays in the vault.",
        "Competitive pricing was Sales' call.",
        "The event-driven design held up under load.",
        'She answered "be more assertive" with a plan [1].',
    ],
)
def test_gender_coded_negatives(text: str) -> None:
    assert spans(text, "gender_coded") == []


# --------------------------------------------------------------------------------------------
# Rule 3: vague praise
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Great job this quarter.", ["Great job"]),
        ("She is a rockstar and a real team player!", ["rockstar", "team player"]),
        ("He is doing well and has a good attitude.", ["doing well", "good attitude"]),
        ("Solid performer, amazing to have around.", ["Solid performer", "amazing"]),
    ],
)
def test_vague_praise_is_flagged(text: str, expected: list[str]) -> None:
    assert spans(text, "vague_praise") == expected


@pytest.mark.parametrize(
    "text",
    [
        "Great job on PAY-1432.",  # ticket id
        "Great job on INC-2026-061, start to finish.",
        "Great job on the refund flow [2].",  # citation
        "Great job on the 3 May release.",  # date
        "Great job on the March release.",  # month name
        "Great job shipping two days early.",  # number word
        'Great job: Finance said "the dry run was perfect".',  # quoted text
        "He is not a team player.",  # negated: not praise (personality flags it instead)
        "She wasn't doing well in June and said so.",
    ],
)
def test_vague_praise_with_an_anchor_or_negated_is_not_flagged(text: str) -> None:
    assert spans(text, "vague_praise") == []


def test_vague_praise_anchor_may_follow_in_the_same_paragraph_only() -> None:
    assert (
        spans("Great job this quarter. For example, you closed 12 tickets.", "vague_praise") == []
    )
    assert spans("Great job this quarter.\n\nYou closed 12 tickets.", "vague_praise") == [
        "Great job"
    ]
    # The sentence after next does not count.
    text = "Great job this quarter. Keep going. You closed 12 tickets."
    assert spans(text, "vague_praise") == ["Great job"]


def test_list_items_are_separate_paragraphs() -> None:
    text = "- Great job this quarter.\n- Closed 12 tickets [1]."
    assert spans(text, "vague_praise") == ["Great job"]


def test_vague_praise_in_quotes_is_not_the_writers_praise() -> None:
    assert spans('The customer wrote "amazing work, rockstar team".', "vague_praise") == []


# --------------------------------------------------------------------------------------------
# Rule 4: unactionable criticism
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She needs to improve her communication.", ["needs to improve"]),
        ("The estimates are not good enough.", ["not good enough"]),
        ("He lacks ownership of the on-call rota.", ["lacks"]),
        ("The Q3 results were disappointing.", ["disappointing"]),
        ("He needs to step up.", ["needs to step up"]),
        ("The team is underperforming on reviews.", ["underperforming"]),
    ],
)
def test_unactionable_criticism_is_flagged(text: str, expected: list[str]) -> None:
    assert spans(text, "unactionable") == expected


@pytest.mark.parametrize(
    "text",
    [
        "She needs to improve her estimates; next time, add a day of buffer.",
        "Her estimates need to improve by 1 November.",
        "Her estimates need to improve by the end of the quarter.",
        "He lacks test coverage on money code, for example in the VAT summary.",
        "He could do more reviews: try pairing with Sam on two PRs a week.",
        "The rollout was disappointing [3].",  # a citation makes it evidence-based
        "She needs to improve her estimates. Try adding a day of buffer to each one.",
        "She never lacks ideas in planning [1][2].",  # negated: not criticism
    ],
)
def test_criticism_with_a_next_step_is_not_flagged(text: str) -> None:
    assert spans(text, "unactionable") == []


def test_next_step_must_be_in_the_same_paragraph() -> None:
    text = "She needs to improve her estimates.\n\nTry adding a buffer."
    assert spans(text, "unactionable") == ["needs to improve"]


# --------------------------------------------------------------------------------------------
# Rule 5: out of period
# --------------------------------------------------------------------------------------------

CITATIONS = [
    CitedSource(1, "doc-a", date(2026, 8, 1), "E003"),
    CitedSource(2, "doc-b", date(2025, 11, 3), "E011"),
    CitedSource(3, "doc-c", date(2026, 9, 30), "E006"),
    CitedSource(4, "doc-a", date(2026, 8, 1), "E003"),  # a second chunk of doc-a
    CitedSource(5, "doc-d", date(2026, 7, 1), "E003"),  # another document by E003
]


def test_out_of_period_marker_is_flagged_with_its_date() -> None:
    text = "She shipped the ledger cutover [1] and the old renderer [2]."
    [w] = check(text, citations=CITATIONS, period=Q3)
    assert (w.kind, w.span, w.start) == ("out_of_period", "[2]", text.index("[2]"))
    assert "2025-11-03" in w.message and "2026-07-01..2026-09-30" in w.message


def test_out_of_period_in_grouped_and_adjacent_markers() -> None:
    text = "She led both migrations [1, 2] and reviews [1][2]."
    assert spans(text, "out_of_period", citations=CITATIONS, period=Q3) == ["[1, 2]", "[2]"]
    [grouped, _] = [w for w in check(text, citations=CITATIONS, period=Q3)]
    assert "[2] dated 2025-11-03" in grouped.message and "[1]" not in grouped.message


def test_period_bounds_are_inclusive_and_period_objects_work() -> None:
    text = "The cutover landed on the last day [3] and the first [5]."
    assert check(text, citations=CITATIONS, period=Q3) == []
    assert check(text, citations=CITATIONS, period=parse_period("2026-Q3")) == []
    assert spans(text, "out_of_period", citations=CITATIONS, period=parse_period("2026-08")) == [
        "[3]",
        "[5]",
    ]


def test_out_of_period_needs_both_period_and_citations() -> None:
    text = "She fixed the old renderer [2]."
    assert check(text, citations=CITATIONS) == []
    assert check(text, period=Q3) == []
    assert check("A marker with no source [9].", citations=CITATIONS, period=Q3) == []


def test_reversed_period_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        check_text("x", period=(date(2026, 9, 30), date(2026, 7, 1)))


# --------------------------------------------------------------------------------------------
# Rule 6: single source
# --------------------------------------------------------------------------------------------


def test_generalisation_from_one_document_is_flagged() -> None:
    text = "She always ships ahead of the date [1]."
    [w] = check(text, citations=CITATIONS)
    assert (w.kind, w.span) == ("single_source", "always")
    assert "one source document [1]" in w.message


def test_two_chunks_of_one_document_are_still_one_source() -> None:
    text = "He consistently writes the clearest updates [1][4]."
    assert spans(text, "single_source", citations=CITATIONS) == ["consistently"]


def test_two_documents_by_different_authors_are_enough() -> None:
    assert check("She always ships ahead of the date [1][3].", citations=CITATIONS) == []
    assert check("She always ships ahead of the date [1, 3].", citations=CITATIONS) == []


def test_documents_all_by_one_author_are_one_view_and_the_author_is_not_named() -> None:
    [w] = check("She never misses a review [1][5].", citations=CITATIONS)
    assert w.kind == "single_source" and w.span == "never"
    assert "one person" in w.message
    assert "E003" not in str(w)  # a subject must not learn who wrote a peer's feedback


def test_generalisation_with_no_citation_is_flagged() -> None:
    [w] = check("Everyone goes to him when something is on fire.")
    assert (w.kind, w.span) == ("single_source", "Everyone")
    assert "no citation" in w.message


@pytest.mark.parametrize(
    "text",
    [
        "Specs were not always complete [1].",  # a hedge
        "She shipped the cutover two days early [1].",  # no generalising word
        'Her peer said "she always answers within the hour" [1].',  # the source's words
    ],
)
def test_single_source_negatives(text: str) -> None:
    assert spans(text, "single_source", citations=CITATIONS) == []


def test_marker_after_the_full_stop_belongs_to_the_sentence_before() -> None:
    text = "She always ships early. [1] The rest is fine."
    [w] = check(text, citations=CITATIONS)
    assert (w.kind, w.span) == ("single_source", "always")
    assert "[1]" in w.message
    assert check("She always ships early. [1][3] The rest is fine.", citations=CITATIONS) == []


def test_unknown_markers_count_as_separate_documents() -> None:
    assert check("She always ships early [7][8].") == []
    assert spans("She always ships early [7].", "single_source") == ["always"]


# --------------------------------------------------------------------------------------------
# Whole paragraphs
# --------------------------------------------------------------------------------------------

PARAGRAPH_CITATIONS = [
    CitedSource(1, "billing/E006/manager-note", date(2026, 8, 27), "E003"),
    CitedSource(2, "billing/E006/peer-feedback", date(2026, 9, 10), "E011"),
    CitedSource(3, "billing/E006/one-on-one", date(2026, 7, 23), "E006"),
]

CLEAN = (
    "## Delivery\n\n"
    "Over Q3 Kenji kept Billing's plan on track: credit notes shipped within three days of the "
    "committed date [1], and the Finance controller asked him to keep running the "
    "Billing/Finance sync [2]. After INC-2026-066 he documented the follow-up in BILL-415 and "
    "held a direct conversation on 28 August [1][3]. His weekly written updates to Finance were "
    "described as the clearest in Payments by two people [2][3].\n\n"
    "## Next steps\n\n"
    "- When an agreed deadline passes, follow up in writing within a week, for example by "
    "scheduling a check-in on the due date [3].\n"
    '- Keep the review load shared: his peer noted "31 reviews in July" [2].\n'
)


def test_realistic_clean_paragraph_has_no_warnings() -> None:
    assert check(CLEAN, citations=PARAGRAPH_CITATIONS, period=Q3) == []


def test_realistic_biased_paragraph_gets_the_expected_kinds() -> None:
    text = (
        "Priya is a rockstar and a great team player. In meetings she can be abrasive and too "
        "emotional, and the girls on the team find her bossy. She always pushes back on "
        "estimates [1]. Her documentation needs to improve. She was assertive during the "
        "2025 planning cycle [2]."
    )
    citations = [
        CitedSource(1, "doc-1", date(2026, 8, 1), "E003"),
        CitedSource(2, "doc-2", date(2025, 11, 3), "E011"),
    ]
    warnings = check(text, citations=citations, period=Q3)
    assert {w.kind for w in warnings} == {
        "vague_praise",
        "personality",
        "gender_coded",
        "single_source",
        "unactionable",
        "out_of_period",
    }
    found = [(w.kind, w.span) for w in warnings]
    assert found == [
        ("vague_praise", "rockstar"),
        ("vague_praise", "team player"),
        ("personality", "abrasive"),
        ("gender_coded", "emotional"),
        ("personality", "emotional"),
        ("gender_coded", "girls"),
        ("personality", "bossy"),
        ("single_source", "always"),
        ("unactionable", "needs to improve"),
        ("gender_coded", "assertive"),
        ("out_of_period", "[2]"),
    ]
    # Deterministic: the same input gives the same output.
    assert check(text, citations=citations, period=Q3) == warnings


# --------------------------------------------------------------------------------------------
# The rules file
# --------------------------------------------------------------------------------------------


def test_default_rules_file_loads_with_focused_lists() -> None:
    rules = load_rules()
    assert isinstance(rules, LanguageRules)
    assert rules.path == DEFAULT_RULES_PATH.resolve()
    assert load_rules() is rules  # compiled once per process
    assert {s.name for s in rules.gender_coded} == {
        "gender_coded.descriptors",
        "gender_coded.feminine",
        "gender_coded.masculine",
    }
    for term_set in (rules.personality, *rules.gender_coded, rules.vague_praise):
        assert 15 <= len(term_set.terms) <= 65, term_set.name
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    assert "Gaucher, Friesen & Kay (2011)" in text


def _edited_copy(tmp_path: Path, edit: Any) -> Path:
    data = yaml.safe_load(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def test_edited_rules_change_behaviour(tmp_path: Path) -> None:
    def edit(data: dict[str, Any]) -> None:
        terms = data["personality"]["terms"]
        terms.remove("bossy")
        terms.append({"term": "grumpy", "suggestion": "what happened, e.g. a dated example"})
        data["unactionable"]["next_step_cues"].append("checklist")

    edited = load_rules(_edited_copy(tmp_path, edit))
    text = "He is grumpy and bossy. He needs to improve his PR checklist habit."
    assert spans(text, "personality") == ["bossy"]
    assert spans(text, "unactionable") == ["needs to improve"]
    assert spans(text, "personality", rules=edited) == ["grumpy"]
    assert spans(text, "unactionable", rules=edited) == []
    [grumpy] = [w for w in check(text, rules=edited) if w.kind == "personality"]
    assert grumpy.suggestion == "what happened, e.g. a dated example"


def test_an_edited_file_is_read_again(tmp_path: Path) -> None:
    path = _edited_copy(tmp_path, lambda data: None)
    first = load_rules(path)
    assert load_rules(path) is first
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["vague_praise"]["terms"].append("legend")
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    second = load_rules(path)
    assert second is not first
    assert spans("What a legend.", "vague_praise", rules=second) == ["legend"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("personality: [unclosed\n", "line"),
        ("- just\n- a list\n", "mapping"),
        ("thing_nouns: [plan]\nnegations: [not]\npersonality: {}\n", "personality.terms"),
    ],
)
def test_broken_rules_file_is_a_one_line_error(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(BadInputError) as excinfo:
        load_rules(path)
    message = str(excinfo.value)
    assert needle in message and str(path) in message and "\n" not in message


def test_bare_yaml_boolean_and_unknown_placeholder_are_explained(tmp_path: Path) -> None:
    def bare_no(data: dict[str, Any]) -> None:
        data["negations"].append(False)  # what `- no` reads as

    with pytest.raises(BadInputError, match="quote words"):
        load_rules(_edited_copy(tmp_path, bare_no))

    def bad_placeholder(data: dict[str, Any]) -> None:
        data["personality"]["terms"].append("{seems} grumpy")

    with pytest.raises(BadInputError, match="unknown placeholder"):
        load_rules(_edited_copy(tmp_path, bad_placeholder))


def test_missing_rules_file_is_a_bad_input_error(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="cannot read language rules"):
        load_rules(tmp_path / "nope.yaml")


def test_literal_prefilter_changes_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skipping terms whose first word is absent is only a speed-up: same warnings without it."""
    texts = [
        "She is LAZY. Laziness shows. She's gentle and bossy; HARD-WORKING, hardworking girls.",
        "He can be abrasive towards juniors. Great job! Needs to improve. Let’s not.",
        CLEAN,
        "Everyone says she is the best and always helpful; he underperformed twice.",
    ]
    with_filter = [check_text(t, citations=PARAGRAPH_CITATIONS, period=Q3) for t in texts]
    monkeypatch.setattr(TermSet, "present_in", lambda self, folded: self)
    without = [check_text(t, citations=PARAGRAPH_CITATIONS, period=Q3) for t in texts]
    assert with_filter == without
    assert sum(len(w) for w in with_filter) >= 10
