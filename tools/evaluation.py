"""The project's own evaluation of scoring and drafting (`perfagent eval scoring`).

On a document set with a `ground_truth.yaml` of designed levels (data/demo, data/eval_alt):

- Spearman correlation, per dimension, between computed scores and the designed levels;
- abstention on people marked `evidence: thin` (share of their dimensions that are insufficient);
- drafts: share of draft sentences whose citations support them, before the verifier repairs
  anything (how faithful the drafter is) and after (what a user gets; must be 100%);
- counterfactual fairness: every name in org.csv and the documents is replaced by a name of the
  other conventional gender and every pronoun swapped, the copy is ingested into its own store,
  and the largest score change over all people and dimensions is reported (target: exactly 0);
- time to score one person, warm.
"""

from __future__ import annotations

import re
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from perfagent.container import Container
from perfagent.errors import BadInputError
from perfagent.ingest.documents import extract_binary_text, sidecar_of
from perfagent.periods import parse_period
from perfagent.settings import load_settings
from perfagent.store.embeddings import SentenceEmbeddings

# Replacement first names for the swap test, one per person, alternating conventional gender.
_SWAP_NAMES = (
    "Samuel", "Helena", "Bartholomew", "Ingrid", "Desmond", "Rosalind", "Ignatius", "Beatrix",
    "Leopold", "Cordelia", "Ambrose", "Winifred", "Cornelius", "Philippa", "Lysander",
    "Henrietta", "Percival", "Genevieve", "Thaddeus", "Marguerite", "Barnaby", "Ottoline",
    "Montgomery", "Clementine", "Fitzgerald", "Araminta", "Horatio", "Evangeline",
)  # fmt: skip
_PRONOUN_SWAP = {
    "he": "she", "she": "he", "him": "her", "his": "her", "her": "his", "hers": "his",
    "himself": "herself", "herself": "himself",
}  # fmt: skip
_PRONOUN_RE = re.compile(r"\b(" + "|".join(_PRONOUN_SWAP) + r")\b", re.IGNORECASE)


def spearman(xs: list[float], ys: list[float]) -> float | None:
    """Spearman's rho with average ranks for ties; None when either side is constant."""

    def ranks(values: list[float]) -> list[float]:
        order = sorted(range(len(values)), key=lambda i: values[i])
        out = [0.0] * len(values)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
                j += 1
            for k in range(i, j + 1):
                out[order[k]] = (i + j) / 2 + 1
            i = j + 1
        return out

    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    rx, ry = ranks(xs), ranks(ys)
    mx, my = statistics.fmean(rx), statistics.fmean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    var = (sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry)) ** 0.5
    return cov / var


def swap_text(text: str, names: dict[str, str]) -> str:
    """`text` with each name (longest first) and each gendered pronoun swapped."""
    if names:
        pattern = re.compile(
            r"\b(" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")\b"
        )
        text = pattern.sub(lambda m: names[m.group(1)], text)

    def pronoun(m: re.Match[str]) -> str:
        word = m.group(1)
        new = _PRONOUN_SWAP[word.lower()]
        return new.capitalize() if word[0].isupper() else new

    return _PRONOUN_RE.sub(pronoun, text)


