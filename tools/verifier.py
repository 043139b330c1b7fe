"""Citation verifier: every claim sentence of a draft must be backed by the quotes it cites.

A drafting model can cite `[2]` and still write something quote 2 does not say: a number it
made up, a name from another document, a paraphrase that flips "did not ship on time" into
"shipped on time". `CitationVerifier.verify` splits a markdown draft into claim sentences and
checks each one against its cited quotes:

1. markers: at least one `[n]`, and every `n` names a citation;
2. numbers: every number and date in the sentence is in a cited quote (or a cited date field);
3. names: every capitalised word that is not a sentence start or common vocabulary is in a
   cited quote;
4. quoted text: anything in quotation marks is a verbatim substring of one cited quote;
5. negation: no key word is negated in the sentence but stated in the quotes, or vice versa;
6. meaning: what is left (no markers, quotes or lead-in) shares most content words with the
   quotes or, with an embedding model, is close to one of them.

An unsupported sentence is replaced by a sentence that quotes its first valid citation verbatim
(`repair=True`), or dropped when it cites nothing valid. The checks are plain rules plus one
optional embedding call, so the result is deterministic and explains itself in `reasons`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from langchain_core.embeddings import Embeddings

from perfagent.periods import MONTHS
from perfagent.tools.citations import CITATION_MARKER, Citation, marker_numbers, strip_markers

__all__ = [
    "DEFAULT_MIN_SIMILARITY",
    "MIN_WORD_OVERLAP",
    "CitationVerifier",
    "SentenceVerdict",
    "VerificationReport",
]

# Cosine similarity (all-MiniLM-L6-v2, normalised vectors) between a sentence's own words and
# its best cited quote, at and above which the sentence counts as saying what the quote says.
# Calibrated on 37 sentence/quote pairs about feedback evidence (the ones in
# tests/unit_tests/test_verifier.py among them), scored as the verifier embeds them:
#   16 paraphrases (other words, same claim):         0.41 0.41 0.42 0.43 0.48 ... 0.78
#   14 unrelated claims citing the same quote:         0.00 ... 0.28 0.30 0.42
#    7 same-topic contradictions ("setup was still slow"): 0.26 ... 0.68
# 0.45 passes no unrelated claim (the highest is 0.42) and 12 of 16 paraphrases; the four it
# misses (0.41-0.43) lose nothing, since repair swaps them for their quote. A lower value would
# buy those four at no margin over the unrelated ones. Contradictions on the same topic score
# like paraphrases, so no threshold separates them: the negation, number and name rules do.
DEFAULT_MIN_SIMILARITY = 0.45

# Share of a sentence's content words (lemma-ish) that must occur in its cited quotes. Half lets
# a sentence reorder and reword a little; an invented clause usually brings more new words.
MIN_WORD_OVERLAP = 0.5


@dataclass(frozen=True)
class SentenceVerdict:
    """One claim sentence, where it sits in the draft, what it cites and why it failed."""

    sentence: str
    start: int
    end: int
    cited: tuple[int, ...]
    supported: bool
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "sentence": self.sentence,
            "start": self.start,
            "end": self.end,
            "cited": list(self.cited),
            "supported": self.supported,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class VerificationReport:
    """The repaired draft and a verdict for every claim sentence of the original."""

    text: str
    verdicts: tuple[SentenceVerdict, ...]

    @property
    def supported_share(self) -> float:
        if not self.verdicts:
            return 1.0
        return sum(v.supported for v in self.verdicts) / len(self.verdicts)


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

_WEEKDAYS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

# Capitalised words that are not names: calendar words, "I", and the section vocabulary that
# drafts use as labels ("Delivery: shipped ...").
_COMMON_CAPITALISED = (
    set(MONTHS)
    | _WEEKDAYS
    | {w + "s" for w in _WEEKDAYS}
    | {
        "i", "delivery", "quality", "collaboration", "ownership", "communication", "growth",
        "strengths", "strength", "suggestions", "suggestion", "impact", "leadership", "summary",
        "evidence", "overall", "okr", "okrs",
    }
)  # fmt: skip

_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "thirteen": "13", "fourteen": "14", "fifteen": "15", "twenty": "20", "thirty": "30",
    "hundred": "100",
}  # fmt: skip

# Function words and filler: they carry no claim, so they count neither for nor against overlap.
_STOPWORDS = (
    {
        "a", "an", "the", "and", "or", "but", "nor", "so", "yet", "if", "then", "than", "that",
        "this", "these", "those", "there", "here", "it", "its", "it's", "he", "she", "they",
        "them", "his", "her", "hers", "their", "theirs", "him", "we", "us", "our", "you", "your",
        "i", "me", "my", "mine", "who", "whom", "whose", "which", "what", "when", "where", "why",
        "how", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did",
        "done", "doing", "have", "has", "had", "having", "will", "would", "shall", "should", "can",
        "could", "may", "might", "must", "of", "in", "on", "at", "to", "for", "from", "by",
        "with", "about", "as", "into", "onto", "over", "under", "after", "before", "during",
        "since", "until", "while", "through", "across", "per", "via", "up", "down", "out", "off",
        "again", "also", "too", "very", "really", "quite", "just", "only", "still", "even",
        "ever", "always", "often", "sometimes", "already", "fully", "well", "much", "more",
        "most", "some", "any", "each", "every", "all", "both", "either", "neither", "other",
        "another", "such", "own", "same", "not", "no", "never", "none", "nothing", "without",
        "cannot", "because", "although", "though", "whereas", "whether", "within", "against",
        "among", "between", "around", "like", "themselves", "herself", "himself", "itself",
        "myself", "ourselves", "one", "ones", "lot", "lots", "way", "thing", "things",
        "according", "noted", "notes", "note", "says", "said", "writes", "wrote", "mentions",
        "mentioned", "states", "stated", "clearly", "consistently", "particularly", "notably",
        "especially", "overall",
    }
    | set(_NUMBER_WORDS)
    | set(MONTHS)
    | _WEEKDAYS
)  # fmt: skip

# Negation cues. "no", "zero" and "without" negate the noun right after them; the others the
# next content word (the verb or adjective of the claim).
_NEGATION_CUES = {"not", "no", "never", "without", "cannot", "nor", "neither", "none", "zero"}
# Verbs that negate the verb after "to": "failed to ship", "refused to review".
_NEGATING_VERBS = {"fail", "fails", "failed", "unable", "refuse", "refused", "declined", "forgot"}
_NOT_A_NEGATION_AFTER = {"only", "just", "least", "doubt"}  # "not only ... but also"
_CLAUSE_BREAKS = {
    "but", "and", "or", "although", "though", "while", "whereas", "because", "after", "before",
    "when", "since", "until", "that", "which", "who", "so", "yet",
}  # fmt: skip
_NEGATION_REACH = 3  # words after a cue in which the negated word must sit

_ABBREVIATIONS = {
    "e.g", "i.e", "etc", "vs", "approx", "dr", "mr", "mrs", "ms", "jr", "sr", "inc", "ltd",
    "no", "fig", "est", "cf", "al", "st", "mt", "jan", "feb", "mar", "apr", "jun", "jul", "aug",
    "sep", "sept", "oct", "nov", "dec",
}  # fmt: skip

# --------------------------------------------------------------------------------------------
# Patterns
# --------------------------------------------------------------------------------------------

_MONTH_RE = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)"
)
_ISO_DATE = r"(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"
_DAY_MONTH = (
    rf"(?P<dd>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<dm>{_MONTH_RE})\b"
    r"(?:,?\s+(?P<dy>\d{4})\b)?"
)
_MONTH_DAY = (
    rf"(?P<mm>{_MONTH_RE})\.?\s+(?P<md>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<my>\d{{4}})\b)?"
)
_DATE = re.compile(rf"(?<![\w-])(?:{_ISO_DATE}|{_DAY_MONTH}|{_MONTH_DAY})")
# A date inside a lead-in, without named groups (they may occur once per pattern only).
_DATE_PLAIN = (
    rf"(?:\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH_RE}\.?"
    rf"(?:,?\s+\d{{4}})?|{_MONTH_RE}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)"
)
# "1,200" (thousands) or "4.2" / "1.2.3"; a comma not followed by exactly three digits separates.
_NUMBER = re.compile(r"(?<![\d.,])(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)*)")

# The fixed lead-ins that tie a sentence to its source; they are metadata, not a claim.
_LEAD_INS = [
    re.compile(
        rf"^(?:In|From|Per|According\s+to)\s+(?:(?:the|a|an|her|his|their|my|your|its)\s+)?"
        rf"(?:[a-z][\w-]*\s+){{0,4}}?(?:of|on|from|dated)\s+\(?{_DATE_PLAIN}\)?\s*[,:]\s*"
    ),
    re.compile(
        rf"^(?:In|From|Per)\s+(?:(?:the|a|an|her|his|their|my|your)\s+)?\(?{_DATE_PLAIN}\)?\s+"
        r"(?:[a-z][\w-]*\s*){1,4}[,:]\s*"
    ),
    re.compile(
        rf"^(?:A|An|The|My|Her|His|Their|Your)\s+(?:[\w-]+\s+){{1,4}}?(?:of|on|from|dated)\s+"
        rf"\(?{_DATE_PLAIN}\)?\s*[,:]\s*"
    ),
    re.compile(rf"^On\s+{_DATE_PLAIN}\s*,\s*"),
    re.compile(
        rf"^(?:A|An|The)\s+(?:[a-z][\w-]*\s+){{1,4}}?(?:\(?{_DATE_PLAIN}\)?\s+)?"
        r"(?:notes|says|writes|states|records|reports|mentions)(?:\s+that)?\s*:?\s*"
    ),
]

# "A peer wrote that", "Tomás said:" or a source label ("Self-review:", "Peer feedback:")
# right before a quotation: who said it, not a claim.
_ATTRIBUTION = re.compile(
    r"(?:^|(?<=[,;:]\s))(?:(?:[\w'’]+\s+){0,3}(?:wrote|writes|said|says|noted|notes|observed|"
    r"observes|described|describes|called|calls|mentioned|mentions|recalled|commented|put\s+it)"
    r"(?:\s+(?:that|it|as|her|him|them))?\s*[:,]?|(?:[\w'’-]+\s+){0,2}"
    r"[\w'’-]*(?:review|feedback|report|note|update|one|retro|postmortem|doc|email|message|"
    r"comment|recognition|okr)s?\s*:)\s*$",
    re.IGNORECASE,
)
# Quoted text: straight quotes pair within one line, curly ones may wrap.
_QUOTED = re.compile(r'"(?P<s>[^"\n]+)"|“(?P<c>[^”]+)”')
_WORD = re.compile(r"[^\W\d_][\w]*(?:['’-][\w]+)*")
_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|[,;:.!?()—–]")

# Markdown structure.
_HEADING = re.compile(r"[ \t]{0,3}#{1,6}(?:[ \t]|$)")
_RULE = re.compile(r"[ \t]{0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
_EMPHASIS_LINE = re.compile(
    r"[ \t]*(?:(\*{1,3})(?![\s*])[^*\n]+(?<![\s*])\1|(_{1,3})(?![\s_])[^_\n]+(?<![\s_])\2)[ \t]*$"
)
_LABEL_LINE = re.compile(r"[ \t]*[^\W\d_][\w /&'’-]{0,40}:[ \t]*$")
_LIST_ITEM = re.compile(r"[ \t]*(?:>[ \t]?)*(?:[-*+•]|\d{1,3}[.)])[ \t]+")
_BLOCKQUOTE = re.compile(r"[ \t]*>")
# What precedes a sentence on its line and stays when the sentence is replaced: indentation,
# blockquote marks, a bullet or item number, and a bold label such as "**Delivery:**".
_PREFIX = re.compile(
    r"[ \t]*(?:>[ \t]?)*(?:(?:[-*+•]|\d{1,3}[.)])[ \t]+)?"
    r"(?:\*\*[^*\n]{1,60}?(?::\*\*|\*\*:)[ \t]*)?"
)
# A line with nothing left but its prefix (after a drop removed what followed it).
_BARE_PREFIX = re.compile(
    r"[ \t]*(?:>[ \t]?)*(?:(?:[-*+•]|\d{1,3}[.)])[ \t]*)?"
    r"(?:\*\*[^*\n]{1,60}?(?::\*\*|\*\*:)[ \t]*)?$"
)
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]*_]*(?=\s|$)")
_TRAILING_MARKERS = re.compile(r"[ \t]*(?:" + CITATION_MARKER.pattern + r"[ \t]*)+[.!?]?")

# Marks a dropped sentence's place until emptied lines are removed: a control character no
# draft holds (the first of these that the text does not contain).
_DROP_MARKS = "\x00\x01\x02\x03\ue000\ue001"


# --------------------------------------------------------------------------------------------
# Splitting a markdown draft into claim sentences
# --------------------------------------------------------------------------------------------


def _is_structure(line: str) -> bool:
    """Headings, blank lines, rules, lines wholly in italics, and short labels ("Strengths:",
    "**Collaboration**"): not claims."""
    if not line.strip() or _HEADING.match(line) or _RULE.match(line):
        return True
    if CITATION_MARKER.search(line):
        return False
    if _LABEL_LINE.match(line):
        return True
    emphasis = _EMPHASIS_LINE.match(line)
    if emphasis:
        delimiter = emphasis.group(1) or emphasis.group(2)
        if len(delimiter) == 1:
            return True  # a line wholly in italics: a disclaimer or a note to the reader
        # Wholly bold: a label ("**Collaboration**") if short and not a sentence.
        inner = line.strip().strip("*_").strip()
        return len(inner.split()) <= 6 and not inner.endswith((".", "!", "?"))
    prefix = _PREFIX.match(line)
    return prefix is not None and not line[prefix.end() :].strip()


def _blocks(text: str) -> list[tuple[int, int]]:
    """(start, end) of each run of claim lines: a list item or paragraph with its continuation
    lines (a sentence may wrap)."""
    blocks: list[tuple[int, int]] = []
    current: list[int] | None = None
    pos = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        start, end = pos, pos + len(body)
        pos += len(line)
        if _is_structure(body):
            current = None
            continue
        if current is None or _LIST_ITEM.match(body) or _BLOCKQUOTE.match(body):
            current = [start, end]
            blocks.append((start, end))
        else:
            current[1] = end
            blocks[-1] = (current[0], end)
    return blocks


def _quote_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    return [m.span() for m in _QUOTED.finditer(text, start, end)]


def _is_abbreviation(text: str, dot: int) -> bool:
    word = re.search(r"([A-Za-z][A-Za-z.]*)$", text[max(0, dot - 12) : dot])
    if not word:
        return False
    w = word.group(1)
    return w.lower().rstrip(".") in _ABBREVIATIONS or (len(w) == 1 and w.isupper())


def _sentences_in(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentence spans of text[start:end]: cut after . ! ? (not inside quotes, not after an
    abbreviation), with markers written after the full stop ("late. [2]") kept with it."""
    quotes = _quote_spans(text, start, end)
    spans: list[tuple[int, int]] = []
    s = start
    for m in _SENTENCE_END.finditer(text, start, end):
        cut = m.end()
        if cut <= s:
            continue
        if any(qs < m.start() and cut < qe for qs, qe in quotes):
            continue
        following = re.match(r"\s*(\S)", text[cut:end])
        if following and following.group(1).islower():
            continue  # 'wrote "done." in the channel': the sentence goes on
        if (
            text[m.start()] == "."
            and m.end() - m.start() == 1
            and _is_abbreviation(text, m.start())
        ):
            continue
        trailing = _TRAILING_MARKERS.match(text, cut, end)
        if trailing:
            cut = trailing.end()
        spans.append((s, cut))
        s = cut
    spans.append((s, end))
    out: list[tuple[int, int]] = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a and (strip_markers(text[a:b]).strip() or out == []):
            out.append((a, b))
        elif b > a and out:
            out[-1] = (out[-1][0], b)  # a lone "[2]" belongs to the sentence before it
    return out


