"""The rubric file and name/pronoun masking (the basis of counterfactual fairness)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from perfagent.errors import BadInputError
from perfagent.tools.masking import PERSON, mask_people
from perfagent.tools.rubric import DEFAULT_RUBRIC_PATH, load_rubric

CONTRACT_DIMENSIONS = [
    "delivery",
    "quality",
    "collaboration",
    "ownership",
    "communication",
    "growth",
]


def test_default_rubric_has_the_six_dimensions_with_five_levels() -> None:
    rubric = load_rubric()
    assert rubric.names == CONTRACT_DIMENSIONS
    for dim in rubric.dimensions.values():
        assert sorted(dim.levels) == [1, 2, 3, 4, 5]
        assert dim.description and dim.signals.positive and dim.signals.negative


def test_select_rejects_unknown_dimensions() -> None:
    rubric = load_rubric()
    assert [d.name for d in rubric.select(["growth", "delivery"])] == ["growth", "delivery"]
    with pytest.raises(BadInputError, match="unknown dimension 'charisma'"):
        rubric.select(["charisma"])


def test_a_company_rubric_replaces_the_default(tmp_path: Path) -> None:
    data = yaml.safe_load(DEFAULT_RUBRIC_PATH.read_text())
    data["dimensions"] = {"impact": data["dimensions"]["delivery"]}
    path = tmp_path / "rubric.yaml"
    path.write_text(yaml.safe_dump(data))
    assert load_rubric(path).names == ["impact"]
    del data["dimensions"]["impact"]["levels"][5]
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(BadInputError, match="levels must be exactly"):
        load_rubric(path)


ORG_NAMES = ["Sofia Rossi", "Kenji Mori", "Dana Whitfield"]


@pytest.mark.parametrize(
    ("original", "swapped", "names_after"),
    [
        ("Sofia said she shipped her part.", "Sam said he shipped his part.", ["Sam Rossi"]),
        ("I told her that Sofia's demo was late.", "I told him that Marco's demo was late.",
         ["Marco Rossi"]),
        ("Ms. Rossi asked them; they agreed.", "Mr. Rossi asked him; he agreed.", ["Sofia Rossi"]),
    ],
)  # fmt: skip
def test_swapping_names_and_pronouns_gives_the_same_masked_text(
    original: str, swapped: str, names_after: list[str]
) -> None:
    before = mask_people(original, ORG_NAMES)
    after = mask_people(swapped, [*ORG_NAMES[1:], *names_after])
    assert before == after
    assert "Sofia" not in before and " she " not in f" {before} "


def test_masking_keeps_everything_else() -> None:
    text = "Kenji Mori fixed PAY-1432 on 14 Aug; p95 went from 480 ms to 190 ms."
    assert (
        mask_people(text, ORG_NAMES)
        == f"{PERSON} fixed PAY-1432 on 14 Aug; p95 went from 480 ms to 190 ms."
    )
