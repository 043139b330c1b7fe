"""The evaluation's own helpers: Spearman's rho with ties, and the name/pronoun swap."""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

import pytest
from scipy.stats import spearmanr

from perfagent.tools.evaluation import spearman, swap_text, swapped_copy
from perfagent.tools.masking import mask_people


@pytest.mark.parametrize("seed", range(8))
def test_spearman_matches_scipy_on_random_data_with_ties(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(5, 40)
    # Few distinct values on both sides: many ties (like 1..5 levels against rounded scores).
    xs = [float(rng.randint(1, 5)) for _ in range(n)]
    ys = [round(rng.uniform(1.0, 5.0), 1) if i % 3 else 3.0 for i in range(n)]
    if len(set(xs)) < 2 or len(set(ys)) < 2:
        pytest.skip("constant sample drawn")
    expected = spearmanr(xs, ys).statistic
    assert spearman(xs, ys) == pytest.approx(float(expected), abs=1e-9)


def test_spearman_without_ties_and_perfect_orders() -> None:
    xs = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert spearman(xs, [10.0, 20.0, 30.0, 40.0, 50.0]) == pytest.approx(1.0)
    assert spearman(xs, [5.0, 4.0, 3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    # Monotone but non-linear: rank correlation is still exactly 1.
    assert spearman(xs, [math.exp(x) for x in xs]) == pytest.approx(1.0)


def test_spearman_is_none_for_constant_input() -> None:
    assert spearman([3.0, 3.0, 3.0, 3.0], [1.0, 2.0, 3.0, 4.0]) is None
    assert spearman([1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0]) is None
    assert spearman([1.0, 2.0], [2.0, 1.0]) is None  # too few points to rank


def test_swap_text_swaps_gendered_pronouns_keeping_capitals() -> None:
    text = "He said she would ask him about her plan. His plan, she said. She thanked him."
    assert swap_text(text, {}) == (
        "She said he would ask her about his plan. Her plan, he said. He thanked her."
    )
    assert swap_text("himself and herself; hers", {}) == "herself and himself; his"
    # Whole words only: "the", "here", "shell", "hist" are not pronouns.
    untouched = "Here the shell history ships; Heather and Hector hesitated."
    assert swap_text(untouched, {}) == untouched


def test_swap_text_replaces_names_longest_first_and_whole_words_only() -> None:
    names = {"Alex Novak": "Ingrid Novak", "Alex": "Zed", "Novak": "Nowak"}
    text = "Alex Novak met Alex and Novak; Alexander and Alexis stayed."
    # The full name is one replacement (not "Zed Nowak"); longer words are not names.
    assert swap_text(text, names) == "Ingrid Novak met Zed and Nowak; Alexander and Alexis stayed."


def test_swap_text_swaps_names_and_pronouns_together() -> None:
    names = {"Sofia Rossi": "Samuel Rossi", "Sofia": "Samuel"}
    text = "Sofia Rossi shipped her demo. Sofia said she was proud of it."
    assert swap_text(text, names) == (
        "Samuel Rossi shipped his demo. Samuel said he was proud of it."
    )


def test_masking_makes_swapped_sentences_identical() -> None:
    names = {"Sofia Rossi": "Samuel Rossi", "Sofia": "Samuel", "Liam O'Connor": "Helena O'Connor"}
    names["Liam"] = "Helena"
    original_org = ["Sofia Rossi", "Liam O'Connor"]
    swapped_org = ["Samuel Rossi", "Helena O'Connor"]
    sentences = [
        "Sofia presented her remittance demo to Northline and she answered every question.",
        "Liam O'Connor told me he had fixed it, but his PR was still open.",
        "Ms. Rossi asked Liam to review her change; he did it himself the same day.",
        "Sofia's status page slipped two weeks, which she flagged late.",
    ]
    for sentence in sentences:
        swapped = swap_text(sentence, names)
        assert swapped != sentence
        assert mask_people(swapped, swapped_org) == mask_people(sentence, original_org)
        masked = mask_people(sentence, original_org)
        for word in ("Sofia", "Liam", "Samuel", "Helena", " she ", " he ", " her ", " his "):
            assert word not in masked


def _write_org(path: Path, rows: list[dict[str, str]]) -> None:
    fields = ["employee_id", "name", "email", "title", "team", "manager_id", "role"]
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: row.get(k, "") for k in fields})


def test_swapped_copy_rewrites_org_and_documents(tmp_path: Path) -> None:
    source = tmp_path / "set"
    (source / "docs").mkdir(parents=True)
    _write_org(
        source / "org.csv",
        [
            {"employee_id": "E1", "name": "Dana Whitfield", "role": "manager"},
            {"employee_id": "E2", "name": "Sofia Rossi", "manager_id": "E1", "role": "employee"},
        ],
    )
    doc = (
        "---\nemployee_id: E2\nauthor_id: E1\ndoc_type: manager_note\ndate: 2026-05-04\n---\n"
        "Sofia Rossi demoed her work. Dana asked Sofia whether she would present it again.\n"
    )
    (source / "docs" / "note.md").write_text(doc, encoding="utf-8")
    target = tmp_path / "copy"
    names = swapped_copy(source, target)

    assert set(names) >= {"Dana Whitfield", "Dana", "Sofia Rossi", "Sofia"}
    assert names["Sofia Rossi"].endswith(" Rossi") and names["Sofia"] != "Sofia"
    with (target / "org.csv").open(encoding="utf-8", newline="") as f:
        swapped_names = [row["name"] for row in csv.DictReader(f)]
    assert swapped_names == [names["Dana Whitfield"], names["Sofia Rossi"]]
    text = (target / "docs" / "note.md").read_text(encoding="utf-8")
    assert "Sofia" not in text and "Dana" not in text and " she " not in text
    assert f"{names['Sofia Rossi']} demoed his work." in text
    assert "employee_id: E2" in text and "author_id: E1" in text  # front matter ids kept
    assert (source / "docs" / "note.md").read_text(encoding="utf-8") == doc  # source untouched


def test_swapped_copy_turns_binary_documents_into_swapped_markdown(tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parents[2] / "data" / "demo"
    source = tmp_path / "set"
    (source / "docs").mkdir(parents=True)
    (source / "org.csv").write_text((demo / "org.csv").read_text(encoding="utf-8"), "utf-8")
    name = "2026-08-28-project_summary-k8s-ingress-migration.docx"
    for suffix in ("", ".meta.yaml"):
        (source / "docs" / (name + suffix)).write_bytes(
            (demo / "docs" / "platform-a" / "E013" / (name + suffix)).read_bytes()
        )
    names = swapped_copy(source, tmp_path / "copy")
    docs = sorted(p.name for p in (tmp_path / "copy" / "docs").iterdir())
    assert docs == [name + ".md"]  # the binary and its sidecar are replaced by one Markdown file
    text = (tmp_path / "copy" / "docs" / (name + ".md")).read_text(encoding="utf-8")
    assert text.startswith("---\nemployee_id: E013\nauthor_id: E013\ndoc_type: project_summary\n")
    from perfagent.ingest.documents import extract_binary_text

    original = extract_binary_text(source / "docs" / name)
    assert swap_text(original, names) in text
    assert "Ravi" in original and "Ravi" not in text and names["Ravi"] in text
