"""Who the user means by an `employee` argument: an id, a name, a nickname-ish typo, or "me".

`resolve_person` turns what a user (or the model) wrote into one `Person`, searching only among
the people the viewer may see. Matching runs in stages, strongest first, and the first stage with
any hit anywhere in the organisation decides:

1. the viewer's own words ("me", "myself", "I", "my", "self");
2. an exact employee id or email address (case-insensitive);
3. an exact full name, ignoring case, accents, apostrophes and other punctuation
   ("tomas alvarez", "Liam OConnor", "Dana's" is "Dana");
4. an exact single name: a first, middle or last name ("Dana", "Whitfield");
5. fuzzy: rapidfuzz on the normalised names (see `FUZZY_THRESHOLD` and `AMBIGUITY_MARGIN`).

Within the deciding stage, the visible people scoring within `AMBIGUITY_MARGIN` of the stage's
best score are the answer: one is returned, several raise `AmbiguousPersonError` (best first, ties
by id). When the best match belongs to someone the viewer may not see, and no visible person is
that close, the request is refused with the same `PermissionRefusal` as for an id, so a weaker
visible match never silently stands in for the person the user named. Only when no stage matches
anyone in the organisation is the name unknown. Whether a name exists in the org chart is not
secret (documents are), so the refusal names only what the user typed; ids, titles and teams of
people the viewer may not see never appear in a message or a candidate list.
"""

from __future__ import annotations

import bisect
import itertools
import re
import threading
import unicodedata
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from perfagent.errors import BadInputError, PermissionRefusal
from perfagent.org import OrgChart, Person
from perfagent.retrieval.access import Viewer

# Fuzzy scores are rapidfuzz `fuzz.ratio` (normalised Indel similarity, 0-100). One wrong,
# missing or swapped letter in a 7-letter name scores ~86 ("micheal"/"michael"), one letter more
# or less in a 5-letter name ~89-91 ("sofa"/"sofia"), while unrelated words score below ~62 against
# every demo name ("bob", "zed", "payments", "team", "someone"), so 80 sits well inside the gap.
# Below 80 you would accept "mark" for "mary" (75); above ~86 you would reject "micheal".
FUZZY_THRESHOLD = 80.0
# A query token that starts a name token ("p" of "park", "kenj" of "kenji") scores this, so a
# full first name plus an initial ("Alex P": 100 and 90, mean 95) beats a fuzzy near-miss.
# A lone token must be at least `MIN_PREFIX` letters to count as a prefix ("Mich" yes, "Al" no).
PREFIX_SCORE = 90.0
MIN_PREFIX = 3
# People within this many points of the best are too close to call: "Alx" scores 85.7 for both
# Alexes. One letter of difference moves a ratio by more than 5 points while query and name
# together have under 40 letters (200 / total points a letter), so a closer spelling still wins.
AMBIGUITY_MARGIN = 5.0
# At most this many candidates are spelled out in the one-line ambiguity message.
MAX_LISTED = 8

SELF_WORDS = frozenset({"me", "myself", "i", "my", "mine", "self"})

