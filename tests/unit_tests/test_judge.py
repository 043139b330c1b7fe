"""The evidence judge (the shipped LoRA-tuned MiniLM): shapes, ranges, clear verdicts, no halo,
determinism, and dimensions it was not trained on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from perfagent.errors import BadInputError
from perfagent.store.embeddings import SentenceEmbeddings, resolve_embedding_model
from perfagent.tools.judge import (
    DEFAULT_MODEL_DIR,
    RELEVANCE_THRESHOLD,
    EvidenceJudge,
    JudgeModel,
)
from perfagent.tools.rubric import DEFAULT_RUBRIC_PATH, Rubric, load_rubric

DIMENSIONS = ("delivery", "quality", "collaboration", "ownership", "communication", "growth")

# Sentences as the judge reads them (masked), each plainly about one dimension, one way.
CLEAR = [
    (
        "[PERSON] shipped the billing migration two weeks ahead of the committed date.",
        "delivery",
        1,
    ),
    (
        "[PERSON] missed the release deadline by three weeks and the launch slipped again.",
        "delivery",
        -1,
    ),
    (
        "[PERSON]'s written status updates are clear, concise and easy to follow.",
        "communication",
        1,
    ),
    (
        "Their change caused two production incidents because it was merged without tests.",
        "quality",
        -1,
    ),
    (
        "[PERSON] spent a whole afternoon helping a new joiner debug the consumer offsets.",
        "collaboration",
        1,
    ),
    (
        "[PERSON] took ownership of the flaky deploy pipeline without being asked and fixed it.",
        "ownership",
        1,
    ),
]
OFF_TOPIC = "We talked about the reorg and which team the on-call rota will sit with from July."


@pytest.fixture(scope="module")
def base_path() -> Path:
    return resolve_embedding_model("minilm", Path(".")).path


@pytest.fixture(scope="module")
def model(base_path: Path) -> JudgeModel:
    return JudgeModel(base_path)


@pytest.fixture(scope="module")
def judge(model: JudgeModel) -> EvidenceJudge:
    return EvidenceJudge(model, load_rubric())


def test_the_shipped_model_covers_the_default_rubric(model: JudgeModel) -> None:
    assert (DEFAULT_MODEL_DIR / "judge.json").is_file()
    assert model.dimensions == DIMENSIONS
    assert model.version == str(model.meta["version"])
    # The adapter and output layer ship with the package: small.
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir() if p.is_file())
    assert size < 2_000_000


def test_verdict_shapes_and_ranges(judge: EvidenceJudge) -> None:
    texts = [s for s, _, _ in CLEAR] + [OFF_TOPIC]
    v = judge.judge(texts)
    assert v.dimensions == DIMENSIONS
    assert v.relevance.shape == v.polarity.shape == (len(texts), len(DIMENSIONS))
    assert np.all((v.relevance >= 0) & (v.relevance <= 1))
    assert np.all((v.polarity >= -1) & (v.polarity <= 1))
    # Rounded to 4 places, so float noise cannot flip a displayed score.
    assert np.array_equal(v.relevance, np.round(v.relevance, 4))
    assert np.array_equal(v.polarity, np.round(v.polarity, 4))


def test_nothing_to_judge(judge: EvidenceJudge) -> None:
    v = judge.judge([])
    assert v.relevance.shape == v.polarity.shape == (0, len(DIMENSIONS))


@pytest.mark.parametrize(
    ("text", "dimension", "sign"), CLEAR, ids=[c[1] + str(c[2]) for c in CLEAR]
)
def test_clear_sentences_get_the_right_dimension_and_direction(
    judge: EvidenceJudge, text: str, dimension: str, sign: int
) -> None:
    v = judge.judge([text])
    j = DIMENSIONS.index(dimension)
    assert v.relevance[0, j] >= RELEVANCE_THRESHOLD
    assert v.relevance[0].argmax() == j  # it is mostly about this dimension
    assert np.sign(v.polarity[0, j]) == sign


def test_no_halo_a_sentence_counts_only_for_what_it_is_about(judge: EvidenceJudge) -> None:
    communication = CLEAR[2][0]
    v = judge.judge([communication, OFF_TOPIC])
    about = {d for d, r in zip(DIMENSIONS, v.relevance[0], strict=True) if r >= RELEVANCE_THRESHOLD}
    assert about == {"communication"}
    assert np.all(v.relevance[1] < RELEVANCE_THRESHOLD)  # small talk is evidence for nothing


def test_verdicts_are_deterministic_and_independent_of_the_batch(model: JudgeModel) -> None:
    """A sentence's verdict is a function of that sentence only: not of what else is judged
    with it, nor of the order, nor of a cache (counterfactual fairness needs exact equality)."""
    texts = [s for s, _, _ in CLEAR] + [OFF_TOPIC]
    rubric = load_rubric()
    together = EvidenceJudge(model, rubric).judge(texts)
    again = EvidenceJudge(model, rubric).judge(texts)
    assert np.array_equal(together.relevance, again.relevance)
    assert np.array_equal(together.polarity, again.polarity)
    for i, text in enumerate(texts):  # alone vs among longer and shorter sentences
        alone = EvidenceJudge(model, rubric).judge([text])
        assert np.array_equal(alone.relevance[0], together.relevance[i])
        assert np.array_equal(alone.polarity[0], together.polarity[i])
    cached = EvidenceJudge(model, rubric)
    cached.judge(texts[:3])
    reordered = cached.judge([*reversed(texts), texts[0]])  # some cached, some not, a repeat
    assert np.array_equal(reordered.relevance[: len(texts)][::-1], together.relevance)
    assert np.array_equal(reordered.polarity[: len(texts)][::-1], together.polarity)
    assert np.array_equal(reordered.relevance[-1], together.relevance[0])


def company_rubric() -> Rubric:
    data = yaml.safe_load(DEFAULT_RUBRIC_PATH.read_text(encoding="utf-8"))
    data["dimensions"]["customer_focus"] = {
        "description": "Understands customers' needs and acts on their feedback.",
        "levels": {i: f"level {i}" for i in range(1, 6)},
        "signals": {
            "positive": ["talked to customers and changed the design after their feedback"],
            "negative": ["ignored the customer complaints about the invoice layout"],
        },
    }
    return Rubric.model_validate(data)


def test_an_untrained_dimension_without_embeddings_is_bad_input(model: JudgeModel) -> None:
    with pytest.raises(BadInputError, match="customer_focus"):
        EvidenceJudge(model, company_rubric()).judge([CLEAR[0][0]])


def test_a_company_dimension_the_model_was_not_trained_on(
    model: JudgeModel, base_path: Path
) -> None:
    rubric = company_rubric()
    embeddings = SentenceEmbeddings(model_path=base_path)
    texts = [
        "[PERSON] called three customers and reworked the invoice layout after their feedback.",
        OFF_TOPIC,
    ]
    v = EvidenceJudge(model, rubric, embeddings).judge(texts)
    assert v.dimensions == (*DIMENSIONS, "customer_focus")
    j = v.dimensions.index("customer_focus")
    assert np.all((v.relevance[:, j] >= 0) & (v.relevance[:, j] <= 1))
    assert v.relevance[0, j] > v.relevance[1, j]
    # The trained dimensions are judged as before.
    plain = EvidenceJudge(model, load_rubric()).judge(texts)
    np.testing.assert_allclose(v.relevance[:, : len(DIMENSIONS)], plain.relevance, atol=1e-3)


def test_not_a_model_directory(tmp_path: Path, base_path: Path) -> None:
    with pytest.raises(BadInputError, match="not a judge model"):
        JudgeModel(base_path, tmp_path)
