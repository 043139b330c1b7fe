"""Evidence sentences: verbatim spans, masking, and who observed it (self, peer or manager)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from perfagent.org import OrgChart
from perfagent.store.chroma_store import StoredChunk
from perfagent.tools.evaluation import swap_text
from perfagent.tools.evidence import evidence_source, person_names, split_sentences
from perfagent.tools.masking import PERSON

DEMO_ORG = Path(__file__).resolve().parents[2] / "data" / "demo" / "org.csv"


@pytest.fixture(scope="module")
def org() -> OrgChart:
    return OrgChart.load(DEMO_ORG)


def chunk(
    text: str,
    *,
    subject: str = "E008",
    author: str = "E009",
    doc_type: str = "peer_feedback",
    day: str = "2026-06-30",
    doc_id: str = "demo/docs/x.md",
    index: int = 0,
    start: int = 0,
) -> StoredChunk:
    return StoredChunk(
        f"{doc_id}::{index}",
        text,
        {
            "doc_id": doc_id,
            "employee_id": subject,
            "author_id": author,
            "doc_type": doc_type,
            "date": day,
            "start": start,  # where the chunk starts in its document
        },
    )


@pytest.mark.parametrize(
    ("author", "subject", "doc_type", "expected"),
    [
        ("E008", "E008", "self_review", "self"),
        ("E008", "E008", "weekly_report", "self"),
        ("E003", "E008", "one_on_one", "manager"),  # direct manager
        ("E003", "E010", "peer_feedback", "manager"),  # skip-level: Dana above Kenji above Liam
        ("E002", "E010", "recognition", "manager"),  # the director, further up the chain
        ("E006", "E010", "one_on_one", "manager"),
        ("E009", "E008", "peer_feedback", "peer"),
        ("E010", "E006", "peer_feedback", "peer"),  # a report writing about their manager
        ("E001", "E008", "recognition", "peer"),  # HR is not in the chain of command
        ("E004", "E008", "peer_feedback", "peer"),  # another team's manager
        ("E004", "E008", "manager_note", "manager"),  # a manager note is a manager's view
    ],
)
def test_evidence_source(org: OrgChart, author: str, subject: str, doc_type: str, expected: str):
    assert evidence_source(author, subject, doc_type, org) == expected


def test_person_names_are_every_name_in_the_org(org: OrgChart) -> None:
    names = person_names(org)
    assert names == sorted(names) and len(names) == len(set(names))
    assert {"Sofia Rossi", "Alex Novak", "Alex Park", "Liam O'Connor"} <= set(names)
    assert len(names) == len(org)


TEXT = (
    "## Feedback on the payout status page\n"
    "\n"
    "- Sofia presented the payout status page at demo day and the room loved it.\n"
    "- She missed the milestone by two weeks and told us late.\n"
    "Why it slipped\n"
    "1. Too short.\n"
    "2) The estimate left out the migration work that Aisha had flagged in review.\n"
    "> Her write-up of INC-2026-071 was the clearest postmortem we had this quarter!"
)


SENTENCES = [
    "Sofia presented the payout status page at demo day and the room loved it.",
    "She missed the milestone by two weeks and told us late.",
    "The estimate left out the migration work that Aisha had flagged in review.",
    "Her write-up of INC-2026-071 was the clearest postmortem we had this quarter!",
]


def test_sentences_are_verbatim_spans_of_their_chunk(org: OrgChart) -> None:
    c = chunk(TEXT)
    found = split_sentences([c], org)
    assert len(found) == len(SENTENCES)
    for s, sentence in zip(found, SENTENCES, strict=True):
        assert s.quote.endswith(sentence)
        assert c.text[s.start : s.end] == s.quote  # verbatim, with exact offsets
        assert s.chunk_id == c.chunk_id and s.doc_id == "demo/docs/x.md"
        assert s.date == date(2026, 6, 30) and s.doc_type == "peer_feedback"
        assert s.author_id == "E009" and s.source == "peer"


def test_list_marks_are_not_part_of_the_quote(org: OrgChart) -> None:
    """Bullets, list numbers, heading and quote marks mid-chunk are left out of the quote."""
    c = chunk(TEXT)
    found = split_sentences([c], org)
    assert [s.quote for s in found] == SENTENCES
    assert all(c.text[s.start : s.end] == s.quote for s in found)


def test_headings_labels_and_short_lines_are_not_evidence(org: OrgChart) -> None:
    text = (
        "# Weekly report\n\n**Done**\n- Shipped it.\n- Release notes for v2\n"
        "Next week\n- Finish the ledger reconciliation job for the October billing run."
    )
    found = split_sentences([chunk(text, subject="E010", author="E010")], org)
    assert len(found) == 1
    assert found[0].quote.endswith(
        "Finish the ledger reconciliation job for the October billing run."
    )
    assert found[0].source == "self"


def test_masked_copy_hides_names_and_pronouns(org: OrgChart) -> None:
    found = split_sentences([chunk(TEXT)], org)
    for s in found:
        for word in ("Sofia", "Aisha", "She ", "Her ", " her ", " she "):
            assert word not in s.masked, (word, s.masked)
    assert found[0].masked.endswith(
        f"{PERSON} presented the payout status page at demo day and the room loved it."
    )
    assert "Aisha" in found[2].quote and PERSON in found[2].masked  # the quote itself is untouched


def test_swapped_names_and_pronouns_give_identical_masked_sentences(org: OrgChart) -> None:
    names = {"Sofia Rossi": "Samuel Rossi", "Sofia": "Samuel", "Aisha Bello": "Desmond Bello"}
    names["Aisha"] = "Desmond"
    swapped_org = OrgChart.from_rows(
        [
            {
                "employee_id": p.employee_id,
                "name": swap_text(p.name, names),
                "manager_id": p.manager_id or "",
                "role": p.role,
            }
            for p in org
        ]
    )
    before = split_sentences([chunk(TEXT)], org)
    after = split_sentences([chunk(swap_text(TEXT, names))], swapped_org)
    assert [s.quote for s in before] != [s.quote for s in after]
    assert [s.masked for s in before] == [s.masked for s in after]
    assert [s.source for s in before] == [s.source for s in after]


def test_order_is_by_date_then_document_and_deterministic(org: OrgChart) -> None:
    chunks = [
        chunk(
            "The second chunk of the later document says a lot.",
            day="2026-07-01",
            doc_id="b",
            index=1,
            start=60,
        ),
        chunk("The first chunk of the later document says a lot.", day="2026-07-01", doc_id="b"),
        chunk("The only chunk of the earlier document says a lot.", day="2026-05-01", doc_id="z"),
    ]
    found = split_sentences(chunks, org)
    assert [s.quote.split()[1] for s in found] == ["only", "first", "second"]
    assert [s.offset for s in found] == [0, 0, 60]  # the chunk's start in its document + span
    assert split_sentences(list(reversed(chunks)), org) == found


def test_source_follows_the_chunk_metadata(org: OrgChart) -> None:
    chunks = [
        chunk(
            "I led the remittance redesign from spec to launch.",
            author="E008",
            doc_type="self_review",
        ),
        chunk(
            "Sofia estimated the work well and delivered on time.",
            author="E003",
            doc_type="one_on_one",
        ),
    ]
    by_quote = {s.quote: s.source for s in split_sentences(chunks, org)}
    assert by_quote == {
        "I led the remittance redesign from spec to launch.": "self",
        "Sofia estimated the work well and delivered on time.": "manager",
    }
