"""Constrained decoding on the real SmolLM2-135M weights: every tool call `LocalChatModel` writes
validates against its schema, whatever the prompt asks for; forcing and refusing tools, streaming
and LoRA adapters behave as documented."""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel, Field

from perfagent.agent.chat_model import LocalChatModel
from perfagent.agent.local_model import default_chat_model_dir
from perfagent.errors import BadInputError

pytestmark = pytest.mark.slow

_UNSAFE = re.compile(r'["\\\x00-\x1f\x7f]')


@pytest.fixture(scope="module")
def models_dir(chat_models_dir: Path) -> str:
    return str(chat_models_dir)


@pytest.fixture(scope="module")
def model(models_dir: str) -> LocalChatModel:
    return LocalChatModel(models_dir=models_dir, max_tokens=24)


def _tool(name: str, parameters: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


def _call(model: LocalChatModel, tools: list[dict[str, Any]], prompt: str, **kw: Any) -> Any:
    result = model.bind_tools(tools, **kw).invoke(prompt)
    assert isinstance(result, AIMessage)
    assert len(result.tool_calls) == 1, result
    return result.tool_calls[0]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# --- schemas -------------------------------------------------------------------------------------


class Team(StrEnum):
    payments = "payments"
    billing = "billing"
    platform = "platform"


class Address(BaseModel):
    city: str = Field(max_length=12)
    floor: int | None = Field(default=None, ge=0, le=40)


class Member(BaseModel):
    """A team member ($defs and $ref, anyOf with null, a nested model)."""

    name: str = Field(max_length=16)
    team: Team
    address: Address
    manager: str | None = Field(default=None, max_length=10)
    years: int | None = None


SCHEMAS: dict[str, tuple[dict[str, Any], str]] = {
    "nested_object": (
        {
            "type": "object",
            "properties": {
                "person": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "maxLength": 20},
                        "age": {"type": "integer", "minimum": 0, "maximum": 120},
                        "tags": {
                            "type": "object",
                            "properties": {"active": {"type": "boolean"}},
                            "required": ["active"],
                        },
                    },
                    "required": ["name", "age", "tags"],
                }
            },
            "required": ["person"],
        },
        "Record Ada Lovelace, aged 208, who is not active, as a person.",
    ),
    "optional_fields": (
        {
            "type": "object",
            "properties": {
                "title": {"type": "string", "maxLength": 30},
                "pages": {"type": "integer", "minimum": 1, "maximum": 999},
                "draft": {"type": "boolean"},
                "language": {"type": "string", "enum": ["en", "fr", "de"]},
                "note": {"type": "string", "maxLength": 12},
            },
            "required": ["title"],
        },
        "Save the French book 'Les Misérables' with 1463 pages; it is not a draft.",
    ),
    "enums": (
        {
            "type": "object",
            "properties": {
                "color": {"type": "string", "enum": ["red", "green", "blue"]},
                "size": {"type": "integer", "enum": [1, 2, 3]},
                "unit": {"const": "cm"},
            },
            "required": ["color", "size", "unit"],
        },
        "Paint it purple, size 12, in inches.",
    ),
    "enum_arrays": (
        {
            "type": "object",
            "properties": {
                "dimensions": {
                    "type": "array",
                    "items": {"type": "string", "enum": ["delivery", "quality", "growth", "ops"]},
                    "minItems": 2,
                    "maxItems": 3,
                },
                "one_or_none": {
                    "type": "array",
                    "items": {"type": "string", "enum": ["a", "b"]},
                    "maxItems": 1,
                },
            },
            "required": ["dimensions", "one_or_none"],
        },
        "Score every dimension: delivery, quality, growth, ops, and also teamwork. Pick a and b.",
    ),
    "bounded_numbers": (
        {
            "type": "object",
            "properties": {
                "count": {"type": "integer", "minimum": 3, "maximum": 7},
                "offset": {"type": "integer", "minimum": -5, "maximum": -1},
                "ratio": {"type": "number", "minimum": 0, "maximum": 1},
                "flags": {
                    "type": "array",
                    "items": {"type": "boolean"},
                    "minItems": 1,
                    "maxItems": 2,
                },
            },
            "required": ["count", "offset", "ratio", "flags"],
        },
        "Use count 4000, offset 12 and ratio 37.5, with flags true, false, true, true.",
    ),
    "short_strings": (
        {
            "type": "object",
            "properties": {
                "code": {"type": "string", "maxLength": 5},
                "codes": {
                    "type": "array",
                    "items": {"type": "string", "maxLength": 5},
                    "minItems": 1,
                    "maxItems": 3,
                },
            },
            "required": ["code", "codes"],
        },
        'Set code to "SUPERCALIFRAGILISTIC\\n" and codes to "ABCDEFGHIJ", "KLMNOPQRST".',
    ),
    "refs_and_nullable": (
        Member.model_json_schema(),
        "Add Grace Hopper of the Navy team, living in Arlington on floor 99, managed by "
        "Admiral Rickover, for 43 years.",
    ),
}


