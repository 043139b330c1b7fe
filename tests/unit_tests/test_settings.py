"""Settings layers: package defaults, the home's settings.yaml, profiles, then environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfagent.errors import BadInputError
from perfagent.settings import default_home, load_settings

ENV_VARS = (
    "PERFAGENT_HOME",
    "PERFAGENT_PROFILES",
    "PERFAGENT_CHROMA_URL",
    "PERFAGENT_EMBEDDING_MODEL",
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty home, a clean environment, and an empty current directory (profiles look there)."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    home = tmp_path / "home"
    home.mkdir()
    return home


def test_defaults(home: Path) -> None:
    settings = load_settings(home)
    assert settings.home == home
    assert settings.embedding.model == "minilm"
    assert settings.embedding.batch_size == 16
    assert settings.embedding.dtype == "auto"
    assert settings.chroma.url == ""
    assert settings.chroma.collection_prefix == "perfagent"
    assert settings.ingest.max_chunk_chars == 700
    assert settings.ingest.max_file_bytes == 5_000_000
    assert settings.retrieval.k == 8
    assert settings.chroma_dir == home / "chroma"
    assert settings.org_file == home / "org.csv"
    assert settings.models_dir == home / "models"


def test_home_may_be_a_string(home: Path) -> None:
    assert load_settings(str(home)).home == home


def test_home_settings_file_overrides_one_field(home: Path) -> None:
    (home / "settings.yaml").write_text("retrieval:\n  k: 12\n", encoding="utf-8")
    settings = load_settings(home)
    assert settings.retrieval.k == 12
    # Everything else keeps its default, including siblings in other sections.
    assert settings.ingest.max_chunk_chars == 700
    assert settings.embedding.model == "minilm"


def test_nested_override_keeps_sibling_keys(home: Path) -> None:
    (home / "settings.yaml").write_text("embedding:\n  batch_size: 4\n", encoding="utf-8")
    settings = load_settings(home)
    assert settings.embedding.batch_size == 4
    assert settings.embedding.model == "minilm"
    assert settings.embedding.dtype == "auto"


def test_empty_home_settings_file_is_fine(home: Path) -> None:
    (home / "settings.yaml").write_text("# nothing yet\n", encoding="utf-8")
    assert load_settings(home).retrieval.k == 8


def test_env_overrides_chroma_url(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "settings.yaml").write_text("chroma:\n  url: http://from-file:1\n", encoding="utf-8")
    monkeypatch.setenv("PERFAGENT_CHROMA_URL", "http://localhost:8123")
    settings = load_settings(home)
    assert settings.chroma.url == "http://localhost:8123"
    assert settings.chroma.collection_prefix == "perfagent"


def test_env_overrides_embedding_model(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFAGENT_EMBEDDING_MODEL", "mpnet")
    assert load_settings(home).embedding.model == "mpnet"


def test_empty_env_value_does_not_override(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "settings.yaml").write_text("chroma:\n  url: http://from-file:1\n", encoding="utf-8")
    monkeypatch.setenv("PERFAGENT_CHROMA_URL", "")
    assert load_settings(home).chroma.url == "http://from-file:1"


def test_profile_picks_its_file_from_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "settings-fast.yaml").write_text("retrieval:\n  k: 3\n", encoding="utf-8")
    (home / "settings-other.yaml").write_text("retrieval:\n  k: 50\n", encoding="utf-8")
    assert load_settings(home).retrieval.k == 8  # no profile named: not applied
    monkeypatch.setenv("PERFAGENT_PROFILES", "fast")
    assert load_settings(home).retrieval.k == 3


def test_profile_in_current_directory_wins(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "settings-fast.yaml").write_text("retrieval:\n  k: 3\n", encoding="utf-8")
    (Path.cwd() / "settings-fast.yaml").write_text("retrieval:\n  k: 5\n", encoding="utf-8")
    monkeypatch.setenv("PERFAGENT_PROFILES", "fast")
    assert load_settings(home).retrieval.k == 5


def test_profiles_apply_in_order_over_the_home_file(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (home / "settings.yaml").write_text("retrieval:\n  k: 12\n", encoding="utf-8")
    (home / "settings-a.yaml").write_text(
        "retrieval:\n  k: 20\ningest:\n  max_chunk_chars: 400\n", encoding="utf-8"
    )
    (home / "settings-b.yaml").write_text("retrieval:\n  k: 30\n", encoding="utf-8")
    monkeypatch.setenv("PERFAGENT_PROFILES", "a, b")
    settings = load_settings(home)
    assert settings.retrieval.k == 30
    assert settings.ingest.max_chunk_chars == 400


def test_env_beats_profiles(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "settings-remote.yaml").write_text(
        "chroma:\n  url: http://profile:1\n", encoding="utf-8"
    )
    monkeypatch.setenv("PERFAGENT_PROFILES", "remote")
    monkeypatch.setenv("PERFAGENT_CHROMA_URL", "http://env:2")
    assert load_settings(home).chroma.url == "http://env:2"


def test_unknown_profile_is_bad_input(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFAGENT_PROFILES", "nosuch")
    with pytest.raises(BadInputError, match="profile 'nosuch'") as info:
        load_settings(home)
    assert "settings-nosuch.yaml" in str(info.value)


@pytest.mark.parametrize(
    ("yaml_text", "setting"),
    [
        ("retrieval:\n  k: 0\n", "retrieval.k"),
        ("retrieval:\n  k: 101\n", "retrieval.k"),
        ("retrieval:\n  k: many\n", "retrieval.k"),
        ("ingest:\n  max_chunk_chars: 50\n", "ingest.max_chunk_chars"),
        ("ingest:\n  max_file_bytes: -1\n", "ingest.max_file_bytes"),
        ("embedding:\n  batch_size: 0\n", "embedding.batch_size"),
        ("embedding:\n  dtype: float16\n", "embedding.dtype"),
        ("retrieval:\n  kk: 3\n", "retrieval.kk"),
        ("colour: blue\n", "colour"),
    ],
)
def test_invalid_setting_is_named(home: Path, yaml_text: str, setting: str) -> None:
    (home / "settings.yaml").write_text(yaml_text, encoding="utf-8")
    with pytest.raises(BadInputError, match="invalid setting") as info:
        load_settings(home)
    message = str(info.value)
    assert setting in message
    assert "\n" not in message


def test_invalid_profile_value_is_named(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "settings-bad.yaml").write_text("retrieval:\n  k: 0\n", encoding="utf-8")
    monkeypatch.setenv("PERFAGENT_PROFILES", "bad")
    with pytest.raises(BadInputError, match=r"retrieval\.k"):
        load_settings(home)


def test_unparsable_settings_file_is_bad_input(home: Path) -> None:
    path = home / "settings.yaml"
    path.write_text("retrieval: [k: 3\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="cannot read settings") as info:
        load_settings(home)
    assert str(path) in str(info.value)


def test_settings_file_must_be_a_mapping(home: Path) -> None:
    (home / "settings.yaml").write_text("- k\n- 3\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="must be a YAML mapping"):
        load_settings(home)


def test_default_home_from_env(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PERFAGENT_HOME", str(home))
    assert default_home() == home
    assert load_settings().home == home


def test_default_home_without_env_is_a_user_data_dir(home: Path) -> None:
    path = default_home()
    assert path.is_absolute()
    assert path.name == "perfagent"
