"""The citation verifier: each check passing and failing, markdown structure kept, sentence
splitting, repair versus drop, and the embedding threshold against the real MiniLM model."""

from __future__ import annotations

import math

import pytest
from langchain_core.embeddings import Embeddings

from perfagent.tools.citations import Citation
from perfagent.tools.verifier import (
    DEFAULT_MIN_SIMILARITY,
    CitationVerifier,
    SentenceVerdict,
    VerificationReport,
)

SLIP = Citation(
    1,
    "d1",
    "d1#0",
    "Phase 2 will finish on 14 August instead of today. I told Tomás and Dana on Monday when "
    "it became clear.",
    "2026-08-07",
    "weekly_report",
)
SPANS = Citation(
    2,
    "d2",
    "d2#1",
    "With both loaded, about 8% of spans lost their parent. Aisha and I spent Tuesday and "
    "Wednesday on it. The collector now handles 1,200 events per second at 4.2 ms p99.",
    "2026-08-07",
    "weekly_report",
)
FIX = Citation(
    3, "d3", "d3#0", "she fixed it with a test the same day", "2026-09-15", "peer_feedback"
)
LATE = Citation(
    4,
    "d4",
    "d4#2",
    "The ingress migration did not ship on time because the load tests were skipped.",
    "2026-07-03",
    "okr_update",
)
CITATIONS = [SLIP, SPANS, FIX, LATE]
BY_N = {c.n: c for c in CITATIONS}

FIX_FALLBACK = 'A peer feedback (2026-09-15) notes: "she fixed it with a test the same day" [3].'


def check(sentence: str, verifier: CitationVerifier | None = None) -> SentenceVerdict:
    return (verifier or CitationVerifier()).check_sentence(sentence, BY_N)


def verify(
    text: str, verifier: CitationVerifier | None = None, **kwargs: bool
) -> VerificationReport:
    """verify, plus the invariants every report must have."""
    report = (verifier or CitationVerifier()).verify(text, CITATIONS, **kwargs)
    for v in report.verdicts:
        assert text[v.start : v.end] == v.sentence, v
        assert v.supported == (not v.reasons), v
        assert all(r and "\n" not in r for r in v.reasons), v
    assert [v.start for v in report.verdicts] == sorted(v.start for v in report.verdicts)
    return report


def sentences(text: str) -> list[str]:
    return [v.sentence for v in verify(text).verdicts]


# --------------------------------------------------------------------------------------------
# Markdown structure and sentence splitting
# --------------------------------------------------------------------------------------------


def test_structure_lines_are_not_claims_and_are_kept_untouched() -> None:
    text = (
        "# Review draft: E015\n"
        "\n"
        "## Delivery\n"
        "She fixed it with a test the same day [3].\n"
        "\n"
        "---\n"
        "Strengths:\n"
        "**Collaboration**\n"
        "*Drafted by perfagent from 4 documents; check every citation.*\n"
        "_Not a final rating._\n"
    )
    report = verify(text)
    assert [v.sentence for v in report.verdicts] == ["She fixed it with a test the same day [3]."]
    assert report.text == text
    assert report.supported_share == 1.0


def test_emphasis_with_a_marker_or_a_whole_bold_sentence_is_a_claim() -> None:
    report = verify("*She shipped the whole platform alone [3].*\n")
    assert len(report.verdicts) == 1
    assert not report.verdicts[0].supported
    report = verify("**She is the best engineer on the team.**\n")
    assert [v.reasons for v in report.verdicts] == [("no citation marker",)]
    assert report.text == ""


def test_no_split_inside_quotes_on_decimals_or_abbreviations() -> None:
    text = (
        'She wrote "done. Shipped." in the channel [3]. P99 fell to 4.2 ms, e.g. on the '
        "collector [2]. Mr. Smith agreed [1]."
    )
    assert sentences(text) == [
        'She wrote "done. Shipped." in the channel [3].',
        "P99 fell to 4.2 ms, e.g. on the collector [2].",
        "Mr. Smith agreed [1].",
    ]