def swapped_copy(source: Path, target: Path) -> dict[str, str]:
    """Copy a document set with every person's first name replaced and pronouns swapped."""
    import csv

    with (source / "org.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    names: dict[str, str] = {}
    for i, row in enumerate(rows):
        first, _, rest = row["name"].partition(" ")
        new_first = _SWAP_NAMES[i % len(_SWAP_NAMES)]
        names[row["name"]] = f"{new_first} {rest}".strip()
        names.setdefault(first, new_first)
    shutil.copytree(source, target)
    for path in sorted(target.rglob("*")):
        if path.is_file() and path.suffix in {".md", ".txt", ".jsonl", ".csv"}:
            path.write_text(swap_text(path.read_text(encoding="utf-8"), names), encoding="utf-8")
        elif path.is_file() and path.suffix.lower() in {".pdf", ".docx"}:
            # Binary text cannot be edited in place: the copy holds the same text, swapped, as
            # Markdown with the sidecar's fields (named so it sorts where the original did).
            sidecar = sidecar_of(path)
            if sidecar is None:
                continue
            fields = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
            body = swap_text(extract_binary_text(path), names)
            front = yaml.safe_dump(fields, sort_keys=False, allow_unicode=True)
            path.with_name(path.name + ".md").write_text(
                f"---\n{front}---\n{body}\n", encoding="utf-8"
            )
            path.unlink()
            sidecar.unlink()
    return names


@dataclass
class ScoringEvaluation:
    name: str
    spearman: dict[str, float | None]
    thin_insufficient_share: float | None
    draft_supported_before_repair: float
    draft_supported_after_repair: float
    draft_sentences: int
    max_swap_change: float | None
    score_seconds_median: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def mean_spearman(self) -> float | None:
        values = [v for v in self.spearman.values() if v is not None]
        return statistics.fmean(values) if values else None

    def to_json(self) -> dict[str, object]:
        return {
            "set": self.name,
            "spearman": {k: None if v is None else round(v, 3) for k, v in self.spearman.items()},
            "mean_spearman": None if self.mean_spearman is None else round(self.mean_spearman, 3),
            "thin_insufficient_share": self.thin_insufficient_share,
            "draft_supported_before_repair": round(self.draft_supported_before_repair, 4),
            "draft_supported_after_repair": round(self.draft_supported_after_repair, 4),
            "draft_sentences": self.draft_sentences,
            "max_swap_change": self.max_swap_change,
            "score_seconds_median": round(self.score_seconds_median, 3),
            "details": self.details,
        }


def _ingested(home: Path, source: Path, embeddings: SentenceEmbeddings | None) -> Container:
    container = Container(load_settings(home), writable=True, purpose="eval", embeddings=embeddings)
    container.install_org(source / "org.csv")
    container.ingestor().run(source, progress=False)
    return container


def _hr_viewer(container: Container) -> Any:
    hr = next((p for p in container.org if p.role == "hr"), None)
    if hr is None:
        raise BadInputError("the evaluation set's org.csv needs an hr person to score everyone")
    return container.search_service.policy.viewer(hr.employee_id)


def evaluate_scoring(
    source: Path,
    *,
    swap: bool = True,
    drafts: bool = True,
    embeddings: SentenceEmbeddings | None = None,
) -> ScoringEvaluation:
    truth_file = source / "ground_truth.yaml"
    if not truth_file.is_file():
        raise BadInputError(f"{source}: no ground_truth.yaml to evaluate against")
    truth = yaml.safe_load(truth_file.read_text(encoding="utf-8"))
    period = parse_period(str(truth["period"]))
    dims: list[str] = list(truth["dimensions"])
    people: dict[str, dict[str, Any]] = truth["people"]
    with tempfile.TemporaryDirectory(prefix="perfagent-eval-") as tmp:
        container = _ingested(Path(tmp) / "home", source, embeddings)
        viewer = _hr_viewer(container)
        scoring = container.scoring_service
        computed: dict[str, dict[str, float | None]] = {}
        seconds: list[float] = []
        for pid in people:
            started = time.perf_counter()
            report = scoring.score(viewer, pid, period=period, dimensions=dims)
            seconds.append(time.perf_counter() - started)
            computed[pid] = {d.name: d.score for d in report.dimensions}
        rhos: dict[str, float | None] = {}
        for d in dims:
            rated = [p for p, lv in people.items() if lv.get("evidence") != "thin"]
            # An abstention sits at the scale's midpoint for ranking: "no evidence either way".
            xs = [computed[p][d] if computed[p][d] is not None else 3.0 for p in rated]
            rhos[d] = spearman([float(x) for x in xs], [float(people[p][d]) for p in rated])
        thin = [p for p, lv in people.items() if lv.get("evidence") == "thin"]
        thin_share = (
            sum(computed[p][d] is None for p in thin for d in dims) / (len(thin) * len(dims))
            if thin
            else None
        )
        before = after = 1.0
        n_sentences = 0
        if drafts:
            drafting = container.drafting_service
            supported_before = supported_after = n_after = 0
            for pid in people:
                draft = drafting.draft(viewer, pid, "manager", period=period, dimensions=dims)
                verdicts = draft.verification.verdicts
                n_sentences += len(verdicts)
                supported_before += sum(v.supported for v in verdicts)
                # The repaired body checked again, with nothing repaired this time. (The
                # suggestions appended after it are advice from the rubric, not claims.)
                final = drafting.verifier.verify(
                    draft.verification.text, draft.citations, repair=False
                ).verdicts
                n_after += len(final)
                supported_after += sum(v.supported for v in final)
            before = supported_before / n_sentences if n_sentences else 1.0
            after = supported_after / n_after if n_after else 1.0
        max_change: float | None = None
        if swap:
            copy = Path(tmp) / "swapped"
            swapped_copy(source, copy)
            other = _ingested(Path(tmp) / "home-swapped", copy, container.embeddings)
            other_viewer = _hr_viewer(other)
            max_change = 0.0
            for pid in people:
                report = other.scoring_service.score(
                    other_viewer, pid, period=period, dimensions=dims
                )
                for d in report.dimensions:
                    a, b = computed[pid][d.name], d.score
                    if (a is None) != (b is None):
                        max_change = max(max_change, 5.0)
                    elif a is not None and b is not None:
                        max_change = max(max_change, abs(a - b))
    return ScoringEvaluation(
        name=source.name,
        spearman=rhos,
        thin_insufficient_share=thin_share,
        draft_supported_before_repair=before,
        draft_supported_after_repair=after,
        draft_sentences=n_sentences,
        max_swap_change=max_change,
        score_seconds_median=statistics.median(seconds) if seconds else 0.0,
        details={"scores": computed},
    )
