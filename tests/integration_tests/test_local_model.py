"""The default chat model's weights: converted once from the packaged GGUF, reloaded as safetensors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfagent.agent.local_model import (
    SMOLLM2_GGUF,
    SMOLLM2_GGUF_SHA256,
    convert_gguf,
    default_chat_model_dir,
    describe_model_dir,
    smollm2_gguf_path,
)
from perfagent.errors import BadInputError


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return default_chat_model_dir(tmp_path_factory.mktemp("models"))


def test_the_conversion_is_plain_safetensors(converted: Path) -> None:
    assert (converted / "model.safetensors").stat().st_size > 100_000_000  # fp32, 135M params
    config = json.loads((converted / "config.json").read_text())
    assert "quantization_config" not in config  # the GGUF's quantized mark is cleared
    marker = json.loads((converted / "perfagent-conversion.json").read_text())
    assert marker["source_sha256"] == SMOLLM2_GGUF_SHA256
    assert (converted / "chat_template.jinja").is_file() or "chat_template" in json.loads(
        (converted / "tokenizer_config.json").read_text()
    )


def test_a_card_names_a_conversion_by_its_source(converted: Path, tmp_path: Path) -> None:
    said = describe_model_dir(converted)
    assert said.startswith(f"{SMOLLM2_GGUF} (converted") and f"`{converted}`" in said
    assert describe_model_dir(tmp_path) == f"`{tmp_path}`"  # no conversion record: the path


def test_a_second_call_reuses_the_conversion(converted: Path) -> None:
    before = (converted / "model.safetensors").stat().st_mtime_ns
    again = default_chat_model_dir(converted.parent)
    assert again == converted
    assert (converted / "model.safetensors").stat().st_mtime_ns == before


def test_a_tampered_gguf_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"not a model")
    with pytest.raises(BadInputError, match="sha256"):
        convert_gguf(fake, tmp_path / "out", expected_sha256=SMOLLM2_GGUF_SHA256)
    assert not (tmp_path / "out").exists()


def test_the_reloaded_model_answers_deterministically(converted: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(converted))
    model = AutoModelForCausalLM.from_pretrained(str(converted), dtype=torch.float32).eval()
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    outputs = []
    for _ in range(2):
        with torch.inference_mode():
            ids = model.generate(**prompt, max_new_tokens=12, do_sample=False)
        outputs.append(tokenizer.decode(ids[0, prompt["input_ids"].shape[1] :]))
    assert outputs[0] == outputs[1]
    assert "Paris" in outputs[0]


def test_the_gguf_comes_from_the_package() -> None:
    path = smollm2_gguf_path()
    assert path.name.endswith(".gguf") and path.stat().st_size > 50_000_000
