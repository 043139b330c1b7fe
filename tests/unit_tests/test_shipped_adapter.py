"""The shipped chat adapter (agent/adapter/): the agent's default, a PEFT LoRA for the default
model, and a card whose figures are those of the evaluation run recorded beside it: the table
is regenerated from eval.json, eval.json's counts from its per-case records, and the recorded
adapter replies on the held-out routing sets are judged again here to the same verdicts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from perfagent.agent.model_factory import adapter_path, bundled_adapter_dir
from perfagent.finetune.dataset import demo_org
from perfagent.finetune.evaluation import (
    CARD_NAME,
    EVAL_NAME,
    CaseResult,
    RoutingEvaluation,
    held_out_sets,
    judge_routing_reply,
    results_table,
    summarise,
)
from perfagent.settings import AgentSettings

SHIPPED = bundled_adapter_dir()


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    return json.loads((SHIPPED / EVAL_NAME).read_text("utf-8"))


def test_the_bundled_adapter_is_the_default_for_the_default_model_only() -> None:
    assert AgentSettings().adapter == "bundled"
    assert adapter_path("bundled", "") == str(SHIPPED)
    assert adapter_path("bundled", "/models/some-other-model") == ""
    assert adapter_path("none", "") == ""
    config = json.loads((SHIPPED / "adapter_config.json").read_text("utf-8"))
    training = json.loads((SHIPPED / "training.json").read_text("utf-8"))["config"]
    assert config["peft_type"] == "LORA"
    assert config["r"] == training["r"] and config["lora_alpha"] == training["alpha"]
    assert set(config["target_modules"]) == set(training["target_modules"])
    # small enough to live in git: a LoRA on a 135M model
    assert (SHIPPED / "adapter_model.safetensors").stat().st_size < 16 * 2**20


def test_the_card_table_is_the_recorded_evaluation(recorded: dict[str, Any]) -> None:
    card = (SHIPPED / CARD_NAME).read_text("utf-8")
    evaluation = RoutingEvaluation.from_json(recorded)
    assert [m.label for m in evaluation.models] == ["base", "adapter"]
    assert results_table(evaluation) in card
    assert f"Evaluated: {evaluation.date}" in card


def test_the_recorded_counts_follow_from_the_recorded_cases(recorded: dict[str, Any]) -> None:
    for model in recorded["models"]:
        for name, cases in model["cases"].items():
            results = [CaseResult(**case) for case in cases]
            expected = {k: v for k, v in summarise(results).items() if k != "seconds_median"}
            saved = {k: v for k, v in model["sets"][name].items() if k != "seconds_median"}
            assert saved == expected, (model["label"], name)


def test_the_recorded_adapter_replies_judge_the_same_again(recorded: dict[str, Any]) -> None:
    org = demo_org()
    adapter = recorded["models"][1]
    sets = held_out_sets()
    assert set(sets) <= set(adapter["cases"])
    for name, cases in sets.items():
        replies = {c["case"]: c for c in adapter["cases"][name]}
        assert set(replies) == {c.id for c in cases}, name
        for case in cases:
            saved = replies[case.id]
            again = judge_routing_reply(saved["reply"], case, org)
            assert (again.ok, again.tool_ok) == (saved["ok"], saved["tool_ok"]), (name, case.id)