def test_bullets_and_numbered_items_start_sentences_without_their_prefix() -> None:
    text = "- Fixed it [3]\n- Tested it [3]. Same day [3].\n1. First [1]\n2) Second [2]\n"
    assert sentences(text) == [
        "Fixed it [3]",
        "Tested it [3].",
        "Same day [3].",
        "First [1]",
        "Second [2]",
    ]


def test_markers_after_the_full_stop_stay_with_their_sentence_and_lines_may_wrap() -> None:
    text = "She fixed it with a test\nthe same day. [3] She told Tomás and Dana [1]."
    report = verify(text)
    assert [v.sentence for v in report.verdicts] == [
        "She fixed it with a test\nthe same day. [3]",
        "She told Tomás and Dana [1].",
    ]
    assert [v.cited for v in report.verdicts] == [(3,), (1,)]
    assert all(v.supported for v in report.verdicts)


# --------------------------------------------------------------------------------------------
# Markers
# --------------------------------------------------------------------------------------------


def test_a_sentence_without_a_marker_is_unsupported() -> None:
    v = check("She fixed it with a test the same day.")
    assert not v.supported
    assert v.cited == ()
    assert v.reasons == ("no citation marker",)


def test_a_marker_without_a_citation_is_unsupported() -> None:
    assert check("She fixed it with a test the same day [3].").supported
    v = check("She fixed it with a test the same day [3][9].")
    assert not v.supported
    assert v.cited == (3, 9)
    assert v.reasons == ("citation [9] does not exist",)


@pytest.mark.parametrize("markers", ["[1][3]", "[1, 3]", "[3] [1]"])
def test_multi_citation_sentences_draw_on_every_cited_quote(markers: str) -> None:
    # "Tomás" is only in quote 1, "fixed ... test" only in quote 3.
    v = check(f"She fixed it with a test the same day and told Tomás {markers}.")
    assert v.supported, v.reasons
    assert set(v.cited) == {1, 3}
    alone = check("She fixed it with a test the same day and told Tomás [3].")
    assert alone.reasons == ("name 'Tomás' not in cited quotes [3]",)


# --------------------------------------------------------------------------------------------
# Numbers and dates
# --------------------------------------------------------------------------------------------


def test_every_number_must_be_in_a_cited_quote() -> None:
    assert check("About 8% of spans lost their parent [2].").supported
    v = check("About 14% of spans lost their parent [2].")
    assert v.reasons == ("number '14' not in cited quotes [2]",)


def test_a_number_found_only_in_the_second_cited_quote_passes() -> None:
    sentence = "Phase 2 slipped and the collector handles 1200 events per second"
    assert check(f"{sentence} [1][2].").supported
    assert "number '1200' not in cited quotes [1]" in check(f"{sentence} [1].").reasons


@pytest.mark.parametrize(
    "sentence",
    [
        "The collector handles 1200 events per second at 4.2 ms [2].",
        "The collector handles 1,200 events per second at 4.2 ms [2].",
        "Phase 2 will finish on 14 Aug [1].",
        "Phase 2 will finish on August 14th [1].",
        "Phase 2 will finish on 2026-08-14 [1].",
        # A date in the citation's date field counts too (2026-08-07), in any spelling.
        "In the weekly report of 7 Aug, phase 2 will finish late [1].",
        "On 2026-08-07, phase 2 will finish late [1].",
    ],
)
def test_numbers_and_dates_are_normalised(sentence: str) -> None:
    v = check(sentence)
    assert v.supported, v.reasons


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("The collector handles 1,300 events per second [2].", "number '1,300'"),
        ("The collector handles 1200 events per second at 4.5 ms [2].", "number '4.5'"),
        ("Phase 2 will finish on 15 Aug [1].", "date '15 Aug'"),
        ("Phase 2 will finish on 2025-08-14 [1].", "date '2025-08-14'"),
        ("In the weekly report of 9 Aug, phase 2 will finish late [1].", "date '9 Aug'"),
    ],
)
def test_a_wrong_number_or_date_fails(sentence: str, reason: str) -> None:
    v = check(sentence)
    assert [r for r in v.reasons if r.startswith(reason)], v.reasons


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


