"""The chat model the settings name: local weights in-process, or an OpenAI-compatible server."""

from __future__ import annotations

import os
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from perfagent.agent.chat_model import DEFAULT_MODEL_NAME, LocalChatModel
from perfagent.errors import BadInputError
from perfagent.settings import AgentSettings

BUNDLED_ADAPTER = "bundled"


def bundled_adapter_dir() -> Path:
    """The LoRA adapter shipped with perfagent (trained for SmolLM2-135M-Instruct)."""
    from importlib import resources

    return Path(str(resources.files("perfagent.agent") / "adapter"))


def adapter_path(adapter: str, model: str) -> str:
    """The adapter directory the `agent.adapter` setting names: "bundled" (the default) is the
    shipped adapter, used only with the default model it was trained for; "" or "none" is
    none; anything else is a directory."""
    if adapter.strip().casefold() in ("", "none"):
        return ""
    if adapter == BUNDLED_ADAPTER:
        default_model = model in ("", "smollm2", DEFAULT_MODEL_NAME)
        shipped = bundled_adapter_dir()
        return str(shipped) if default_model and (shipped / "adapter_config.json").is_file() else ""
    return adapter


def build_chat_model(settings: AgentSettings, models_dir: Path) -> BaseChatModel:
    """`LocalChatModel` by default; `ChatOpenAI` against `server_url` when one is set.

    A server does its own tool-call parsing (vLLM `--enable-auto-tool-choice`, llama.cpp
    `--jinja`, Ollama's tool support); the agent's schemas and `tool_choice` go to it unchanged.
    """
    if settings.server_url:
        if not settings.server_model:
            raise BadInputError("agent.server_url is set but agent.server_model is empty")
        from langchain_openai import ChatOpenAI

        key = os.environ.get(settings.server_api_key_env) or "not-needed"
        return ChatOpenAI(
            base_url=settings.server_url,
            model=settings.server_model,
            api_key=key,  # type: ignore[arg-type]
            temperature=0,
            max_retries=1,
        )
    return LocalChatModel(
        model=settings.model,
        adapter=adapter_path(settings.adapter, settings.model),
        dtype=settings.dtype,
        models_dir=str(models_dir),
    )
