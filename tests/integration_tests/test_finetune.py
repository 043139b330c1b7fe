"""LoRA training and evaluation, for real, on a tiny random-weight model with SmolLM2's tokenizer:
the prompt masking, a two-step run that saves an adapter which changes outputs, resume, and a
model card whose figures are the evaluation's own."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from perfagent.finetune.dataset import BuildConfig, Example, build_examples
from perfagent.finetune.evaluation import (
    CARD_NAME,
    EVAL_NAME,
    evaluate_routing,
    parse_reply,
    results_table,
    write_card,
)
from perfagent.finetune.train import TrainConfig, encode_example, render_example, train
from tests.cli_runner import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smollm2_dir(chat_models_dir: Path) -> Path:
    from perfagent.agent.local_model import default_chat_model_dir

    return default_chat_model_dir(chat_models_dir)


@pytest.fixture(scope="module")
def tokenizer(smollm2_dir: Path):  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(smollm2_dir))


@pytest.fixture(scope="module")
def tiny_model_dir(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with random weights and SmolLM2's tokenizer and chat template."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(str(smollm2_dir))
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        tie_word_embeddings=True,
    )
    out = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(config).save_pretrained(str(out))
    tok.save_pretrained(str(out))
    return out


@pytest.fixture(scope="module")
def few_examples() -> list[Example]:
    examples = build_examples(
        BuildConfig(route_train=6, route_eval=2, phrase_train=2, phrase_eval=1)
    )
    train_set = [e for e in examples if e.split == "train" and not e.id.startswith("routing-")]
    return train_set


def test_the_loss_mask_covers_exactly_the_prompt(tokenizer, few_examples: list[Example]) -> None:  # type: ignore[no-untyped-def]
    for example in few_examples:
        encoded = encode_example(tokenizer, example)
        prompt, answer = render_example(tokenizer, example)
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        # the prefix (system message) and the rest are the whole prompt and answer, in order
        whole = tokenizer(prompt + answer, add_special_tokens=False)["input_ids"]
        assert encoded.prefix + encoded.ids == whole
        assert tokenizer.decode(encoded.prefix).endswith("<|im_end|>")
        masked = [i for i, label in enumerate(encoded.labels) if label == -100]
        # every prompt token after the prefix is masked, and nothing else
        assert masked == list(range(len(prompt_ids) - len(encoded.prefix)))
        learnt = [t for t in encoded.labels if t != -100]
        assert tokenizer.decode(learnt) == example.answer + "<|im_end|>"
        assert len(learnt) == len(encoded.ids) - len(masked)


def _logits(model_dir: Path, adapter: Path | None, tokenizer, text: str):  # type: ignore[no-untyped-def]
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter))
    model.eval()
    with torch.no_grad():
        return model(**tokenizer(text, return_tensors="pt")).logits


def test_the_first_answer_token_weighs_decision_weight_tokens(
    tiny_model_dir: Path, tokenizer, few_examples: list[Example]
) -> None:  # type: ignore[no-untyped-def]
    """The batch loss is the per-token cross-entropy over answer tokens, each answer's first
    token counted `decision_weight` times: checked against a plain full forward pass."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from perfagent.finetune.train import PrefixCache, _batch_loss

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=4, target_modules=["q_proj"], lora_dropout=0.0))
    model.eval()
    routes = [e for e in few_examples if e.task == "route"][:3]
    batch = [encode_example(tokenizer, e) for e in routes]
    per_row: list[torch.Tensor] = []
    with torch.no_grad():
        for e in batch:
            logits = model(input_ids=torch.tensor([e.prefix + e.ids])).logits[
                0, len(e.prefix) - 1 :
            ]
            targets = torch.tensor(e.labels)
            keep = targets != -100
            per_row.append(
                torch.nn.functional.cross_entropy(
                    logits[:-1][keep], targets[keep], reduction="none"
                )
            )
        plain = _batch_loss(model, batch, 0, PrefixCache(1), 1.0)
        weighted = _batch_loss(model, batch, 0, PrefixCache(1), 5.0)
    every = torch.cat(per_row)
    assert torch.allclose(plain, every.mean(), atol=1e-4)
    firsts = torch.stack([row[0] for row in per_row])
    expected = (every.sum() + 4 * firsts.sum()) / (len(every) + 4 * len(per_row))
    assert torch.allclose(weighted, expected, atol=1e-4)
    assert not torch.allclose(weighted, plain, atol=1e-4)