def test_proper_names_must_be_in_a_cited_quote() -> None:
    assert check("She told Tomás and Dana when phase 2 would finish [1].").supported
    v = check("She told Tomás and Priya when phase 2 would finish [1].")
    assert v.reasons == ("name 'Priya' not in cited quotes [1]",)


def test_sentence_starts_calendar_words_and_section_labels_are_not_names() -> None:
    # "On" and "Phase" start sentences, "Monday" and "August" are calendar words, "Delivery"
    # is a section label, "I" is "I".
    v = check("Delivery: Phase 2 will finish on 14 August, as I told Tomás on Monday [1].")
    assert v.supported, v.reasons
    assert check("- Delivery: She fixed it with a test the same day [3].").supported


# --------------------------------------------------------------------------------------------
# Quoted text
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        'A peer wrote that "she fixed it with a test the same day" [3].',
        'A peer wrote that "she fixed it with   a test\nthe same day" [3].',  # whitespace
        "A peer wrote that “she fixed it with a test the same day” [3].",  # curly quotes
        'A peer wrote that "she fixed it ... the same day" [3].',  # elision
    ],
)
def test_quoted_text_verbatim_passes(sentence: str) -> None:
    v = check(sentence)
    assert v.supported, v.reasons


@pytest.mark.parametrize(
    "sentence",
    [
        'A peer wrote that "she fixed it with two tests the same day" [3].',
        "A peer wrote that “she fixed it quickly with a test” [3].",
        'A peer wrote that "She fixed it with a test the same day" [3].',  # case changed
    ],
)
def test_quoted_text_that_is_not_verbatim_fails(sentence: str) -> None:
    v = check(sentence)
    assert not v.supported
    assert any(r.startswith("quoted text") and "not verbatim in cited [3]" in r for r in v.reasons)


def test_a_dated_source_lead_in_and_inner_quote_marks_are_accepted() -> None:
    said = Citation(7, "d7", "d7#0", 'She said "ship it" and we did.', "2026-08-03", "okr_update")
    verifier = CitationVerifier()
    point = "- An OKR update of 3 Aug 2026: \"She said 'ship it' and we did.\" [7]"
    assert verifier.check_sentence(point, {7: said}).supported
    wrong_day = point.replace("3 Aug", "4 Aug")
    assert verifier.check_sentence(wrong_day, {7: said}).reasons == (
        "date '4 Aug 2026' not in cited quotes [7]",
    )


def test_quoted_text_must_come_from_one_quote_not_two() -> None:
    stitched = 'She "fixed it with a test the same day" and "told Tomás" [1][3].'
    assert check(stitched).supported
    across = 'She wrote "the same day. Phase 2 will finish" [1][3].'
    assert any(r.startswith("quoted text") for r in check(across).reasons)


# --------------------------------------------------------------------------------------------
# Negation
# --------------------------------------------------------------------------------------------


def test_negation_must_agree_with_the_quote() -> None:
    v = check("She shipped the ingress migration on time [4].")
    assert v.reasons == ("'shipped' is stated here but negated in cited quotes [4]",)
    assert check("The ingress migration did not ship on time [4].").supported
    assert check("The ingress migration never shipped on time [4].").supported


def test_negating_what_the_quote_states_fails() -> None:
    v = check("She did not fix it with a test the same day [3].")
    assert v.reasons == ("'fix' is negated here but stated in cited quotes [3]",)
    v = check("She fixed it without a test the same day [3].")
    assert v.reasons == ("'test' is negated here but stated in cited quotes [3]",)


def test_refused_to_negates_the_verb_after_it() -> None:
    v = CitationVerifier().check_sentence("He refused to review pull requests [5].", CALIBRATION)
    assert v.reasons == ("'review' is negated here but stated in cited quotes [5]",)


def test_not_only_is_not_a_negation() -> None:
    assert check("She not only fixed it, she added a test the same day [3].").supported


