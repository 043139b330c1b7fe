"""Fine-tune the evidence judge (MiniLM + LoRA + output layer) on the labelled sentence corpus.

    python -m perfagent.finetune.judge_model [--out tools/judge_model] [--holdout 0.2]

Trains on `data/judge_train/*.jsonl` (sentences written for training, in many voices and
domains; the evaluation sets data/demo and data/eval_alt are never read here, so their figures
measure generalisation). Seeded and single-threaded-deterministic on one machine; ~10 minutes
on 2 CPU cores. `--holdout` keeps a share of the corpus out of training and prints accuracy on it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from perfagent.offline import configure_offline_env
from perfagent.tools.judge import DEFAULT_MODEL_DIR, MAX_TOKENS, pool
from perfagent.tools.masking import mask_people

DIMENSIONS = ("delivery", "quality", "collaboration", "ownership", "communication", "growth")
CORPUS_DIR = Path(__file__).resolve().parents[1] / "data" / "judge_train"
MODEL_VERSION = "2"


@dataclass(frozen=True)
class TrainingConfig:
    epochs: int = 4
    batch_size: int = 32
    learning_rate: float = 1e-3
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    # Each dimension is about ~15% of sentences: weigh "about it" up so relevance is not timid.
    relevance_pos_weight: float = 3.0
    seed: int = 0


@dataclass(frozen=True)
class LabelledSentence:
    text: str
    labels: dict[str, int]


def corpus_files(corpus_dir: Path = CORPUS_DIR) -> list[Path]:
    return sorted(corpus_dir.glob("*.jsonl"))


def load_corpus(files: Sequence[Path]) -> list[LabelledSentence]:
    items: list[LabelledSentence] = []
    for path in files:
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            labels = {str(k): int(v) for k, v in (row.get("labels") or {}).items()}
            bad = [k for k, v in labels.items() if k not in DIMENSIONS or v not in (-2, -1, 1, 2)]
            if bad:
                raise ValueError(f"{path}:{line_no}: bad label {bad[0]}={labels[bad[0]]}")
            items.append(LabelledSentence(str(row["text"]), labels))
    return items


def corpus_digest(files: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def masked_text(item: LabelledSentence) -> str:
    # The corpus's invented names are unknown here; pronouns are neutralised as at judge time.
    return mask_people(item.text, ())


def targets(items: Sequence[LabelledSentence]) -> dict[str, np.ndarray]:
    """Training targets and masks for the 2D+2 outputs (see tools/judge.py)."""
    about = np.array([[d in it.labels for d in DIMENSIONS] for it in items], np.float32)
    positive = np.array([[it.labels.get(d, 0) > 0 for d in DIMENSIONS] for it in items], np.float32)
    total = np.array([sum(it.labels.values()) for it in items], np.float32)
    labelled = about.any(axis=1).astype(np.float32)
    strong = np.array([any(abs(v) == 2 for v in it.labels.values()) for it in items], np.float32)
    return {
        "about": about,
        "positive": positive,
        "general": (total > 0).astype(np.float32),
        "general_mask": (labelled * (total != 0)).astype(np.float32),
        "strong": strong,
        "labelled": labelled,
    }


def train(
    items: Sequence[LabelledSentence], base_path: Path, config: TrainingConfig
) -> tuple[object, object, object]:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(config.seed)
    tokenizer = AutoTokenizer.from_pretrained(str(base_path), local_files_only=True)
    base = AutoModel.from_pretrained(str(base_path), local_files_only=True)
    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=["query", "key", "value", "dense"],
    )
    encoder = get_peft_model(base, lora)
    d = len(DIMENSIONS)
    head = torch.nn.Linear(base.config.hidden_size, 2 * d + 2)
    params = [p for p in encoder.parameters() if p.requires_grad] + list(head.parameters())
    optimiser = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=0.01)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    texts = [masked_text(it) for it in items]
    t = {k: torch.tensor(v) for k, v in targets(items).items()}
    pos_weight = torch.full((d,), config.relevance_pos_weight)

    def masked_bce(logit: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (bce(logit, target, reduction="none") * mask).sum() / mask.sum().clamp(min=1)

    started = time.monotonic()
    for epoch in range(config.epochs):
        encoder.train()
        order = np.random.default_rng(config.seed + epoch).permutation(len(items))
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            idx = torch.tensor(order[start : start + config.batch_size])
            batch = tokenizer(
                [texts[i] for i in idx.tolist()],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            out = head(pool(encoder(**batch).last_hidden_state, batch["attention_mask"]))
            loss = (
                bce(out[:, :d], t["about"][idx], pos_weight=pos_weight)
                + masked_bce(out[:, d : 2 * d], t["positive"][idx], t["about"][idx])
                + masked_bce(out[:, 2 * d], t["general"][idx], t["general_mask"][idx])
                + masked_bce(out[:, 2 * d + 1], t["strong"][idx], t["labelled"][idx])
            )
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach())
        print(
            f"epoch {epoch + 1}/{config.epochs}: loss {total:.1f} ({time.monotonic() - started:.0f} s)"
        )
    encoder.eval()
    head.eval()
    return tokenizer, encoder, head


def save(encoder: object, head: object, out: Path, meta: dict[str, object]) -> None:
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    encoder.save_pretrained(str(out))  # type: ignore[attr-defined]
    state = {k: v.detach().contiguous() for k, v in head.state_dict().items()}  # type: ignore[attr-defined]
    save_file(state, str(out / "head.safetensors"))
    (out / "judge.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    config_file = out / "adapter_config.json"
    config = json.loads(config_file.read_text())
    # The base is the packaged MiniLM wherever it is installed, not this machine's path.
    config["base_model_name_or_path"] = "sentence-transformers/all-MiniLM-L6-v2"
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    readme = out / "README.md"
    if readme.exists():
        readme.unlink()  # peft writes a model card with hub boilerplate; judge.json says it all


def evaluate_holdout(
    tokenizer: object, encoder: object, head: object, items: Sequence[LabelledSentence]
) -> dict[str, float]:
    import torch

    d = len(DIMENSIONS)
    rows = []
    with torch.inference_mode():
        for start in range(0, len(items), 64):
            batch = tokenizer(  # type: ignore[operator]
                [masked_text(it) for it in items[start : start + 64]],
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            hidden = encoder(**batch).last_hidden_state  # type: ignore[operator]
            rows.append(head(pool(hidden, batch["attention_mask"])).numpy())  # type: ignore[operator]
    out = np.concatenate(rows)
    t = targets(items)
    about = t["about"] > 0
    return {
        "relevance_accuracy": float(((out[:, :d] > 0) == about).mean()),
        "sign_accuracy": float(((out[:, d : 2 * d] > 0) == (t["positive"] > 0))[about].mean()),
        "sentences": float(len(items)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR)
    parser.add_argument("--epochs", type=int, default=TrainingConfig.epochs)
    parser.add_argument("--holdout", type=float, default=0.0, help="share kept out to evaluate")
    args = parser.parse_args(argv)
    configure_offline_env()
    import torch

    from perfagent.settings import load_settings
    from perfagent.store.embeddings import resolve_embedding_model

    torch.set_num_threads(max(1, torch.get_num_threads()))
    base = resolve_embedding_model("minilm", load_settings().models_dir)
    files = corpus_files(args.corpus)
    items = load_corpus(files)
    if not items:
        raise SystemExit(f"no labelled sentences in {args.corpus}")
    order = np.random.default_rng(0).permutation(len(items))
    n_out = int(len(items) * args.holdout)
    held = [items[i] for i in sorted(order[:n_out])]
    train_items = [items[i] for i in sorted(order[n_out:])]
    config = TrainingConfig(epochs=args.epochs)
    tokenizer, encoder, head = train(train_items, base.path, config)
    meta: dict[str, object] = {
        "version": MODEL_VERSION,
        "base_model": base.key,
        "dimensions": list(DIMENSIONS),
        "corpus_sha256": corpus_digest(files),
        "trained_on": len(train_items),
        "config": config.__dict__,
    }
    if held:
        meta["holdout"] = evaluate_holdout(tokenizer, encoder, head, held)
        print(json.dumps(meta["holdout"]))
    save(encoder, head, args.out, meta)
    print(f"wrote {args.out} ({len(train_items)} training sentences)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