# Common English nicknames -> the given name they stand for. Used only when the nickname is not
# itself a name in the organisation ("Alex" stays Alex when an Alex exists).
NICKNAMES: dict[str, tuple[str, ...]] = {
    "mike": ("michael",),
    "mick": ("michael",),
    "mikey": ("michael",),
    "dan": ("daniel",),
    "danny": ("daniel",),
    "tom": ("tomas", "thomas"),
    "tommy": ("tomas", "thomas"),
    "sam": ("samuel", "samantha"),
    "liz": ("elizabeth",),
    "beth": ("elizabeth",),
    "kate": ("katherine", "catherine"),
    "katie": ("katherine",),
    "bill": ("william",),
    "will": ("william",),
    "bob": ("robert",),
    "rob": ("robert",),
    "jim": ("james",),
    "jimmy": ("james",),
    "chris": ("christopher", "christine"),
    "matt": ("matthew",),
    "nick": ("nicholas",),
    "alex": ("alexander", "alexandra"),
    "josh": ("joshua",),
    "ben": ("benjamin",),
    "jen": ("jennifer",),
    "jenny": ("jennifer",),
    "charlie": ("charles", "charlotte"),
    "ed": ("edward",),
    "ted": ("edward",),
    "greg": ("gregory",),
    "tony": ("anthony",),
    "andy": ("andrew",),
    "drew": ("andrew",),
    "steve": ("stephen", "steven"),
    "joe": ("joseph",),
    "pat": ("patrick", "patricia"),
    "vicky": ("victoria",),
    "abby": ("abigail",),
    "meg": ("margaret", "megan"),
    "peggy": ("margaret",),
    "fran": ("francesca", "francis"),
    "liv": ("olivia",),
    "livvy": ("olivia",),
    "han": ("hannah",),
    "gracie": ("grace",),
    "carl": ("carlos",),
    "sofi": ("sofia",),
    "sophie": ("sofia",),
    "manny": ("emmanuel",),
    "em": ("emma",),
}

# Words that are also names or close to one ("grant", "will", "same" ~ "sam"): in free text they
# count as a mention only when capitalised.
_CAPITALISED_ONLY = frozenset(
    {
        "grant",
        "grace",
        "will",
        "may",
        "june",
        "april",
        "august",
        "same",
        "park",
        "mark",
        "bill",
        "rob",
        "pat",
        "rose",
        "faith",
        "hope",
        "joy",
        "john",
        "art",
        "ray",
        "case",
        "long",
        "young",
    }
)
_MENTION_STOPWORDS = frozenset(
    re.findall(
        r"\S+",
        """
a about above after again all also am an and any are as at be been before being below between
both but by can could did do does doing down draft during each few for from further had has have
having he her here hers herself him himself his how i if in into is it its itself just last let
me more most my myself no nor not now of off on once only or other our ours out over own please
pls quarter rate review same score scores she should show so some such than that the their theirs
them then there these they this those through to too u under until up very was we were what when
where which while who whom why will with would you your yours feedback notes note report reports
weekly summary summaries peer peers manager self team work year month since quality delivery
growth ownership communication collaboration okr okrs recognition find pull write tell give
month months half first second third fourth next previous doing done did going been well much
many how's what's who's q1 q2 q3 q4 h1 h2 one ones two three six
""",
    )
)
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ'’.-]*(?![\dA-Za-z])")

# Letters NFKD does not split into a base letter plus accent.
_FOLD = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d"}
)
_APOSTROPHES = "'’‘`´ʼ"
_POSSESSIVE = re.compile(f"(?<=\\w)[{_APOSTROPHES}]s\\b|(?<=s)[{_APOSTROPHES}](?!\\w)")
_APOSTROPHE = re.compile(f"[{_APOSTROPHES}]")
_SEPARATORS = re.compile(r"[\W_]+")
_ID_SHAPE = re.compile(r"[^\W\d_]{0,4}[-_]?\d+")


@dataclass(frozen=True)
class Candidate:
    """One person an ambiguous name could mean (only ever someone the viewer may see)."""

    employee_id: str
    name: str
    title: str
    team: str

    @classmethod
    def from_person(cls, person: Person) -> Candidate:
        return cls(person.employee_id, person.name, person.title, person.team)

    def describe(self) -> str:
        details = ", ".join(part for part in (self.employee_id, self.title, self.team) if part)
        return f"{self.name} ({details})"


class AmbiguousPersonError(BadInputError):
    """A name that fits several people the viewer may see (exit 2); lists them, best first."""

    def __init__(self, query: str, candidates: Sequence[Candidate]) -> None:
        self.query = query
        self.candidates = tuple(candidates)
        listed = ", ".join(c.describe() for c in self.candidates[:MAX_LISTED])
        more = len(self.candidates) - MAX_LISTED
        if more > 0:
            listed += f" and {more} more"
        super().__init__(f"'{_display(query)}' matches several people: {listed}; say which")

    def __reduce__(self):  # type: ignore[no-untyped-def]  # keeps the error picklable
        return (type(self), (self.query, self.candidates))


