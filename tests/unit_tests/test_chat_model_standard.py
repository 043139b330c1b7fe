"""LangChain's standard unit tests for `LocalChatModel` (no weights are loaded here).

Construction is cheap and lazy: the weights load on the first call, which no unit test makes (an
autouse fixture turns any attempt into a failure). The model reads no environment variable for its
fields (`PERFAGENT_HOME` only decides where weights are cached, at load time), so
`init_from_env_params` keeps its default and `test_init_from_env` is skipped, as is `test_serdes`
(the model is not LangChain-serializable).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langchain_tests.unit_tests import ChatModelUnitTests

from perfagent.agent import chat_model as chat_model_module
from perfagent.agent.chat_model import DEFAULT_MODEL_NAME, LocalChatModel
from tests.chat_model_features import LocalChatModelFeatures

# Never created: constructing a LocalChatModel does not touch `models_dir`.
UNUSED_MODELS_DIR = str(Path(__file__).resolve().parent / ".no-models-in-unit-tests")


@pytest.fixture(autouse=True)
def _no_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a unit test tried to load model weights")

    monkeypatch.setattr(chat_model_module, "load_model", refuse)
    monkeypatch.setattr(chat_model_module, "resolve_model_dir", refuse)


class TestLocalChatModelStandard(LocalChatModelFeatures, ChatModelUnitTests):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"models_dir": UNUSED_MODELS_DIR}


def test_construction_is_lazy_and_standard_params_apply() -> None:
    model = LocalChatModel(models_dir=UNUSED_MODELS_DIR, temperature=0, max_tokens=7, stop=["x"])
    assert model._loaded is None
    assert not Path(UNUSED_MODELS_DIR).exists()
    assert (model.max_tokens, model.stop, model.temperature) == (7, ["x"], 0)
    assert model.model_name == DEFAULT_MODEL_NAME
    params = model._get_ls_params()
    assert params["ls_provider"] == "perfagent" and params["ls_stop"] == ["x"]


def test_bind_tools_keeps_tool_choice_only_when_given() -> None:
    model = LocalChatModel(models_dir=UNUSED_MODELS_DIR)

    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    plain = model.bind_tools([add])
    assert "tool_choice" not in plain.kwargs  # type: ignore[attr-defined]
    assert plain.kwargs["tools"][0]["function"]["name"] == "add"  # type: ignore[attr-defined]
    for choice in ("auto", "any", "required", "add", {"type": "function", "name": "add"}):
        bound = model.bind_tools([add], tool_choice=choice)
        assert bound.kwargs["tool_choice"] == choice  # type: ignore[attr-defined]
    assert "tool_choice" not in model.bind_tools([add], tool_choice=False).kwargs  # type: ignore[attr-defined]