# --------------------------------------------------------------------------------------------
# Meaning
# --------------------------------------------------------------------------------------------


def test_meaning_by_word_overlap_without_embeddings() -> None:
    assert check("She fixed the issue with a test on the same day [3].").supported
    v = check("She presented the quarterly roadmap to the leadership team [3].")
    assert len(v.reasons) == 1
    assert v.reasons[0].startswith("meaning not close to cited quotes [3] (word overlap 0.00")


def test_the_lead_in_and_quoted_parts_do_not_count_as_claims() -> None:
    # Alone, "weekly report" would halve the overlap; the lead-in is metadata, not a claim.
    assert check("In the weekly report of 7 Aug, phase 2 will finish late [1].").supported
    assert check('Her peer noted: "she fixed it with a test the same day" [3].').supported
    assert check('Peer feedback: "she fixed it with a test the same day" [3].').supported
    v = check('Best engineer ever: "she fixed it with a test the same day" [3].')
    assert any(r.startswith("meaning") for r in v.reasons)
    # But a claim added around a true quote still needs support of its own.
    v = check('She rebuilt the billing system and "fixed it with a test the same day" [3].')
    assert any(r.startswith("meaning") for r in v.reasons)


class _FixedEmbeddings(Embeddings):
    """Texts are unit vectors along one of two axes, by whether they mention "roadmap"."""

    def __init__(self, angle: float) -> None:
        self.angle = angle

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        tilted = [math.cos(self.angle), math.sin(self.angle)]
        return [tilted if "roadmap" in t else [1.0, 0.0] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


def test_embeddings_rescue_low_overlap_at_the_threshold_only() -> None:
    sentence = "She presented the quarterly roadmap to the leadership team [3]."
    close = CitationVerifier(_FixedEmbeddings(math.acos(0.6)), min_similarity=0.5)
    assert check(sentence, close).supported
    far = CitationVerifier(_FixedEmbeddings(math.acos(0.4)), min_similarity=0.5)
    [reason] = check(sentence, far).reasons
    assert reason.endswith("similarity 0.40 < 0.50)")


# Calibration pairs for DEFAULT_MIN_SIMILARITY: paraphrases that share too few words with their
# quote to pass on overlap, and sentences about something else that cite the same quote.
MENTOR = Citation(
    5,
    "d5",
    "d5#0",
    "He paired with the two new hires every afternoon for their first month and reviewed all "
    "of their pull requests.",
    "2026-05-02",
    "manager_note",
)
GUIDE = Citation(
    6,
    "d6",
    "d6#0",
    "The onboarding guide she rewrote cut setup time for new engineers from two days to half a "
    "day.",
    "2026-06-20",
    "peer_feedback",
)
INCIDENT = Citation(
    7,
    "d7",
    "d7#0",
    "During INC-074 she coordinated the response, kept the status page updated every 30 minutes "
    "and wrote the postmortem.",
    "2026-08-28",
    "recognition",
)
CALIBRATION = {c.n: c for c in [*CITATIONS, MENTOR, GUIDE, INCIDENT]}
# MiniLM cosine to the cited quote: 0.68, 0.72, 0.67, 0.58 for the paraphrases, 0.25, 0.20,
# 0.42, 0.28 for the unrelated sentences (DEFAULT_MIN_SIMILARITY is 0.45).
PARAPHRASES = [
    "She resolved the bug and added a regression test within hours [3].",
    "She repaired the defect promptly and covered it with a test [3].",
    "Her rewrite of the onboarding documentation made new engineers productive faster [6].",
    "She ran the incident and authored the postmortem [7].",
]
UNRELATED = [
    "She presented the quarterly roadmap to the leadership team [3].",
    "He reduced cloud costs by renegotiating the vendor contract [5].",
    "She shipped the payments integration ahead of schedule [6].",
    "She organised the team offsite and planned the social events [7].",
]


def test_calibration_paraphrases_fail_on_word_overlap_alone() -> None:
    verifier = CitationVerifier()
    for sentence in PARAPHRASES:
        [reason] = verifier.check_sentence(sentence, CALIBRATION).reasons
        assert reason.startswith("meaning not close"), sentence


def test_real_embeddings_pass_paraphrases_and_fail_unrelated(shared_embeddings: object) -> None:
    assert isinstance(shared_embeddings, Embeddings)
    verifier = CitationVerifier(shared_embeddings)
    assert verifier.min_similarity == DEFAULT_MIN_SIMILARITY
    for sentence in PARAPHRASES:
        v = verifier.check_sentence(sentence, CALIBRATION)
        assert v.supported, (sentence, v.reasons)
    for sentence in UNRELATED:
        v = verifier.check_sentence(sentence, CALIBRATION)
        assert not v.supported, sentence
        [reason] = v.reasons
        assert "similarity" in reason, reason


# --------------------------------------------------------------------------------------------
# Repair and drop
# --------------------------------------------------------------------------------------------


def test_repair_replaces_with_a_faithful_quote_keeping_the_bullet() -> None:
    text = "## Quality\n- She rewrote the whole billing system [3].\n- She told Tomás [1].\n"
    report = verify(text)
    assert report.text == f"## Quality\n- {FIX_FALLBACK}\n- She told Tomás [1].\n"
    assert [v.supported for v in report.verdicts] == [False, True]
    assert report.supported_share == 0.5
    assert check(FIX_FALLBACK).supported


def test_the_fallback_quotes_the_first_valid_citation_and_passes_the_checks() -> None:
    report = verify("The ingress migration shipped early [9][4][3].")
    fallback = (
        'An okr update (2026-07-03) notes: "The ingress migration did not ship on time because '
        'the load tests were skipped" [4].'
    )
    assert report.text == fallback
    assert check(fallback).supported


def test_a_quote_with_double_quotes_is_wrapped_in_curly_ones() -> None:
    said = Citation(7, "d7", "d7#0", 'She said "ship it" and we did.', "3 Aug 2026", "one_on_one")
    verifier = CitationVerifier()
    report = verifier.verify("She refused to ship it [7].", [said])
    assert report.text == 'A one on one (3 Aug 2026) notes: “She said "ship it" and we did” [7].'
    assert verifier.check_sentence(report.text, {7: said}).supported


def test_without_a_valid_citation_the_sentence_is_dropped_with_its_empty_line() -> None:
    text = (
        "## Delivery\n"
        "- She is a rockstar.\n"
        "- She fixed it with a test the same day [3]. She is the best engineer [8].\n"
        "\n"
        "Great attitude overall.\n"
        "\n"
        "## Growth\n"
    )
    report = verify(text)
    assert report.text == (
        "## Delivery\n- She fixed it with a test the same day [3].\n\n## Growth\n"
    )
    assert [v.supported for v in report.verdicts] == [False, True, False, False]


def test_without_repair_unsupported_sentences_are_dropped() -> None:
    text = (
        "- She rewrote the whole billing system [3].\n"
        "- She told Tomás [1]. She shipped 3 services [2].\n"
        "1. Phase 2 will finish on 14 August [1].\n"
    )
    report = verify(text, repair=False)
    assert report.text == "- She told Tomás [1].\n1. Phase 2 will finish on 14 August [1].\n"
    assert verify(text).text == (
        f"- {FIX_FALLBACK}\n"
        "- She told Tomás [1]. A weekly report (2026-08-07) notes: "
        '"With both loaded, about 8% of spans lost their parent. Aisha and I spent Tuesday and '
        'Wednesday on it. The collector now handles 1,200 events per second at 4.2 ms p99" [2].\n'
        "1. Phase 2 will finish on 14 August [1].\n"
    )


def test_the_same_fallback_is_not_written_twice() -> None:
    report = verify("She rewrote billing [3]. She rewrote payments [3].")
    assert report.text == FIX_FALLBACK


def test_supported_share() -> None:
    assert verify("# Only a heading\n").supported_share == 1.0
    assert verify("She told Tomás [1]. She told Priya [1]. Rockstar.").supported_share == (
        pytest.approx(1 / 3)
    )
