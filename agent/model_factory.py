"""The chat model the settings name: local weights in-process, or an OpenAI-compatible server."""

from __future__ import annotations

import os
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from perfagent.agent.chat_model import LocalChatModel
from perfagent.errors import BadInputError
from perfagent.settings import AgentSettings


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
        adapter=settings.adapter,
        dtype=settings.dtype,
        models_dir=str(models_dir),
    )
