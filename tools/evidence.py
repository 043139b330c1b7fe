"""Evidence sentences: the verbatim, viewer-visible sentences a score or a draft can rest on.

Evidence is gathered per sentence rather than per chunk: a chunk often mixes praise and
criticism about different dimensions, and a sentence is the unit a reader can check. Each
sentence keeps its exact span in its chunk (so its quote is a verbatim substring) and a masked
copy (names and pronouns neutralised) that is all the judge ever sees.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from perfagent.ingest.chunking import sentence_spans
from perfagent.org import OrgChart
from perfagent.store.chroma_store import StoredChunk
from perfagent.tools.aggregation import Source
from perfagent.tools.masking import mask_people

# A bullet, a list number, a heading mark or a bold run-in label ("**How it's going.**")
# before the sentence proper: not part of the quote. Used with match(text, pos), so no "^"
# (which would not match at pos > 0, for sentences in the middle of a chunk).
_LEAD = re.compile(
    r"(?:#{1,6}\s+|[-*•]\s+|\d+[.)]\s+|>\s*|\*\*[^*\n]{1,60}[.:]\*\*\s+|\*\*[^*\n]{1,60}\*\*[.:]\s+)+"
)
_WORD = re.compile(r"[A-Za-z0-9][\w'’%-]*")
MIN_WORDS = 4  # shorter lines are labels ("Why it slipped"), not evidence
MAX_HEADING_WORDS = 7  # a short line with no closing punctuation is a heading
_ENDS = re.compile(r"[.!?;:)\"'’”]$")


@dataclass(frozen=True)
class EvidenceSentence:
    doc_id: str
    chunk_id: str
    quote: str  # verbatim: chunk.text[start:end]
    start: int
    end: int
    offset: int  # start in the whole document
    date: date
    doc_type: str
    author_id: str
    source: Source
    masked: str  # what the judge reads


def evidence_source(author_id: str, subject_id: str, doc_type: str, org: OrgChart) -> Source:
    """Who observed it: the subject themself, someone in their management chain, or a peer."""
    if author_id == subject_id:
        return "self"
    if doc_type == "manager_note" or author_id in org.chain_of_command(subject_id):
        return "manager"
    return "peer"


def person_names(org: OrgChart) -> list[str]:
    """Every name in the org, the words the masker neutralises."""
    return sorted({p.name for p in org})


def split_sentences(
    chunks: Iterable[StoredChunk], org: OrgChart, *, names: Sequence[str] | None = None
) -> list[EvidenceSentence]:
    """The evidence-sized sentences of `chunks`, in chunk order (deterministic)."""
    names = list(names) if names is not None else person_names(org)
    found: list[EvidenceSentence] = []
    for chunk in chunks:
        meta = chunk.metadata
        subject = str(meta["employee_id"])
        author = str(meta["author_id"])
        doc_type = str(meta["doc_type"])
        source = evidence_source(author, subject, doc_type, org)
        day = date.fromisoformat(str(meta["date"]))
        for start, end in sentence_spans(chunk.text):
            lead = _LEAD.match(chunk.text, start, end)
            if lead:
                start = lead.end()
            quote = chunk.text[start:end]
            words = len(_WORD.findall(quote))
            if words < MIN_WORDS or (words <= MAX_HEADING_WORDS and not _ENDS.search(quote)):
                continue
            found.append(
                EvidenceSentence(
                    doc_id=str(meta["doc_id"]),
                    chunk_id=chunk.chunk_id,
                    quote=quote,
                    start=start,
                    end=end,
                    offset=int(meta.get("start", 0)) + start,
                    date=day,
                    doc_type=doc_type,
                    author_id=author,
                    source=source,
                    masked=mask_people(quote, names),
                )
            )
    found.sort(key=lambda s: (s.date, s.doc_id, s.offset))
    return found