@pytest.mark.parametrize("name", list(SCHEMAS))
def test_tool_arguments_always_validate(model: LocalChatModel, name: str) -> None:
    schema, prompt = SCHEMAS[name]
    call = _call(model, [_tool("record", schema)], prompt, tool_choice="record")
    assert call["name"] == "record"
    jsonschema.validate(call["args"], schema)
    for text in _strings(call["args"]):
        assert text and text == text.strip() and not _UNSAFE.search(text), (name, text)
    if name == "refs_and_nullable":
        Member.model_validate(call["args"])


def test_strings_without_max_length_are_bounded_by_max_string_chars(models_dir: str) -> None:
    short = LocalChatModel(models_dir=models_dir, max_string_chars=10)
    schema = {
        "type": "object",
        "properties": {"story": {"type": "string"}, "words": {"type": "array"}},
        "required": ["story", "words"],
    }
    call = _call(
        short,
        [_tool("tell", schema)],
        "Tell a very long story about a dragon, then list fifty words.",
        tool_choice="any",
    )
    assert 1 <= len(call["args"]["story"]) <= 10
    assert all(1 <= len(w) <= 10 for w in call["args"]["words"])
    jsonschema.validate(call["args"], schema)


# Schemas the decoder once got wrong (exclusive bounds, minItems above the default cap, nested
# arrays): each was a decoder bug, fixed, and stays tested here.
KNOWN_GAPS: dict[str, tuple[dict[str, Any], str, str]] = {
    "exclusive_bounds": (
        {
            "type": "object",
            "properties": {
                "low": {"type": "integer", "exclusiveMinimum": 0},
                "high": {"type": "integer", "exclusiveMaximum": 1000},
            },
            "required": ["low", "high"],
        },
        "Set low to 0 and high to 5000.",
        "JsonWriter._clamp applies minimum/maximum only; exclusiveMinimum/exclusiveMaximum "
        "(pydantic gt=/lt=) are ignored, so 0 or 5000 come back as written",
    ),
    "min_items_above_default_max": (
        {
            "type": "object",
            "properties": {
                "letters": {
                    "type": "array",
                    "items": {"type": "string", "enum": list("abcdefgh")},
                    "minItems": 7,
                }
            },
            "required": ["letters"],
        },
        "List the letters a to h.",
        "JsonWriter._array caps every array at DEFAULT_MAX_ITEMS (6) even when minItems is "
        "larger, so the array comes back too short",
    ),
    "nested_array_min_items": (
        {
            "type": "object",
            "properties": {
                "rows": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
                    "maxItems": 2,
                }
            },
            "required": ["rows"],
        },
        "Write the matrix [[1, 2], [3, 4]] as rows.",
        "when the outer array may stop, JsonWriter._array feeds the first item's '[' itself and "
        "_array_rest then closes it at once (returns []), ignoring the inner minItems",
    ),
}


@pytest.mark.parametrize(
    "name",
    [pytest.param(name, id=name) for name in KNOWN_GAPS],
)
def test_formerly_broken_schemas(model: LocalChatModel, name: str) -> None:
    schema, prompt, _ = KNOWN_GAPS[name]
    call = _call(model, [_tool("record", schema)], prompt, tool_choice="record")
    jsonschema.validate(call["args"], schema)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("你好啊集团", "你好"), ("Tomás Ñandú", "Ñandú")],
    ids=["cjk", "latin"],
)
def test_non_ascii_characters_split_over_tokens_are_written(
    model: LocalChatModel, name: str, expected: str
) -> None:
    schema = {
        "type": "object",
        "properties": {"customer_name": {"type": "string", "maxLength": 20}},
        "required": ["customer_name"],
    }
    call = _call(
        model,
        [_tool("create_customer", schema)],
        f"Create a customer named '{name}'.",
        tool_choice="any",
    )
    assert expected in call["args"]["customer_name"]
    jsonschema.validate(call["args"], schema)


# --- tool choice ---------------------------------------------------------------------------------