def test_two_training_steps_save_an_adapter_that_changes_outputs(
    tiny_model_dir: Path, tokenizer, few_examples: list[Example], tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    import torch

    out = tmp_path / "adapter"
    config = TrainConfig(max_steps=2, batch_size=2, learning_rate=5e-2, threads=1, bf16=False)
    result = train(str(tiny_model_dir), few_examples, out, config, progress_bar=False)
    assert result.steps == 2 and len(result.losses) == 2
    assert all(loss > 0 for loss in result.losses)
    assert (out / "adapter_config.json").is_file()
    assert (out / "adapter_model.safetensors").is_file()
    saved = json.loads((out / "adapter_config.json").read_text())
    assert saved["r"] == 8 and saved["lora_alpha"] == 16
    assert set(saved["target_modules"]) == {"q_proj", "v_proj"}
    assert not (out / "checkpoints").exists()
    text = "<|im_start|>user\nScore E101 for Q3.<|im_end|>\n<|im_start|>assistant\n"
    base = _logits(tiny_model_dir, None, tokenizer, text)
    tuned = _logits(tiny_model_dir, out, tokenizer, text)
    assert not torch.allclose(base, tuned, atol=1e-4), "the adapter must change the outputs"
    again = _logits(tiny_model_dir, out, tokenizer, text)
    assert torch.equal(tuned, again)


def test_an_interrupted_run_resumes_to_the_same_adapter(
    tiny_model_dir: Path, few_examples: list[Example], tmp_path: Path
) -> None:
    from safetensors.torch import load_file

    config = TrainConfig(
        max_steps=3,
        batch_size=2,
        learning_rate=5e-2,
        threads=1,
        bf16=False,
        checkpoint_every=1,
        prefix_refresh=1,  # a resumed run recomputes the prefix; exact only when every step does
    )
    whole = train(str(tiny_model_dir), few_examples, tmp_path / "whole", config, progress_bar=False)

    def stop_after_two(step: int, total: int, loss: float) -> None:
        if step == 2:
            raise KeyboardInterrupt

    cut = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        train(
            str(tiny_model_dir),
            few_examples,
            cut,
            config,
            on_progress=stop_after_two,
            progress_bar=False,
        )
    assert (cut / "checkpoints" / "step-2" / "state.pt").is_file()
    import torch

    before = torch.load(cut / "checkpoints" / "step-2" / "state.pt", weights_only=False)
    assert before["seconds"] > 0
    resumed = train(str(tiny_model_dir), few_examples, cut, config, progress_bar=False)
    assert resumed.losses == whole.losses
    # the record covers the whole run: the steps before the stop count too
    record = json.loads((cut / "training.json").read_text("utf-8"))
    assert record["resumed_at_steps"] == [2]
    assert record["seconds"] >= before["seconds"]
    assert (
        json.loads((tmp_path / "whole" / "training.json").read_text("utf-8"))["resumed_at_steps"]
        == []
    )
    a = load_file(str(tmp_path / "whole" / "adapter_model.safetensors"))
    b = load_file(str(cut / "adapter_model.safetensors"))
    assert a.keys() == b.keys()
    assert all((a[k] - b[k]).abs().max() < 1e-6 for k in a)


def test_the_model_card_reports_a_real_evaluation(
    tiny_model_dir: Path, few_examples: list[Example], tmp_path: Path
) -> None:
    adapter = tmp_path / "adapter"
    config = TrainConfig(max_steps=1, batch_size=2, threads=1, bf16=False)
    train(str(tiny_model_dir), few_examples, adapter, config, progress_bar=False)
    evaluation = evaluate_routing(
        str(tiny_model_dir), str(adapter), synthetic=2, phrase=1, limit=2, threads=1
    )
    assert [m.label for m in evaluation.models] == ["base", "adapter"]
    for model in evaluation.models:
        assert set(model.sets) == {
            "questions.jsonl (test)",
            "fresh.jsonl",
            "synthetic eval split",
            "phrasing",
        }
        for name, summary in model.sets.items():
            assert summary["cases"] == len(model.cases[name])
            tool_cases = [c for c in model.cases[name] if c["kind"] == "tool"]
            assert summary["args_exact"]["hits"] == sum(c["ok"] for c in tool_cases)
    card = write_card(adapter, evaluation)
    assert card == adapter / CARD_NAME
    saved = json.loads((adapter / EVAL_NAME).read_text())
    assert saved == json.loads(json.dumps(evaluation.to_json()))
    text = card.read_text()
    assert results_table(evaluation) in text
    # every "hits/total" in the card is one of the evaluation's own counts
    counts = {
        (v["hits"], v["total"])
        for m in saved["models"]
        for s in m["sets"].values()
        for v in s.values()
        if isinstance(v, dict) and v.get("total")
    }
    written = {(int(h), int(t)) for h, t in re.findall(r"(\d+)/(\d+) \(", text)}
    assert written and written <= counts


def test_replies_are_parsed_as_the_model_wrote_them() -> None:
    ok = parse_reply(
        '<tool_call>{"name": "score_dimensions", "arguments": {"employee": "E1"}}</tool_call>'
    )
    assert ok.json_valid and ok.name == "score_dimensions" and ok.args == {"employee": "E1"}
    broken = parse_reply('<tool_call>{"name": "score_dimensions", "arguments": {"employee": ')
    assert broken.attempted and not broken.json_valid
    words = parse_reply("I can't share anything about that person.")
    assert not words.attempted and not words.json_valid


def test_the_cli_builds_data_and_names_bad_training_input(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "finetune", "build", "--route-train", "30", "--json")
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert (tmp_path / "finetune" / "data" / "train.jsonl").is_file()
    lines = (tmp_path / "finetune" / "data" / "train.jsonl").read_text().splitlines()
    assert len(lines) == stats["train"]["examples"]
    missing = run_cli(tmp_path, "finetune", "train", "--data", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0 and "no training data" in missing.stderr
    bad = run_cli(tmp_path, "finetune", "train", "--lr", "-1")
    assert bad.returncode == 2, bad.stderr
    assert "learning_rate" in bad.stderr