class UnknownPersonError(BadInputError):
    """No one in the organisation has this id or a name like it (exit 2)."""

    def __init__(self, query: str, by_id: bool = False) -> None:
        self.query = query
        self.by_id = by_id
        what = "with id" if by_id else "called"
        super().__init__(f"no one {what} '{_display(query)}' in the organisation")

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (type(self), (self.query, self.by_id))


def normalise(text: str) -> str:
    """Lower case, no accents, possessives or apostrophes; other punctuation is a space.

    "Liam O'Connor" -> "liam oconnor", "Tomás" -> "tomas", "Dana's" -> "dana", "@mei.chen" ->
    "mei chen".
    """
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    folded = plain.casefold().translate(_FOLD)
    folded = _POSSESSIVE.sub("", folded)
    folded = _APOSTROPHE.sub("", folded)
    return " ".join(_SEPARATORS.sub(" ", folded).split())


def resolve_person(org: OrgChart, viewer: Viewer, query: str) -> Person:
    """The one person `query` means, among those `viewer` may see.

    Raises BadInputError for an empty query, UnknownPersonError when no one in the organisation
    fits, AmbiguousPersonError when several visible people fit equally well, and
    PermissionRefusal when the best fit is someone the viewer may not see.
    """
    text = " ".join(query.split())
    if not text:
        raise BadInputError("the employee is empty")
    index = _index_for(org)
    norm = normalise(text)

    if norm in SELF_WORDS:
        return org.people.get(viewer.employee_id, viewer.person)

    key = text.casefold()
    by_id = index.by_id.get(key)
    if by_id is not None:
        if not viewer.may_see_subject(by_id.employee_id):
            raise PermissionRefusal(f"you may not see documents about {by_id.employee_id}")
        return by_id
    by_email = index.by_email.get(key)
    if by_email is not None:
        return _decide(text, [(100.0, by_email)], viewer)
    if _ID_SHAPE.fullmatch(text):
        raise UnknownPersonError(text, by_id=True)
    if not norm:  # only punctuation
        raise UnknownPersonError(text)

    tokens = tuple(norm.split())
    compact = "".join(tokens)
    stages: tuple[Callable[[], list[tuple[float, Person]]], ...] = (
        lambda: [(100.0, p) for p in index.by_full.get(norm, index.by_compact.get(compact, ()))],
        lambda: [(100.0, p) for p in index.by_token.get(norm, ())] if len(tokens) == 1 else [],
        lambda: index.fuzzy(tokens),
        # last: a common nickname for a given name ("mike" -> Michael), only when no name in
        # the organisation matches the word itself ("Dan" stays Dana/Daniel)
        lambda: [
            (100.0, p)
            for given in NICKNAMES.get(norm, ())
            if len(tokens) == 1
            for p in index.by_token.get(given, ())
        ],
    )
    for stage in stages:
        hits = stage()
        if hits:
            return _decide(text, hits, viewer)
    raise UnknownPersonError(text)