_TWO_TOOLS = [
    _tool(
        "get_weather",
        {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "Get the weather in a city.",
    ),
    _tool(
        "add",
        {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
        "Add two integers.",
    ),
]


@pytest.mark.parametrize(
    "choice",
    ["add", {"type": "function", "function": {"name": "add"}}, {"type": "tool", "name": "add"}],
    ids=["name", "openai_dict", "name_dict"],
)
def test_tool_choice_naming_a_tool_forces_it(model: LocalChatModel, choice: Any) -> None:
    call = _call(model, _TWO_TOOLS, "What is the weather in Paris?", tool_choice=choice)
    assert call["name"] == "add"
    assert set(call["args"]) == {"a", "b"}
    assert all(isinstance(v, int) for v in call["args"].values())
    assert call["id"] and call["type"] == "tool_call"


@pytest.mark.parametrize("choice", ["any", "required", True])
def test_tool_choice_any_forces_some_bound_tool(model: LocalChatModel, choice: Any) -> None:
    call = _call(model, _TWO_TOOLS, "Hello there!", tool_choice=choice)
    assert call["name"] in {"get_weather", "add"}


def test_tool_choice_none_answers_in_text(model: LocalChatModel) -> None:
    result = model.bind_tools(_TWO_TOOLS, tool_choice="none").invoke("Add 2 and 3 with the tool.")
    assert isinstance(result, AIMessage)
    assert result.tool_calls == [] and isinstance(result.content, str) and result.content
    assert result.usage_metadata and result.usage_metadata["output_tokens"] > 0


def test_tool_choice_naming_an_unbound_tool_is_refused(model: LocalChatModel) -> None:
    with pytest.raises(BadInputError, match="not bound"):
        model.bind_tools(_TWO_TOOLS, tool_choice="multiply").invoke("2 times 3?")


# --- streaming -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "stop"),
    [("Write a short poem about the sea.", None), ("Count from one to ten in words.", ["five"])],
    ids=["plain", "stop"],
)
def test_streamed_text_equals_invoked_text(
    model: LocalChatModel, prompt: str, stop: list[str] | None
) -> None:
    invoked = model.invoke(prompt, stop=stop)
    chunks = list(model.stream(prompt, stop=stop))
    texts = [c.content for c in chunks if c.content]
    assert len(texts) > 1  # token by token, not one block at the end
    assert all(isinstance(t, str) for t in texts)
    assert "".join(texts) == invoked.content  # type: ignore[arg-type]
    assert invoked.content
    if stop:
        assert all(s not in invoked.content for s in stop)
    assert chunks[-1].chunk_position == "last" and chunks[-1].usage_metadata


# --- LoRA adapters -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lora_adapter(models_dir: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A tiny LoRA with random (non-zero) weights on the attention projections."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    weights = AutoModelForCausalLM.from_pretrained(
        str(default_chat_model_dir(Path(models_dir))), dtype=torch.float32
    )
    config = LoraConfig(
        r=4, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    out = tmp_path_factory.mktemp("lora")
    get_peft_model(weights, config).save_pretrained(str(out))
    assert (out / "adapter_config.json").is_file()
    return str(out)


def _next_token_logits(model: LocalChatModel, prompt: str) -> Any:
    import torch

    loaded = model.loaded
    text = model.render([HumanMessage(prompt)], [])
    ids = loaded.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        return loaded.model(input_ids=ids).logits[0, -1].float()


def test_a_lora_adapter_changes_the_model(models_dir: str, lora_adapter: str) -> None:
    import torch

    prompt = "What is the capital of France?"
    base = LocalChatModel(models_dir=models_dir, max_tokens=12)
    tuned = LocalChatModel(models_dir=models_dir, adapter=lora_adapter, max_tokens=12)
    assert tuned.loaded is not base.loaded
    base_logits, tuned_logits = _next_token_logits(base, prompt), _next_token_logits(tuned, prompt)
    assert not torch.allclose(base_logits, tuned_logits, atol=1e-2)
    assert tuned.invoke(prompt).content != base.invoke(prompt).content
    # the merged adapter is cached like the base weights: a second instance reuses it
    again = LocalChatModel(models_dir=models_dir, adapter=lora_adapter)
    assert again.loaded is tuned.loaded


def test_a_bad_adapter_path_is_a_bad_input(models_dir: str, tmp_path: Path) -> None:
    missing = LocalChatModel(models_dir=models_dir, adapter=str(tmp_path / "no-such-adapter"))
    with pytest.raises(BadInputError, match="not a PEFT adapter"):
        missing.invoke("Hello")


# --- the prompt-prefix cache and narrowed constraints ------------------------------------------


def test_the_cached_system_prompt_never_changes_an_answer(model: LocalChatModel) -> None:
    import torch

    from perfagent.agent.chat_model import _prompt_session

    loaded = model.loaded
    tokenizer = loaded.tokenizer
    system = "<|im_start|>system\n" + "You are a careful assistant. " * 12 + "<|im_end|>\n"
    ask = "<|im_start|>user\n{}<|im_end|>\n<|im_start|>assistant\n"
    first = tokenizer(system + ask.format("What is two plus two?"))["input_ids"]
    second = tokenizer(system + ask.format("Name a colour."))["input_ids"]
    with torch.inference_mode():
        loaded.prefix_ids, loaded.prefix_cache = [], None
        cold = _prompt_session(loaded, second).logits  # computes and caches the system part
        _prompt_session(loaded, first)
        warm = _prompt_session(loaded, second).logits  # reuses it
    assert len(loaded.prefix_ids) >= 32 and second[: len(loaded.prefix_ids)] == loaded.prefix_ids
    # the same prompt gets exactly the same logits, whatever was asked before
    assert torch.equal(cold, warm)


def test_tool_constraints_narrow_what_the_decoder_may_write(model: LocalChatModel) -> None:
    tools = [
        _tool(
            "lookup",
            {"type": "object", "properties": {"who": {"type": "string"}}, "required": ["who"]},
        ),
        _tool("other", {"type": "object", "properties": {}}),
    ]
    narrowed = {
        "lookup": {
            "type": "object",
            "properties": {"who": {"type": "string", "enum": ["Zed"]}},
            "required": ["who"],
        }
    }
    call = _call(model, tools, "Look up Alice.", tool_choice="any", tool_constraints=narrowed)
    assert call["name"] == "lookup" and call["args"] == {"who": "Zed"}
