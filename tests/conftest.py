"""Shared fixtures: the demo org, and one store with the demo ingested (built once per run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from perfagent.offline import configure_offline_env

configure_offline_env()

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = REPO_ROOT / "data" / "demo"


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return DEMO_DIR


@pytest.fixture(scope="session")
def demo_container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A Container whose home holds the whole demo, ingested once for the session."""
    from perfagent.container import Container
    from perfagent.settings import load_settings

    home = tmp_path_factory.mktemp("demo-home")
    container = Container(load_settings(home), writable=True, purpose="tests")
    container.install_org(DEMO_DIR / "org.csv")
    report = container.ingestor().run(DEMO_DIR, progress=False)
    assert report.skipped == [], [str(s) for s in report.skipped]
    yield container


@pytest.fixture(scope="session")
def shared_embeddings(demo_container: object) -> object:
    return demo_container.embeddings  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def chat_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory holding the converted default chat model, shared by every test module
    (the GGUF is converted once per session, and `LocalChatModel` caches loaded weights per
    directory). `PERFAGENT_TEST_MODELS_DIR` reuses an existing models directory."""
    import os

    from perfagent.agent.local_model import default_chat_model_dir

    env = os.environ.get("PERFAGENT_TEST_MODELS_DIR")
    models = Path(env).expanduser() if env else tmp_path_factory.getbasetemp() / "chat-models"
    default_chat_model_dir(models)
    return models
