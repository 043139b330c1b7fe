"""Rule-based bias and quality check for feedback drafts and for anything a user writes.

`check_text` runs six rules and returns `LanguageWarning`s with exact character spans:

1. `personality`: a trait word about a person ("abrasive", "bossy") instead of a behaviour.
2. `gender_coded`: masculine- or feminine-coded words (Gaucher, Friesen & Kay 2011) and gendered
   descriptions of people ("the girls on the team"). A hint, not a verdict.
3. `vague_praise`: praise ("great job", "rockstar") with no concrete anchor: no [n] citation,
   number, date, ticket id or quoted text in the sentence or the next one of its paragraph.
4. `unactionable`: criticism ("needs to improve") with no next step ("try", "by Friday",
   "next time", a citation) in the sentence or the next one of its paragraph.
5. `out_of_period`: a [n] marker whose cited source is dated outside the review period.
6. `single_source`: a generalisation ("always", "never", "the best") resting on one cited
   document, on documents all by one author, or on no citation at all.

The word lists live in `language_rules.yaml` next to this module, so a company can edit them;
`load_rules(path)` reads another copy. No model and no network: plain regular expressions, so
the check is fast, deterministic and cheap enough to run on every draft.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, NoReturn

import yaml

from perfagent.errors import BadInputError
from perfagent.ingest.chunking import sentence_spans
from perfagent.periods import Period

__all__ = [
    "DEFAULT_RULES_PATH",
    "CitedSource",
    "LanguageRules",
    "LanguageWarning",
    "TermSet",
    "WarningKind",
    "check_text",
    "load_rules",
]

WarningKind = Literal[
    "personality", "gender_coded", "vague_praise", "unactionable", "out_of_period", "single_source"
]

DEFAULT_RULES_PATH = Path(__file__).with_name("language_rules.yaml")


@dataclass(frozen=True)
class LanguageWarning:
    """One finding: what is wrong with `text[start:end]` and how to rewrite it."""

    kind: WarningKind
    start: int
    end: int
    span: str
    message: str
    suggestion: str

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "span": self.span,
            "message": self.message,
            "suggestion": self.suggestion,
        }

    def __str__(self) -> str:
        # One line, whatever the span holds: drafts' "warnings" are lists of these strings.
        span = " ".join(self.span.split())
        return f'{self.kind}: "{span}" — {self.message}; try: {self.suggestion}'


@dataclass(frozen=True)
class CitedSource:
    """What a [n] marker in the checked text points to."""

    n: int
    doc_id: str
    date: date
    author_id: str | None = None


# --------------------------------------------------------------------------------------------
# Turning the YAML's terms into regular expressions
# --------------------------------------------------------------------------------------------

# Between the words of a term: spaces or hyphens ("hard working" == "hard-working").
_SEP = r"[\s-]+"
# Word edges: a hyphen counts as part of the word, so "aggressive" does not fire inside
# "passive-aggressive" and "driven" not inside "data-driven".
_START = r"(?<![\w-])"
_END = r"(?![\w-])"

# `{be}`: a copula and an optional intensifier. The contracted "'s" needs a word before it.
_BE = (
    r"(?:(?<=\w)['’]s|(?<![\w-])(?:is|was|are|were|be|been|being|can\s+be|could\s+be|seems?|"
    r"seemed|comes\s+across\s+as|came\s+across\s+as))"
    r"(?:\s+(?:very|really|so|too|always|extremely|quite|incredibly|super|overly|often|"
    r"sometimes|a\s+bit))?"
)
_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_WEEKDAY = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
# `{date}`: the date-like phrases a next step is tied to ("by 3 May", "before Friday", "by Q4").
_DATE = (
    rf"(?:\d{{4}}-\d{{2}}-\d{{2}}|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}|"
    rf"{_MONTH}(?:\s+\d{{1,2}}(?:st|nd|rd|th)?)?|{_WEEKDAY}|q[1-4]|(?:the\s+)?end\s+of\s+\w+|"
    r"next\s+\w+|tomorrow|today|tonight|eod|eow)"
)
_PLACEHOLDERS = {"{be}": _BE, "{date}": _DATE}


def _literal(word: str) -> str:
    """One word of a term, escaped; hyphens and apostrophes match their usual variants."""
    out: list[str] = []
    for ch in word:
        if ch == "-":
            out.append(r"[\s-]?")
        elif ch in "'’":
            out.append("['’]")
        else:
            out.append(re.escape(ch))
    return "".join(out)


def _inflections(word: str) -> list[str]:
    """Simple inflections of an adjective or noun: plural, -ness and -ly forms.

    Some forms are not English ("girlness"); they never occur, so they cost nothing. Verb forms
    (-ed, -ing) are left out on purpose: they turn adjectives into unrelated words.
    """
    w = word.lower()
    forms = {w, w + "s", w + "es", w + "ness", w + "ly"}
    if w.endswith("y"):
        forms |= {w[:-1] + "ies", w[:-1] + "iness"}
    if w.endswith("le"):
        forms.add(w[:-1] + "y")  # gentle -> gently
    if w.endswith("ic"):
        forms.add(w + "ally")  # empathetic -> empathetically
    return sorted(forms, key=lambda f: (-len(f), f))


def _token_regex(token: str, *, inflect: bool) -> str:
    if token in _PLACEHOLDERS:
        return _PLACEHOLDERS[token]
    if token.startswith("<") and token.endswith(">"):
        alternatives = [a for a in token[1:-1].split("|") if a]
        if not alternatives:
            raise ValueError("empty <context>")
        return "(?:" + "|".join(_literal(a) for a in alternatives) + ")"
    if "{" in token or "}" in token or "<" in token or ">" in token:
        raise ValueError(f"unknown placeholder in {token!r} (known: {', '.join(_PLACEHOLDERS)})")
    if token.endswith("*"):
        if len(token) < 2:
            raise ValueError("a lone *")
        return _literal(token[:-1]) + r"\w*"
    if inflect and token.isalpha():
        return "(?:" + "|".join(_inflections(token)) + ")"
    return _literal(token)


def _is_context(token: str) -> bool:
    return token.startswith("<") and token.endswith(">")


def compile_term(term: str, *, inflect: bool = False) -> re.Pattern[str]:
    """The regex for one YAML term; the flagged span is its group "t" (context excluded)."""
    tokens = term.split()
    lead = 0
    while lead < len(tokens) and (_is_context(tokens[lead]) or tokens[lead] in _PLACEHOLDERS):
        lead += 1
    trail = len(tokens)
    while trail > lead and _is_context(tokens[trail - 1]):
        trail -= 1
    core = tokens[lead:trail]
    if not core:
        raise ValueError("no word to flag (only context and placeholders)")
    # A leading {be} carries its own word edge (it may start with "'s" glued to a word).
    head = "" if tokens[0] == "{be}" else _START
    lead_re = "".join(_token_regex(t, inflect=False) + _SEP for t in tokens[:lead])
    core_re = _SEP.join(
        _token_regex(t, inflect=inflect and i == len(core) - 1) for i, t in enumerate(core)
    )
    trail_re = "".join(_SEP + _token_regex(t, inflect=False) for t in tokens[trail:])
    tail = f"(?={trail_re}{_END})" if trail_re else _END
    return re.compile(f"{head}{lead_re}(?P<t>{core_re}){tail}", re.IGNORECASE)


def required_literal(term: str, *, inflect: bool = False) -> str:
    """A casefolded string every match of `term` contains: the start of its first flagged word.

    Most terms occur in no given text, and a substring test rules them out far faster than
    running their regex (whose leading lookbehind defeats `re`'s own literal prefix search).
    """
    tokens = term.split()
    core = [t for t in tokens if not _is_context(t) and t not in _PLACEHOLDERS]
    if not core:
        return ""
    first = re.match(r"[^\W\d_]*", core[0].rstrip("*"))
    literal = first.group(0) if first else ""
    if inflect and len(core) == 1 and len(literal) > 2:
        literal = literal[:-1]  # lazy -> laziness, gentle -> gently
    return literal.casefold()


@dataclass(frozen=True)
class _Term:
    term: str
    pattern: re.Pattern[str]
    suggestion: str | None
    literal: str = ""


@dataclass(frozen=True)
class TermSet:
    """One word list of the rules file: its terms, and the message shown when one matches."""

    name: str
    message: str
    suggestion: str
    terms: tuple[_Term, ...]

    def present_in(self, folded_text: str) -> TermSet:
        """This set narrowed to the terms that can match a text (given casefolded)."""
        return replace(self, terms=tuple(t for t in self.terms if t.literal in folded_text))

    def find(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[_Match]:
        """Every match of every term inside text[pos:endpos], in term order."""
        stop = len(text) if endpos is None else endpos
        for term in self.terms:
            for m in term.pattern.finditer(text, pos, stop):
                yield _Match(m.start("t"), m.end("t"), term.suggestion or self.suggestion)


@dataclass(frozen=True)
class _Match:
    start: int
    end: int
    suggestion: str


@dataclass(frozen=True)
class LanguageRules:
    """The compiled contents of a rules file (see `language_rules.yaml` for the format)."""

    path: Path
    personality: TermSet
    gender_coded: tuple[TermSet, ...]
    vague_praise: TermSet
    unactionable: TermSet
    strong_claims: TermSet
    anchor_words: re.Pattern[str]
    next_step_cues: re.Pattern[str]
    thing_nouns: frozenset[str]
    negations: frozenset[str]


# --------------------------------------------------------------------------------------------
# Loading the rules file
# --------------------------------------------------------------------------------------------


def load_rules(path: Path | str | None = None) -> LanguageRules:
    """Read and compile a rules file (default: the bundled `language_rules.yaml`).

    Cached per file, keyed on its modification time and size, so an edited file is read again
    and an unchanged one is compiled once per process.
    """
    rules_path = Path(path).expanduser() if path is not None else DEFAULT_RULES_PATH
    try:
        stat = rules_path.stat()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise BadInputError(f"{rules_path}: cannot read language rules ({reason})") from exc
    return _load_cached(str(rules_path.resolve()), stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int, size: int) -> LanguageRules:
    rules_path = Path(path)
    try:
        data = yaml.safe_load(rules_path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        # Point a company's editor at the line they broke.
        line = f" at line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
        raise BadInputError(
            f"{rules_path}: cannot read language rules ({exc.problem or 'bad YAML'}{line})"
        ) from exc
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadInputError(
            f"{rules_path}: cannot read language rules ({exc.__class__.__name__})"
        ) from exc
    return _parse_rules(data, rules_path)


def _fail(path: Path, where: str, problem: str) -> NoReturn:
    raise BadInputError(f"{path}: language rules: {where}: {problem}")


def _mapping(value: object, path: Path, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(path, where, "must be a mapping")
    return value


def _string(value: object, path: Path, where: str) -> str:
    if isinstance(value, bool):
        # YAML reads a bare no/yes/on/off as a boolean: the usual mistake in a word list.
        _fail(path, where, f'must be a string, got {value!r} (quote words like "no" or "on")')
    if not isinstance(value, str) or not value.strip():
        _fail(path, where, "must be a non-empty string")
    return value.strip()


def _words(value: object, path: Path, where: str) -> list[str]:
    if not isinstance(value, list) or not value:
        _fail(path, where, "must be a non-empty list")
    return [_string(v, path, f"{where}[{i}]") for i, v in enumerate(value)]


def _compile(term: str, path: Path, where: str, *, inflect: bool = False) -> re.Pattern[str]:
    try:
        return compile_term(term, inflect=inflect)
    except (ValueError, re.error) as exc:
        _fail(path, where, f"bad term {term!r} ({exc})")


def _term_set(section: object, path: Path, where: str) -> TermSet:
    data = _mapping(section, path, where)
    inflect = data.get("inflect", False)
    if not isinstance(inflect, bool):
        _fail(path, f"{where}.inflect", "must be true or false")
    entries = data.get("terms")
    if not isinstance(entries, list) or not entries:
        _fail(path, f"{where}.terms", "must be a non-empty list")
    terms: list[_Term] = []
    for i, entry in enumerate(entries):
        here = f"{where}.terms[{i}]"
        suggestion: str | None = None
        if isinstance(entry, dict):
            term = _string(entry.get("term"), path, f"{here}.term")
            if "suggestion" in entry:
                suggestion = _string(entry["suggestion"], path, f"{here}.suggestion")
        else:
            term = _string(entry, path, here)
        pattern = _compile(term, path, here, inflect=inflect)
        terms.append(_Term(term, pattern, suggestion, required_literal(term, inflect=inflect)))
    return TermSet(
        name=where,
        message=_string(data.get("message"), path, f"{where}.message"),
        suggestion=_string(data.get("suggestion"), path, f"{where}.suggestion"),
        terms=tuple(terms),
    )


def _any_of(words: list[str], path: Path, where: str) -> re.Pattern[str]:
    try:
        alternatives = [compile_term(w).pattern for w in words]
    except (ValueError, re.error) as exc:
        _fail(path, where, str(exc))
    # Each alternative has a group "t"; rename them so they can share one pattern.
    joined = "|".join(a.replace("(?P<t>", "(?:") for a in alternatives)
    return re.compile(joined, re.IGNORECASE)


def _parse_rules(data: object, path: Path) -> LanguageRules:
    # Sections are read in the file's order, so the first error reported is the first one there.
    root = _mapping(data, path, "top level")
    if root.get("version", 1) != 1:
        _fail(path, "version", f"unsupported version {root.get('version')!r} (expected 1)")
    thing_nouns = _words(root.get("thing_nouns"), path, "thing_nouns")
    negations = _words(root.get("negations"), path, "negations")
    personality = _term_set(root.get("personality"), path, "personality")
    gender = _mapping(root.get("gender_coded"), path, "gender_coded")
    if not gender:
        _fail(path, "gender_coded", "needs at least one word list")
    gender_sets = tuple(
        _term_set(section, path, f"gender_coded.{name}") for name, section in gender.items()
    )
    praise = _mapping(root.get("vague_praise"), path, "vague_praise")
    vague_praise = _term_set(praise, path, "vague_praise")
    anchor_words = _words(praise.get("anchor_words"), path, "vague_praise.anchor_words")
    criticism = _mapping(root.get("unactionable"), path, "unactionable")
    unactionable = _term_set(criticism, path, "unactionable")
    cues = _words(criticism.get("next_step_cues"), path, "unactionable.next_step_cues")
    single = _mapping(root.get("single_source"), path, "single_source")
    strong = _words(single.get("strong_claims"), path, "single_source.strong_claims")
    return LanguageRules(
        path=path,
        personality=personality,
        gender_coded=gender_sets,
        vague_praise=vague_praise,
        unactionable=unactionable,
        strong_claims=TermSet(
            name="single_source.strong_claims",
            message="",
            suggestion="",
            terms=tuple(
                _Term(
                    w,
                    _compile(w, path, f"single_source.strong_claims[{i}]"),
                    None,
                    required_literal(w),
                )
                for i, w in enumerate(strong)
            ),
        ),
        anchor_words=_any_of(anchor_words, path, "vague_praise.anchor_words"),
        next_step_cues=_any_of(cues, path, "unactionable.next_step_cues"),
        thing_nouns=frozenset(w.lower() for w in thing_nouns),
        negations=frozenset(w.lower() for w in negations),
    )


# --------------------------------------------------------------------------------------------
# Text structure: citation markers, quotes, sentences, anchors
# --------------------------------------------------------------------------------------------

# [1], [2][3] (two markers) and [1, 3]; not a markdown link "[1](url)".
_CITATION = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\](?!\()")
_LEADING_MARKERS = re.compile(r"(?:\[\d+(?:\s*,\s*\d+)*\](?!\()\s*)+")
# Quoted source text. Straight quotes pair within one line, so one stray inch mark cannot
# silence a whole paragraph.
_QUOTE = re.compile(r'"[^"\n]+"|“[^”]+”')
_DIGIT = re.compile(r"\d")
# Month and day names count as dates only capitalised, so the modal "may" is not a date.
_DATE_NAME = re.compile(
    r"\b(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Monday|Tuesday|Wednesday|"
    r"Thursday|Friday|Saturday|Sunday)\b"
)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_BLOCK_START = re.compile(r"(?:[-*•]\s|\d+[.)]\s|#)")
_WORD = re.compile(r"[\w'’]+")


def _marker_numbers(marker: re.Match[str]) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", marker.group(1))]


def _sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans, with citation markers written after a full stop ("... late. [2]")
    moved back to the sentence they cite rather than starting the next one."""
    out: list[tuple[int, int]] = []
    for start, end in sentence_spans(text):
        m = _LEADING_MARKERS.match(text, start, end)
        if m and out and "\n" not in text[out[-1][1] : start]:
            marker_end = m.end()
            while marker_end > start and text[marker_end - 1].isspace():
                marker_end -= 1
            out[-1] = (out[-1][0], marker_end)
            start = m.end()
            if start >= end:
                continue
        out.append((start, end))
    return out


def _same_paragraph(text: str, end: int, next_start: int) -> bool:
    gap = text[end:next_start]
    if _BLANK_LINE.search(gap):
        return False
    # A new list item or heading starts a new block even without a blank line.
    return "\n" not in gap or not _BLOCK_START.match(text, next_start)


def _inside(spans: Sequence[tuple[int, int]], start: int, end: int) -> bool:
    return any(s <= start and end <= e for s, e in spans)


def _has_anchor(text: str, rules: LanguageRules) -> bool:
    """Whether a sentence holds something concrete: a citation, a number (dates and ticket ids
    like PAY-1432 have digits), a month or day name, quoted text, or a number word."""
    return bool(
        _DIGIT.search(text)
        or _DATE_NAME.search(text)
        or _QUOTE.search(text)
        or rules.anchor_words.search(text)
    )


def _has_next_step_cue(text: str, rules: LanguageRules) -> bool:
    return bool(rules.next_step_cues.search(text))


def _has_next_step(text: str, rules: LanguageRules) -> bool:
    """A next-step cue, or a citation: criticism resting on cited evidence is not a bare verdict."""
    return bool(_CITATION.search(text) or _has_next_step_cue(text, rules))


def _negated(text: str, sentence_start: int, at: int, rules: LanguageRules, window: int) -> bool:
    """Whether one of the `window` words before `at` (same sentence) negates what follows."""
    before = _WORD.findall(text[sentence_start:at])[-window:] if window else []
    return any(w.lower() in rules.negations or w.lower().endswith(("n't", "n’t")) for w in before)


_THING_SUBJECT = re.compile(
    r"([\w'’]+)\s+(?:is|was|are|were|seems|seemed|looks|looked|felt|feels)"
    r"(?:\s+(?:too|very|quite|overly|really|a\s+bit|rather|pretty))?\s+$",
    re.IGNORECASE,
)


def _about_a_thing(text: str, start: int, end: int, rules: LanguageRules) -> bool:
    """Whether a matched word describes a thing, not a person: a thing noun right after it
    ("aggressive timeline", "warm cache") or as its subject ("the timeline was aggressive")."""
    after = re.match(r"[\s-]+([\w'’]+)", text[end : end + 40])
    if after and after.group(1).lower() in rules.thing_nouns:
        return True
    subject = _THING_SUBJECT.search(text[max(0, start - 60) : start])
    return bool(subject) and subject.group(1).lower() in rules.thing_nouns


# --------------------------------------------------------------------------------------------
# The rules
# --------------------------------------------------------------------------------------------


def _lexical(
    text: str,
    kind: WarningKind,
    term_set: TermSet,
    quotes: Sequence[tuple[int, int]],
    rules: LanguageRules,
) -> list[LanguageWarning]:
    """Rules 1 and 2: every unquoted match that is about a person."""
    found: list[LanguageWarning] = []
    for m in term_set.find(text):
        if _inside(quotes, m.start, m.end) or _about_a_thing(text, m.start, m.end, rules):
            continue
        found.append(
            LanguageWarning(
                kind, m.start, m.end, text[m.start : m.end], term_set.message, m.suggestion
            )
        )
    return found


def _sentence_phrases(
    text: str,
    kind: WarningKind,
    term_set: TermSet,
    sentences: Sequence[tuple[int, int]],
    quotes: Sequence[tuple[int, int]],
    rules: LanguageRules,
    *,
    satisfied: Callable[[str, LanguageRules], bool],
    followed_by: Callable[[str, LanguageRules], bool],
) -> list[LanguageWarning]:
    """Rules 3 and 4: phrases in sentences that `satisfied` finds nothing in.

    The next sentence of the same paragraph may make up for it when `followed_by` finds
    something there, because writers often give the example or the next step right after the
    judgement ("Great job on billing. You shipped ...", "... needs to improve. Try ...").
    """
    found: list[LanguageWarning] = []
    for i, (start, end) in enumerate(sentences):
        hits = [
            m
            for m in term_set.find(text, start, end)
            if not _inside(quotes, m.start, m.end) and not _negated(text, start, m.start, rules, 3)
        ]
        if not hits or satisfied(text[start:end], rules):
            continue
        if i + 1 < len(sentences):
            next_start, next_end = sentences[i + 1]
            if _same_paragraph(text, end, next_start) and followed_by(
                text[next_start:next_end], rules
            ):
                continue
        found.extend(
            LanguageWarning(
                kind, m.start, m.end, text[m.start : m.end], term_set.message, m.suggestion
            )
            for m in hits
        )
    return found


def _period_bounds(period: tuple[date, date] | Period | None) -> tuple[date, date] | None:
    if period is None:
        return None
    first, last = (period.start, period.end) if isinstance(period, Period) else period
    if first > last:
        raise ValueError(f"period starts after it ends: {first}..{last}")
    return first, last


def _out_of_period(
    text: str, sources: dict[int, CitedSource], bounds: tuple[date, date]
) -> list[LanguageWarning]:
    """Rule 5: one warning per marker that cites at least one source dated outside the period."""
    first, last = bounds
    found: list[LanguageWarning] = []
    for marker in _CITATION.finditer(text):
        outside = [
            sources[n]
            for n in dict.fromkeys(_marker_numbers(marker))
            if n in sources and not first <= sources[n].date <= last
        ]
        if not outside:
            continue
        cited = " and ".join(f"[{s.n}] dated {s.date.isoformat()}" for s in outside)
        found.append(
            LanguageWarning(
                "out_of_period",
                marker.start(),
                marker.end(),
                marker.group(0),
                f"cites {cited}, outside the period {first.isoformat()}..{last.isoformat()}",
                "drop it, replace it with evidence from the period, "
                "or say explicitly that it is earlier context",
            )
        )
    return found


def _single_source(
    text: str,
    sources: dict[int, CitedSource],
    sentences: Sequence[tuple[int, int]],
    quotes: Sequence[tuple[int, int]],
    rules: LanguageRules,
) -> list[LanguageWarning]:
    """Rule 6: a generalising word whose sentence cites fewer than two independent documents.

    Messages name markers and dates, never authors: a draft's warnings may be shown to the
    person it is about, who must not learn who wrote a peer's feedback.
    """
    found: list[LanguageWarning] = []
    for start, end in sentences:
        claim = next(
            (
                m
                for m in sorted(rules.strong_claims.find(text, start, end), key=lambda m: m.start)
                if not _inside(quotes, m.start, m.end)
                # "not always" is a hedge, not a generalisation.
                and not _negated(text, start, m.start, rules, 1)
            ),
            None,
        )
        if claim is None:
            continue
        numbers = list(
            dict.fromkeys(
                n for mk in _CITATION.finditer(text, start, end) for n in _marker_numbers(mk)
            )
        )
        # A marker with no known source still counts as its own document: the check must not
        # invent a shared source it cannot see.
        documents = {sources[n].doc_id if n in sources else f"[{n}]" for n in numbers}
        authors = {sources[n].author_id if n in sources else None for n in numbers}
        markers = "".join(f"[{n}]" for n in numbers)
        if not numbers:
            message = "a generalisation with no citation; without evidence it reads as opinion"
            suggestion = (
                "cite two or more sources, or narrow it to dated examples, "
                'e.g. "in two of the three Q3 releases [1][2]"'
            )
        elif len(documents) == 1:
            message = (
                f"a generalisation resting on one source document {markers}; "
                "one example is not a pattern"
            )
            suggestion = (
                f"cite a second, independent source, or narrow the claim to what {markers} shows"
            )
        elif len(authors) == 1 and None not in authors:
            message = (
                f"a generalisation resting on {markers}, all written by one person; "
                "one view is not a pattern"
            )
            suggestion = "cite a source from someone else, or attribute the view to its author"
        else:
            continue
        found.append(
            LanguageWarning(
                "single_source",
                claim.start,
                claim.end,
                text[claim.start : claim.end],
                message,
                suggestion,
            )
        )
    return found


def _merge(found: list[LanguageWarning], text: str) -> list[LanguageWarning]:
    """Merge overlapping findings of one kind into one (the earliest, longest one's message),
    then sort by position."""
    merged: list[LanguageWarning] = []
    by_kind: dict[str, list[LanguageWarning]] = {}
    for w in found:
        by_kind.setdefault(w.kind, []).append(w)
    for kind in sorted(by_kind):
        current: LanguageWarning | None = None
        for w in sorted(by_kind[kind], key=lambda w: (w.start, -w.end, w.message)):
            if current is not None and w.start < current.end:
                end = max(current.end, w.end)
                current = LanguageWarning(
                    current.kind,
                    current.start,
                    end,
                    text[current.start : end],
                    current.message,
                    current.suggestion,
                )
                continue
            if current is not None:
                merged.append(current)
            current = w
        if current is not None:
            merged.append(current)
    return sorted(merged, key=lambda w: (w.start, w.end, w.kind))


def check_text(
    text: str,
    *,
    citations: Sequence[CitedSource] = (),
    period: tuple[date, date] | Period | None = None,
    rules: LanguageRules | None = None,
) -> list[LanguageWarning]:
    """Check a draft or a user's text; return its warnings sorted by start offset.

    `citations` says what each [n] marker points to (rules 5 and 6); `period` is the review
    period, inclusive (rule 5 runs only when both are given); `rules` defaults to the bundled
    rules file.
    """
    rules = rules if rules is not None else load_rules()
    folded = text.casefold()
    rules = replace(
        rules,
        personality=rules.personality.present_in(folded),
        gender_coded=tuple(s.present_in(folded) for s in rules.gender_coded),
        vague_praise=rules.vague_praise.present_in(folded),
        unactionable=rules.unactionable.present_in(folded),
        strong_claims=rules.strong_claims.present_in(folded),
    )
    bounds = _period_bounds(period)
    sources: dict[int, CitedSource] = {}
    for source in citations:
        sources.setdefault(source.n, source)
    quotes = [m.span() for m in _QUOTE.finditer(text)]
    sentences = _sentences(text)

    found: list[LanguageWarning] = []
    found += _lexical(text, "personality", rules.personality, quotes, rules)
    for term_set in rules.gender_coded:
        found += _lexical(text, "gender_coded", term_set, quotes, rules)
    found += _sentence_phrases(
        text,
        "vague_praise",
        rules.vague_praise,
        sentences,
        quotes,
        rules,
        satisfied=_has_anchor,
        followed_by=_has_anchor,
    )
    # A citation in the next sentence is evidence for that sentence, not a next step for this one.
    found += _sentence_phrases(
        text,
        "unactionable",
        rules.unactionable,
        sentences,
        quotes,
        rules,
        satisfied=_has_next_step,
        followed_by=_has_next_step_cue,
    )
    if bounds is not None and sources:
        found += _out_of_period(text, sources, bounds)
    found += _single_source(text, sources, sentences, quotes, rules)
    return _merge(found, text)