def find_mentions(org: OrgChart, text: str) -> list[str]:
    """The people `text` names, as written, in order: ids ("E014"), full or partial names,
    nicknames and near-miss spellings ("Micheal", "Sofa"). Each mention is what `resolve_person`
    would be given; whether it is one person, several or someone out of reach is decided there,
    with the viewer's rights. Self words ("me", "my") are not mentions."""
    index = _index_for(org)
    mentions: list[str] = []
    for match in re.finditer(r"\b[Ee]\d{3,}\b", text):
        if match.group(0).casefold() in index.by_id:
            mentions.append(match.group(0).upper())
    words = [(m.group(0).rstrip(".'’-"), m.start()) for m in _WORD.finditer(text)]
    taken: set[int] = set()
    for i, (word, _) in enumerate(words):
        if i in taken:
            continue
        token = _mention_token(word, index)
        if token is None:
            continue
        span = [word]
        taken.add(i)
        # a following name word belongs to the same mention ("Sofia Rossi", "Alex P")
        if i + 1 < len(words):
            nxt = words[i + 1][0]
            nxt_norm = normalise(nxt)
            if (
                nxt_norm
                and nxt_norm not in _MENTION_STOPWORDS
                and (
                    _mention_token(nxt, index) is not None
                    or (nxt[:1].isupper() and len(nxt_norm) <= 2)
                )
            ):
                span.append(nxt)
                taken.add(i + 1)
        mention = " ".join(span)
        mention = _POSSESSIVE_TAIL.sub("", mention)
        if mention.casefold() not in {m.casefold() for m in mentions}:
            mentions.append(mention)
    return mentions


_POSSESSIVE_TAIL = re.compile(r"(?:'s|’s|')$")


def _mention_token(word: str, index: _Index) -> str | None:
    """The name token `word` stands for, if it reads as part of a name."""
    norm = normalise(word)
    if not norm or " " in norm:
        return None
    if norm in _MENTION_STOPWORDS and not (word[:1].isupper() and norm in index.by_token):
        return None
    if norm in _CAPITALISED_ONLY and not word[:1].isupper():
        return None
    if norm in index.by_token:
        return norm
    if norm in NICKNAMES and any(g in index.by_token for g in NICKNAMES[norm]):
        return norm
    if len(norm) >= 3 and norm not in _MENTION_STOPWORDS:
        scores = index.token_scores(norm, allow_prefix=False)
        if scores:
            return max(scores, key=lambda k: scores[k])
    return None


def _decide(query: str, hits: list[tuple[float, Person]], viewer: Viewer) -> Person:
    """The visible people close to the stage's best score: one, several, or none (refuse)."""
    best = max(score for score, _ in hits)
    close = sorted(
        (
            (score, person)
            for score, person in hits
            if score >= best - AMBIGUITY_MARGIN and viewer.may_see_subject(person.employee_id)
        ),
        key=lambda hit: (-hit[0], hit[1].employee_id),
    )
    if not close:
        raise PermissionRefusal(f"you may not see documents about {_display(query)}")
    unique = list(dict.fromkeys(person for _, person in close))
    if len(unique) == 1:
        return unique[0]
    raise AmbiguousPersonError(query, [Candidate.from_person(p) for p in unique])


def _display(query: str) -> str:
    text = " ".join(query.split())
    return text if len(text) <= 80 else text[:79] + "…"


# --- the index ---------------------------------------------------------------------------------


