"""LoRA fine-tuning of the chat model on CPU (`perfagent finetune train`).

PEFT LoRA (defaults r=8, alpha=16, dropout 0.05 on q_proj and v_proj), AdamW at 2e-4 with a
cosine schedule after a 3% warm-up. The loss is on the answer tokens only: each example is
rendered exactly as the agent renders a turn (`render_prompt`), and every prompt token's label is
-100 (SmolLM2's template has no generation markers, so the masking is done here). An answer's
first token, the turn's decision (call, refuse, ask back), weighs `decision_weight` (5) tokens.

Why it fits in minutes on 2 cores: every routing example shares one system message (~1,200
tokens of tool descriptions). Each step runs that prefix once, without gradients, and trains on
the examples' own tokens (~100 each) attending to its cached keys and values: the same
prefix-cache the agent uses at inference. (LoRA on v_proj changes the prefix's values too; the
prefix is recomputed with the current adapter every few steps, only its gradient is left out.)
Batches hold one system kind each, and examples of similar lengths (less padding).

Seeded (data order, LoRA init, dropout) and resumable: a checkpoint (adapter, optimizer,
scheduler, RNG states, step) is written every `checkpoint_every` steps, atomically; `resume`
continues from the newest one. The finished adapter is written to `out` with `training.json`.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfagent.agent.chat_model import render_prompt
from perfagent.agent.graph import system_prompt
from perfagent.errors import BadInputError
from perfagent.finetune.dataset import PHRASE_SYSTEM, ROUTE_SYSTEM, Example
from perfagent.settings import FinetuneSettings
from perfagent.tools.agent_tools import tool_specs

END_OF_TURN = "<|im_end|>"


# Training settings: `finetune:` in settings.yaml, flags of `perfagent finetune train`.
TrainConfig = FinetuneSettings


def phrase_system_prompt() -> str:
    from importlib import resources

    path = resources.files("perfagent.agent") / "prompts" / "phrase_system.txt"
    return path.read_text("utf-8").strip()


@dataclass
class Encoded:
    """One example as token ids: the shared system prefix, then the rest with its labels."""

    system: str
    prefix: list[int]
    ids: list[int]
    labels: list[int]


def render_example(tokenizer: Any, example: Example) -> tuple[str, str]:
    """(prompt, answer) texts: the prompt exactly as the agent renders the turn."""
    from langchain_core.messages import HumanMessage, SystemMessage

    if example.system == ROUTE_SYSTEM:
        messages = [SystemMessage(system_prompt()), HumanMessage(example.prompt)]
        prompt = render_prompt(tokenizer, messages, tool_specs())
    elif example.system == PHRASE_SYSTEM:
        messages = [SystemMessage(phrase_system_prompt()), HumanMessage(example.prompt)]
        prompt = render_prompt(tokenizer, messages, [])
    else:
        raise BadInputError(f"example {example.id}: unknown system kind {example.system!r}")
    return prompt, example.answer + END_OF_TURN


def encode_example(tokenizer: Any, example: Example) -> Encoded:
    """Token ids with labels -100 over the prompt and the answer's ids (and end of turn) after
    it. The prefix is the system message, up to and including its end-of-turn token."""
    prompt, answer = render_example(tokenizer, example)
    prompt_ids = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    answer_ids = list(tokenizer(answer, add_special_tokens=False)["input_ids"])
    end = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    split = next((i + 1 for i, t in enumerate(prompt_ids) if t == end), 0)
    rest = prompt_ids[split:] + answer_ids
    labels = [-100] * (len(prompt_ids) - split) + answer_ids
    return Encoded(example.system, prompt_ids[:split], rest, labels)


# Batches are made from windows of this many batches' worth of shuffled examples, sorted by
# length: a batch is padded to its longest example, and random batches were 23% padding.
SORT_WINDOW = 16


def _batches(encoded: Sequence[Encoded], size: int, rng: random.Random) -> list[list[int]]:
    """Index batches of one system kind each and of similar lengths, in shuffled order."""
    by_system: dict[str, list[int]] = {}
    for i, e in enumerate(encoded):
        by_system.setdefault(e.system, []).append(i)
    batches: list[list[int]] = []
    for indices in by_system.values():
        rng.shuffle(indices)
        for start in range(0, len(indices), size * SORT_WINDOW):
            window = sorted(
                indices[start : start + size * SORT_WINDOW], key=lambda i: len(encoded[i].ids)
            )
            batches += [window[i : i + size] for i in range(0, len(window), size)]
    rng.shuffle(batches)
    return batches


def load_base(model_dir: str) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    try:
        import torch

        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    except OSError as exc:
        raise BadInputError(f"base model {model_dir}: cannot load ({exc})") from None
    return tokenizer, model


@dataclass
class TrainResult:
    out: Path
    steps: int
    seconds: float
    final_loss: float
    losses: list[float]


def _bf16_native() -> bool:
    from perfagent.store.embeddings import cpu_has_native_bf16

    return cpu_has_native_bf16()


def train(
    model_dir: str,
    train_examples: Sequence[Example],
    out: Path,
    config: TrainConfig,
    *,
    resume: bool = True,
    on_progress: Callable[[int, int, float], None] | None = None,
    progress_bar: bool = True,
) -> TrainResult:
    """Train a LoRA adapter for the model in `model_dir` and save it to `out`."""
    import numpy as np
    import torch
    from peft import LoraConfig, get_peft_model, set_peft_model_state_dict
    from peft.utils import get_peft_model_state_dict
    from transformers import get_scheduler

    if not train_examples:
        raise BadInputError("no training examples")
    torch.set_num_threads(config.threads)
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    tokenizer, base = load_base(model_dir)
    lora = LoraConfig(
        r=config.r,
        lora_alpha=config.alpha,
        lora_dropout=config.dropout,
        target_modules=list(config.target_modules),
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(base, lora)
    encoded = [encode_example(tokenizer, e) for e in train_examples]
    order_rng = random.Random(config.seed)
    epochs = math.ceil(config.epochs)
    plan: list[list[int]] = []
    for _ in range(epochs):
        plan += _batches(encoded, config.batch_size, order_rng)
    total = config.max_steps or max(1, round(len(plan) * config.epochs / epochs))
    while len(plan) < total:  # max_steps beyond the epochs: keep going round
        plan += _batches(encoded, config.batch_size, order_rng)
    plan = plan[:total]
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=config.learning_rate
    )
    scheduler = get_scheduler(
        config.scheduler,
        optimizer,
        num_warmup_steps=round(config.warmup_ratio * total),
        num_training_steps=total,
    )
    checkpoints = out / "checkpoints"
    step = 0
    losses: list[float] = []
    # A resumed run reports the whole run's training time, not only the part after the resume.
    earlier_seconds = 0.0
    resumed_at: list[int] = []
    latest = _latest_checkpoint(checkpoints) if resume else None
    if latest is not None:
        state = torch.load(latest / "state.pt", weights_only=False)
        if state["total"] != total:
            raise BadInputError(
                f"{latest}: a checkpoint of a {state['total']}-step run; this run has {total} "
                "steps (remove the checkpoints or train with the same settings)"
            )
        from safetensors.torch import load_file

        set_peft_model_state_dict(model, load_file(str(latest / "adapter.safetensors")))
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        step, losses = state["step"], state["losses"]
        earlier_seconds = float(state.get("seconds", 0.0))
        resumed_at = [*state.get("resumed_at_steps", []), step]
    autocast = config.bf16 and _bf16_native()
    prefixes = PrefixCache(config.prefix_refresh)
    started = time.perf_counter()
    bar = None
    if progress_bar:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=step, desc="training", unit="step")
    with torch.enable_grad():  # loading the chat model elsewhere turns gradients off globally
        while step < total:
            batch = [encoded[i] for i in plan[step]]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss = _batch_loss(
                    model, batch, tokenizer.pad_token_id or 0, prefixes, config.decision_weight
                )
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            losses.append(round(float(loss.detach()), 5))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.4f}", lr=f"{scheduler.get_last_lr()[0]:.1e}")
            if step % config.checkpoint_every == 0 and step < total:
                _save_checkpoint(
                    checkpoints,
                    step,
                    get_peft_model_state_dict(model),
                    {
                        "step": step,
                        "total": total,
                        "losses": losses,
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "torch_rng": torch.get_rng_state(),
                        "seconds": earlier_seconds + time.perf_counter() - started,
                        "resumed_at_steps": resumed_at,
                    },
                )
            if on_progress is not None:  # after the checkpoint: a stop here loses nothing
                on_progress(step, total, losses[-1])
    if bar is not None:
        bar.close()
    seconds = earlier_seconds + time.perf_counter() - started
    _save_adapter(model, tokenizer, out)
    (out / "training.json").write_text(
        json.dumps(
            {
                "base_model": model_dir,
                "config": config.model_dump(),
                # bfloat16 only where the CPU computes it natively; float32 elsewhere
                "precision": "bfloat16 autocast" if autocast else "float32",
                "examples": len(train_examples),
                "steps": total,
                "seconds": round(seconds, 1),
                "resumed_at_steps": resumed_at,
                "final_loss": _tail_mean(losses),
                "losses": losses,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    shutil.rmtree(checkpoints, ignore_errors=True)
    return TrainResult(out, total, seconds, _tail_mean(losses), losses)


def _tail_mean(losses: Sequence[float], n: int = 20) -> float:
    tail = list(losses[-n:])
    return round(sum(tail) / len(tail), 5) if tail else float("nan")


class PrefixCache:
    """The shared system prefix's keys and values, recomputed every `refresh` steps (and for a
    new prefix): running ~1,200 tokens each step would double a step's time, and the adapter
    moves little in a few steps."""

    def __init__(self, refresh: int) -> None:
        self.refresh = refresh
        self._ids: list[int] = []
        self._cache: Any = None
        self._age = 0

    def get(self, model: Any, prefix: list[int], size: int) -> Any:
        import copy

        import torch

        if prefix != self._ids or self._cache is None or self._age >= self.refresh:
            model.eval()  # no dropout in the prefix: it is computed as inference computes it
            with torch.no_grad():
                self._cache = model(
                    input_ids=torch.tensor([prefix]), use_cache=True
                ).past_key_values
            model.train()
            self._ids, self._age = list(prefix), 0
        self._age += 1
        cache = copy.deepcopy(self._cache)
        cache.batch_repeat_interleave(size)
        return cache


def _batch_loss(
    model: Any,
    batch: Sequence[Encoded],
    pad_id: int,
    prefixes: PrefixCache,
    decision_weight: float = 1.0,
) -> Any:
    """Weighted mean cross-entropy over the batch's answer tokens, attending to the cached
    prefix. Each answer's first token (a call's "<", a refusal's "I", a question's "Which") is the
    turn's decision: it counts `decision_weight` times, or one token in a call's ~40 would barely
    move it."""
    import torch

    prefix = batch[0].prefix
    size = len(batch)
    cache = prefixes.get(model, prefix, size) if prefix else None
    width = max(len(e.ids) for e in batch)
    ids = torch.full((size, width), pad_id, dtype=torch.long)
    labels = torch.full((size, width), -100, dtype=torch.long)
    mask = torch.zeros((size, len(prefix) + width), dtype=torch.long)
    mask[:, : len(prefix)] = 1
    for row, e in enumerate(batch):
        ids[row, : len(e.ids)] = torch.tensor(e.ids)
        labels[row, : len(e.labels)] = torch.tensor(e.labels)
        mask[row, len(prefix) : len(prefix) + len(e.ids)] = 1
    hidden = model.base_model.model.model(
        input_ids=ids, attention_mask=mask, past_key_values=cache, use_cache=cache is not None
    ).last_hidden_state
    # Position t predicts token t+1. Only answer tokens count, so the vocabulary projection (a
    # fifth of the model's compute per token) runs at their positions alone. The prefix's last
    # position would predict the user turn's first token, a prompt token: nothing is left out.
    targets = labels[:, 1:]
    keep = targets != -100
    logits = model.base_model.model.lm_head(hidden[:, :-1][keep]).float()
    weights = torch.ones_like(targets, dtype=torch.float32)
    first = keep.float().argmax(dim=1)  # each row's first answer position
    weights[torch.arange(size), first] = decision_weight
    weights = weights[keep]
    token_loss = torch.nn.functional.cross_entropy(logits, targets[keep], reduction="none")
    return (token_loss * weights).sum() / weights.sum()


def _save_adapter(model: Any, tokenizer: Any, out: Path) -> None:
    """The adapter (safetensors) into `out`, written beside and renamed into place."""
    out.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.saving"
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(str(staging), safe_serialization=True)
    for item in staging.iterdir():
        item.replace(out / item.name)
    shutil.rmtree(staging, ignore_errors=True)


def _latest_checkpoint(folder: Path) -> Path | None:
    done = sorted(
        (p for p in folder.glob("step-*") if (p / "state.pt").is_file()),
        key=lambda p: int(p.name.removeprefix("step-")),
    )
    return done[-1] if done else None


def _save_checkpoint(
    folder: Path, step: int, adapter: dict[str, Any], state: dict[str, Any]
) -> None:
    import torch
    from safetensors.torch import save_file

    target = folder / f"step-{step}"
    staging = folder / f".step-{step}.saving"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in adapter.items()}, str(staging / "adapter.safetensors"))
    torch.save(state, staging / "state.pt")
    shutil.rmtree(target, ignore_errors=True)
    staging.replace(target)
    for older in folder.glob("step-*"):
        if older != target:
            shutil.rmtree(older, ignore_errors=True)