def _claim_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every claim sentence in a markdown draft, without bullet prefixes."""
    spans: list[tuple[int, int]] = []
    for start, end in _blocks(text):
        prefix = _PREFIX.match(text, start, end)
        content = prefix.end() if prefix else start
        spans.extend(_sentences_in(text, content, end))
    return spans


# --------------------------------------------------------------------------------------------
# Normalising what the checks compare
# --------------------------------------------------------------------------------------------


_QUOTE_CHARS = str.maketrans({"’": "'", "‘": "'", "“": "'", "”": "'", '"': "'"})


def _ws(text: str) -> str:
    """Whitespace collapsed and quotation marks unified: a quote that turns the source's
    "double" quotes into 'single' ones inside its own is still verbatim."""
    return " ".join(text.translate(_QUOTE_CHARS).split())


def _number_key(raw: str) -> str:
    digits = raw.replace(",", "") if re.fullmatch(r"\d{1,3}(?:,\d{3})+", raw) else raw
    if "." in digits:
        head, _, rest = digits.partition(".")
        return (head.lstrip("0") or "0") + "." + rest
    return digits.lstrip("0") or "0"


@dataclass(frozen=True)
class _Date:
    year: int | None
    month: int
    day: int

    def matches(self, other: _Date) -> bool:
        same_day = (self.month, self.day) == (other.month, other.day)
        return same_day and (self.year is None or other.year is None or self.year == other.year)


def _dates(text: str) -> list[tuple[_Date, tuple[int, int]]]:
    found: list[tuple[_Date, tuple[int, int]]] = []
    for m in _DATE.finditer(text):
        g = m.groupdict()
        if g["iy"]:
            year, month, day = int(g["iy"]), int(g["im"]), int(g["id"])
        elif g["dd"]:
            year = int(g["dy"]) if g["dy"] else None
            month, day = MONTHS[g["dm"].lower()], int(g["dd"])
        else:
            year = int(g["my"]) if g["my"] else None
            month, day = MONTHS[g["mm"].lower()], int(g["md"])
        if 1 <= month <= 12 and 1 <= day <= 31:
            found.append((_Date(year, month, day), m.span()))
    return found


def _numbers(text: str) -> list[tuple[str, str]]:
    """(as written, key) for every number in `text` outside its dates."""
    blanked = text
    for _, (a, b) in _dates(text):
        blanked = blanked[:a] + " " * (b - a) + blanked[b:]
    return [(m.group(0), _number_key(m.group(0))) for m in _NUMBER.finditer(blanked)]


def _stem(word: str) -> str:
    """A lemma-ish key: lowercase, common suffixes off, so "shipped", "ships" and "shipping"
    meet at "ship" and "migrated" / "migration" at "migrat"."""
    w = word.lower().replace("’", "'")
    if w.endswith(("'s", "s'")):
        w = w[:-2] if w.endswith("'s") else w[:-1]
    for suffix, repl in (
        ("ies", "y"),
        ("ied", "y"),
        ("ational", "ate"),
        ("ations", "ate"),
        ("ation", "ate"),
        ("ments", ""),
        ("ment", ""),
        ("ness", ""),
        ("ingly", ""),
        ("edly", ""),
        ("ions", ""),
        ("ion", ""),
        ("ing", ""),
        ("ed", ""),
        ("ly", ""),
        ("es", "e"),
        ("s", ""),
    ):
        if w.endswith(suffix) and len(w) - len(suffix) + len(repl) >= 3:
            if suffix == "s" and w.endswith(("ss", "us", "is")):
                break
            w = w[: len(w) - len(suffix)] + repl
            break
    if w.endswith("y") and len(w) > 4:
        w = w[:-1]
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]  # shipp -> ship
    return w


def _content_words(text: str) -> list[tuple[str, str]]:
    """(word, stem) for the words that carry a claim."""
    out: list[tuple[str, str]] = []
    for m in _WORD.finditer(text):
        for part in re.split(r"-", m.group(0)):
            lower = part.lower().replace("’", "'")
            base = lower[:-2] if lower.endswith("'s") else lower
            if len(base) < 2 or base in _STOPWORDS or base.endswith("n't"):
                continue
            out.append((part, _stem(base)))
    return out


def _polarities(text: str) -> dict[str, set[bool]]:
    """Stem -> {True (stated), False (negated)} over the content words of `text`.

    A negation cue negates the first content word in the next few words of its clause; every
    other content word counts as stated."""
    tokens = [t.lower().replace("’", "'") for t in _TOKEN.findall(text)]
    negated_at: set[int] = set()
    for i, tok in enumerate(tokens):
        is_cue = tok in _NEGATION_CUES or tok.endswith("n't")
        if tok in _NEGATING_VERBS and i + 1 < len(tokens):
            is_cue = tokens[i + 1] == "to"
        if not is_cue or (i + 1 < len(tokens) and tokens[i + 1] in _NOT_A_NEGATION_AFTER):
            continue
        for j in range(i + 1, min(len(tokens), i + 1 + _NEGATION_REACH)):
            t = tokens[j]
            if not t[0].isalpha() or t in _CLAUSE_BREAKS:
                break
            if t not in _STOPWORDS and t != "to" and not t.endswith("n't"):
                negated_at.add(j)
                break
    out: dict[str, set[bool]] = {}
    for i, tok in enumerate(tokens):
        if not tok[0].isalpha() or tok in _STOPWORDS or tok.endswith("n't") or len(tok) < 2:
            continue
        out.setdefault(_stem(tok), set()).add(i not in negated_at)
    return out


def _strip_lead_in(text: str) -> str:
    for pattern in _LEAD_INS:
        m = pattern.match(text)
        if m:
            return text[m.end() :]
    return text


def _strip_prefix(sentence: str) -> str:
    prefix = _PREFIX.match(sentence)
    return sentence[prefix.end() :] if prefix else sentence


def _cited_label(numbers: Sequence[int]) -> str:
    return "[" + ", ".join(str(n) for n in numbers) + "]"


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------
# The verifier
# --------------------------------------------------------------------------------------------


class CitationVerifier:
    """Checks draft sentences against the quotes they cite; see the module docstring.

    `embeddings` (optional) lets a paraphrase pass the meaning check on cosine similarity when
    it shares too few words with its quote; without it the check is word overlap alone.
    """

    _CACHE_LIMIT = 4096

    def __init__(
        self,
        embeddings: Embeddings | None = None,
        *,
        min_similarity: float = DEFAULT_MIN_SIMILARITY,
    ) -> None:
        self.embeddings = embeddings
        self.min_similarity = min_similarity
        self._vectors: dict[str, list[float]] = {}

    # ---------------------------------------------------------------- one sentence

    def check_sentence(self, sentence: str, citations: Mapping[int, Citation]) -> SentenceVerdict:
        """Verdict on one sentence (markers included) against the citations it may cite."""
        return self._check(sentence, 0, len(sentence), citations)

    def _check(
        self, sentence: str, start: int, end: int, citations: Mapping[int, Citation]
    ) -> SentenceVerdict:
        cited = tuple(dict.fromkeys(marker_numbers(sentence)))
        valid = [citations[n] for n in cited if n in citations]
        reasons: list[str] = []
        if not cited:
            reasons.append("no citation marker")
        missing = [n for n in cited if n not in citations]
        if missing:
            reasons.append(f"citation {_cited_label(missing)} does not exist")
        if valid:
            label = _cited_label([c.n for c in valid])
            body = _strip_prefix(strip_markers(sentence)).strip()
            reasons += self._content_reasons(body, valid, label)
        return SentenceVerdict(sentence, start, end, cited, not reasons, tuple(reasons))

    def _content_reasons(self, body: str, quotes: Sequence[Citation], label: str) -> list[str]:
        reasons: list[str] = []
        texts = [c.quote for c in quotes]
        joined = "\n".join(texts)

        # Numbers and dates.
        quote_dates: list[_Date] = []
        for c in quotes:
            years = [d.year for d, _ in _dates(c.date) if d.year is not None]
            for d, _ in _dates(c.quote):
                # "14 August" in a note dated 2026-08-07 is 2026 (or 2027, said in December).
                if d.year is None and years:
                    quote_dates += [
                        _Date(years[0], d.month, d.day),
                        _Date(years[0] + 1, d.month, d.day),
                    ]
                else:
                    quote_dates.append(d)
        quote_numbers = {_number_key(m.group(0)) for t in texts for m in _NUMBER.finditer(t)}
        quote_numbers |= {
            _NUMBER_WORDS[w.lower()]
            for t in texts
            for w in re.findall(r"[A-Za-z]+", t)
            if w.lower() in _NUMBER_WORDS
        }
        for c in quotes:
            for d, _ in _dates(c.date):
                quote_dates.append(d)
                if d.year is not None:
                    quote_numbers.add(str(d.year))
        for d, (a, b) in _dates(body):
            if not any(d.matches(q) for q in quote_dates):
                reasons.append(f"date '{body[a:b]}' not in cited quotes {label}")
        for raw, key in _numbers(body):
            if key not in quote_numbers:
                reasons.append(f"number '{raw}' not in cited quotes {label}")

        # Quoted text.
        normalised_quotes = [_ws(t) for t in texts]
        for m in _QUOTED.finditer(body):
            fragment = m.group("s") or m.group("c") or ""
            if not _verbatim(fragment, normalised_quotes):
                reasons.append(f'quoted text "{_short(fragment)}" not verbatim in cited {label}')
        unquoted = _QUOTED.sub(" ", body)

        # Proper names.
        folded = joined.casefold().replace("’", "'")
        for name in _names(unquoted):
            pattern = r"(?<!\w)" + re.escape(name.casefold().replace("’", "'")) + r"(?!\w)"
            if not re.search(pattern, folded):
                reasons.append(f"name '{name}' not in cited quotes {label}")

        # Negation.
        mine = _polarities(unquoted)
        theirs = _polarities(joined)
        for word, stem in _content_words(unquoted):
            if stem in mine and stem in theirs and not (mine[stem] & theirs[stem]):
                here, there = (
                    ("negated", "stated") if False in mine[stem] else ("stated", "negated")
                )
                reasons.append(f"'{word}' is {here} here but {there} in cited quotes {label}")
                mine.pop(stem)

        # Meaning.
        residual = _without_quotations(_strip_lead_in(body))
        reason = self._meaning_reason(residual, texts, label)
        if reason:
            reasons.append(reason)
        return reasons

    def _meaning_reason(self, residual: str, texts: Sequence[str], label: str) -> str | None:
        words = {stem for _, stem in _content_words(residual)}
        if not words:
            return None  # nothing claimed beyond the quoted text and the lead-in
        quote_words = {stem for t in texts for _, stem in _content_words(t)}
        overlap = len(words & quote_words) / len(words)
        if overlap >= MIN_WORD_OVERLAP:
            return None
        detail = f"word overlap {overlap:.2f} < {MIN_WORD_OVERLAP:.2f}"
        if self.embeddings is not None:
            similarity = self._similarity(" ".join(residual.split()), texts)
            if similarity >= self.min_similarity:
                return None
            detail += f", similarity {similarity:.2f} < {self.min_similarity:.2f}"
        return f"meaning not close to cited quotes {label} ({detail})"

    def _similarity(self, text: str, quotes: Sequence[str]) -> float:
        """Best cosine similarity of `text` to any of `quotes` (0.0 without embeddings)."""
        if self.embeddings is None or not quotes:
            return 0.0
        wanted = [t for t in dict.fromkeys([text, *quotes]) if t not in self._vectors]
        if wanted:
            if len(self._vectors) + len(wanted) > self._CACHE_LIMIT:
                self._vectors.clear()
            for t, v in zip(wanted, self.embeddings.embed_documents(wanted), strict=True):
                self._vectors[t] = list(v)
        return max(_cosine(self._vectors[text], self._vectors[q]) for q in quotes)

    # ---------------------------------------------------------------- a whole draft

    def verify(
        self, text: str, citations: Sequence[Citation], *, repair: bool = True
    ) -> VerificationReport:
        """Check every claim sentence of a markdown draft; return the draft with unsupported
        sentences replaced by a quote of their first valid citation (`repair`) or dropped."""
        by_number: dict[int, Citation] = {}
        for c in citations:
            by_number.setdefault(c.n, c)
        mark = next((c for c in _DROP_MARKS if c not in text), "")
        verdicts: list[SentenceVerdict] = []
        fallbacks: set[str] = set()
        pieces: list[str] = []
        pos = 0
        for start, end in _claim_spans(text):
            verdict = self._check(text[start:end], start, end, by_number)
            verdicts.append(verdict)
            if verdict.supported:
                continue
            replacement = self._fallback(verdict, by_number) if repair else None
            if replacement is not None and replacement not in fallbacks:
                # The same quote twice adds nothing: a second identical fallback is dropped.
                fallbacks.add(replacement)
                pieces += [text[pos:start], replacement]
                pos = end
                continue
            # Drop the sentence and the spaces after it (or before it, at a line's end).
            after = end
            while after < len(text) and text[after] in " \t":
                after += 1
            before = start
            if after == len(text) or text[after] in "\r\n":
                while before > pos and text[before - 1] in " \t":
                    before -= 1
            pieces += [text[pos:before], mark]
            pos = after
        pieces.append(text[pos:])
        repaired = "".join(pieces)
        if mark:
            repaired = _remove_emptied_lines(repaired, mark)
        return VerificationReport(repaired, tuple(verdicts))

    def _fallback(self, verdict: SentenceVerdict, citations: Mapping[int, Citation]) -> str | None:
        """A sentence that only quotes the first valid citation, if it passes the checks."""
        first = next((citations[n] for n in verdict.cited if n in citations), None)
        if first is None:
            return None
        quote = " ".join(first.quote.split())
        if quote.endswith(".") and not quote.endswith(".."):
            quote = quote[:-1]
        if not quote:
            return None
        open_q, close_q = ("“", "”") if '"' in quote else ('"', '"')
        if "”" in quote and open_q == "“":
            return None
        kind = " ".join(first.doc_type.replace("_", " ").lower().split()) or "source"
        vowel_sound = kind[0] in "aeiou" and not kind.startswith(("one", "uni", "use", "eu"))
        article = "An" if vowel_sound else "A"
        when = f" ({first.date})" if _dates(first.date) else ""
        candidate = f"{article} {kind}{when} notes: {open_q}{quote}{close_q} [{first.n}]."
        if not self._check(candidate, 0, len(candidate), citations).supported:
            return None
        return candidate


def _verbatim(fragment: str, quotes: Sequence[str]) -> bool:
    """Whether a quoted fragment (whitespace-normalised; "..." for an elision; trailing
    punctuation ignored) is a substring of one quote, its pieces in order."""
    pieces = [_ws(p).strip(" ,;:.") for p in re.split(r"\.\.\.|…", fragment)]
    pieces = [p for p in pieces if p]
    if not pieces:
        return True
    for quote in quotes:
        at = 0
        for piece in pieces:
            found = quote.find(piece, at)
            if found < 0:
                break
            at = found + len(piece)
        else:
            return True
    return False


def _without_quotations(text: str) -> str:
    """`text` without its quoted parts and the attributions right before them."""
    pieces: list[str] = []
    last = 0
    for m in _QUOTED.finditer(text):
        before = text[last : m.start()]
        attribution = _ATTRIBUTION.search(before)
        pieces.append(before[: attribution.start()] if attribution else before)
        last = m.end()
    pieces.append(text[last:])
    return " ".join(pieces)


def _names(text: str) -> list[str]:
    """Capitalised words that are not at a sentence or clause start and not common vocabulary."""
    names: list[str] = []
    first = True
    for m in _WORD.finditer(text):
        before = text[: m.start()].rstrip(" \t*_`(\"'“‘")
        at_start = first or before.endswith((":", ";", ".", "!", "?", "\n"))
        first = False
        if at_start:
            continue
        for part in m.group(0).split("-"):
            word = re.sub(r"['’]s$", "", part)
            if word[:1].isupper() and word.lower() not in _COMMON_CAPITALISED:
                names.append(word)
    return list(dict.fromkeys(names))


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def _remove_emptied_lines(text: str, mark: str) -> str:
    """Remove lines that dropped sentences left empty (or with only a bullet), and the blank
    line that would then double up; clear the drop marks elsewhere."""
    if mark not in text:
        return text
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    skip_blank = False
    for line in lines:
        if mark in line:
            cleaned = line.replace(mark, "")
            if _BARE_PREFIX.match(cleaned.rstrip("\r\n")):
                skip_blank = not out or not out[-1].strip()
                continue
            line = cleaned
        if skip_blank and not line.strip():
            skip_blank = False
            continue
        skip_blank = False
        out.append(line)
    result = "".join(out)
    if text.endswith("\n") and result and not result.endswith("\n"):
        result += "\n"
    return result