class _Index:
    """Normalised names of everyone in one OrgChart, with lookups for each matching stage."""

    def __init__(self, org: OrgChart) -> None:
        self.people_dict = org.people
        self.size = len(org.people)
        self.by_id: dict[str, Person] = {}
        self.by_email: dict[str, Person] = {}
        self.by_full: dict[str, list[Person]] = {}
        self.by_compact: dict[str, list[Person]] = {}
        self.by_token: dict[str, list[Person]] = {}
        self.tokens_of: dict[str, tuple[str, ...]] = {}
        for person in org.people.values():
            self.by_id[person.employee_id.strip().casefold()] = person
            if person.email.strip():
                self.by_email.setdefault(person.email.strip().casefold(), person)
            norm = normalise(person.name)
            tokens = tuple(norm.split())
            self.tokens_of[person.employee_id] = tokens
            _add(self.by_full, norm, person)
            _add(self.by_compact, "".join(tokens), person)
            for token in dict.fromkeys(tokens):
                _add(self.by_token, token, person)
        self.vocab = sorted(self.by_token)
        self.fulls = list(self.by_full)
        self.compacts = list(self.by_compact)

    def is_for(self, org: OrgChart) -> bool:
        return org.people is self.people_dict and len(org.people) == self.size

    def token_scores(self, token: str, *, allow_prefix: bool) -> dict[str, float]:
        """Name tokens like `token`: ratio >= threshold, or PREFIX_SCORE for a prefix."""
        scores = {
            choice: score
            for choice, score, _ in process.extract(
                token, self.vocab, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD, limit=None
            )
        }
        if allow_prefix:
            start = bisect.bisect_left(self.vocab, token)
            for choice in itertools.takewhile(
                lambda v: v.startswith(token), itertools.islice(self.vocab, start, None)
            ):
                scores[choice] = max(scores.get(choice, 0.0), PREFIX_SCORE)
        return scores

    def fuzzy(self, tokens: tuple[str, ...]) -> list[tuple[float, Person]]:
        """Each person's best fuzzy score for the query, where it reaches the threshold."""
        best: dict[str, tuple[float, Person]] = {}

        def note(score: float, people: Iterable[Person]) -> None:
            for person in people:
                if score > best.get(person.employee_id, (-1.0, person))[0]:
                    best[person.employee_id] = (score, person)

        query = " ".join(tokens)
        compact = "".join(tokens)
        for choice, score, _ in process.extract(
            compact, self.compacts, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD, limit=None
        ):
            note(score, self.by_compact[choice])
        if len(tokens) == 1:
            scores = self.token_scores(tokens[0], allow_prefix=len(tokens[0]) >= MIN_PREFIX)
            for choice, score in scores.items():
                note(score, self.by_token[choice])
            return list(best.values())

        for scorer in (fuzz.ratio, fuzz.token_sort_ratio):
            for choice, score, _ in process.extract(
                query, self.fulls, scorer=scorer, score_cutoff=FUZZY_THRESHOLD, limit=None
            ):
                note(score, self.by_full[choice])
        # Token by token, in order: "Alex P", "Sofa Rossi", "Micheal B", "Mary Smith" for
        # "Mary Ann Smith". Every query token must match some later name token.
        per_token = [self.token_scores(t, allow_prefix=True) for t in tokens]
        first_hits = {person for choice in per_token[0] for person in self.by_token[choice]}
        for person in first_hits:
            name_tokens = self.tokens_of[person.employee_id]
            aligned = _align(per_token, name_tokens)
            if aligned is not None:
                note(aligned, [person])
        return list(best.values())


def _align(per_token: list[dict[str, float]], name_tokens: tuple[str, ...]) -> float | None:
    """The best mean score matching query tokens to name tokens in order, or None."""
    best: float | None = None
    for positions in itertools.combinations(range(len(name_tokens)), len(per_token)):
        total = 0.0
        for scores, position in zip(per_token, positions, strict=True):
            score = scores.get(name_tokens[position])
            if score is None:
                break
            total += score
        else:
            mean = total / len(per_token)
            best = mean if best is None else max(best, mean)
    return best


def _add(table: dict[str, list[Person]], key: str, person: Person) -> None:
    if key:
        table.setdefault(key, []).append(person)


# OrgChart is an unhashable dataclass, so the cache is keyed by id() and each entry holds a weak
# reference that is checked on lookup (an id can be reused once the chart is collected); a
# finalizer drops the entry when the chart goes.
_CACHE: dict[int, tuple[weakref.ref[OrgChart], _Index]] = {}
_CACHE_LOCK = threading.Lock()


def _index_for(org: OrgChart) -> _Index:
    key = id(org)
    entry = _CACHE.get(key)
    if entry is not None and entry[0]() is org and entry[1].is_for(org):
        return entry[1]
    index = _Index(org)
    with _CACHE_LOCK:
        fresh = key not in _CACHE
        _CACHE[key] = (weakref.ref(org), index)
    if fresh:
        weakref.finalize(org, _CACHE.pop, key, None)
    return index
