"""Typed settings loaded from YAML: package defaults, then the user's file, then profiles, then env.

Modelled on private-gpt: one pydantic model per component, merged from YAML layers so a profile
file only states what it changes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import platformdirs
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from perfagent.errors import BadInputError

DEFAULTS_FILE = Path(__file__).with_name("settings.yaml")


class EmbeddingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(description="'minilm', 'mpnet' or a local sentence-transformers directory")
    batch_size: int = Field(gt=0)
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"


class ChromaSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(description="Chroma server URL; empty for the embedded store")
    collection_prefix: str


class IngestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_chunk_chars: int = Field(gt=100)
    max_file_bytes: int = Field(gt=0)
    batch_chunks: int = Field(gt=0, description="chunks embedded and upserted per write")


class RetrievalSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    k: int = Field(gt=0, le=100)


class ScoringSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rubric: str = Field("", description="a rubric YAML file; empty for the bundled default")
    judge_model: str = Field(
        "", description="a fine-tuned judge directory; empty for the bundled tools/judge_model"
    )


class AgentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str = Field(
        "", description="empty (SmolLM2-135M-Instruct), a model directory, a .gguf file or a hub id"
    )
    adapter: str = Field(
        "bundled",
        description="'bundled' (the shipped LoRA, default model only), a PEFT adapter directory, "
        "or 'none'",
    )
    dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    server_url: str = Field(
        "", description="an OpenAI-compatible server (vLLM, llama.cpp, Ollama): its /v1 URL"
    )
    server_model: str = Field("", description="the model name the server serves")
    server_api_key_env: str = Field(
        "OPENAI_API_KEY", description="environment variable holding the server's API key"
    )
    max_tool_calls: int = Field(3, gt=0, le=20, description="tool calls per turn at most")


class FinetuneSettings(BaseModel):
    """LoRA training (`perfagent finetune train`); flags override these."""

    model_config = ConfigDict(extra="forbid")
    r: int = Field(8, ge=1)
    alpha: int = Field(16, ge=1)
    dropout: float = Field(0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = ["q_proj", "v_proj"]
    learning_rate: float = Field(2e-4, gt=0.0)
    scheduler: str = "cosine"
    warmup_ratio: float = Field(0.03, ge=0.0, lt=1.0)
    epochs: float = Field(1.0, gt=0.0)
    max_steps: int | None = Field(None, ge=1)
    batch_size: int = Field(8, ge=1)
    seed: int = 0
    checkpoint_every: int = Field(25, ge=1)
    threads: int = Field(2, ge=1)
    prefix_refresh: int = Field(
        8, ge=1, description="steps between recomputing the shared system prefix's keys/values"
    )
    bf16: bool = Field(True, description="bfloat16 autocast where the CPU computes it natively")
    decision_weight: float = Field(
        5.0,
        ge=1.0,
        description="loss weight of an answer's first token: call a tool, refuse or ask back",
    )


class UiSettings(BaseModel):
    """The web server (`perfagent serve`)."""

    model_config = ConfigDict(extra="forbid")
    host: str = "127.0.0.1"
    port: int = Field(7860, ge=1, le=65535)
    users_file: str = Field("", description="the users file; empty for <home>/users.json")
    trusted_header: str = Field(
        "",
        description="a header set by the company's SSO proxy naming the user (an employee id or "
        "email); empty for the sign-in page. Only behind a proxy that strips it from clients.",
    )
    demo_password: str = Field(
        "perfagent-demo", description="the password of every demo account (demo org only)"
    )
    max_concurrent_chats: int = Field(10, ge=1, le=100)


class SlackSettings(BaseModel):
    """The Slack bot's routes in `perfagent serve` (/slack/events, /slack/commands)."""

    model_config = ConfigDict(extra="forbid")
    signing_secret_env: str = Field(
        "SLACK_SIGNING_SECRET", description="environment variable holding the signing secret"
    )
    bot_token_env: str = Field(
        "SLACK_BOT_TOKEN", description="environment variable holding the bot token (xoxb-...)"
    )
    api_url: str = Field(
        "https://slack.com/api/", description="Slack's Web API base URL (ends with a slash)"
    )
    workers: int = Field(2, ge=1, le=16, description="agent turns for Slack run at once")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    home: Path
    embedding: EmbeddingSettings
    chroma: ChromaSettings
    ingest: IngestSettings
    retrieval: RetrievalSettings
    scoring: ScoringSettings = ScoringSettings()
    agent: AgentSettings = AgentSettings()
    finetune: FinetuneSettings = FinetuneSettings()
    ui: UiSettings = UiSettings()
    slack: SlackSettings = SlackSettings()

    @property
    def chroma_dir(self) -> Path:
        return self.home / "chroma"

    @property
    def org_file(self) -> Path:
        return self.home / "org.csv"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def users_file(self) -> Path:
        return (
            Path(self.ui.users_file).expanduser()
            if self.ui.users_file
            else self.home / "users.json"
        )


def default_home() -> Path:
    """`$PERFAGENT_HOME`, else the per-user data directory."""
    env = os.environ.get("PERFAGENT_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("perfagent", appauthor=False))


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BadInputError(f"{path}: cannot read settings ({exc.__class__.__name__})") from exc
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: settings must be a YAML mapping")
    return data


# Environment variables that override one setting each (the documented ones).
_ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "PERFAGENT_CHROMA_URL": ("chroma", "url"),
    "PERFAGENT_EMBEDDING_MODEL": ("embedding", "model"),
    "PERFAGENT_CHAT_MODEL": ("agent", "model"),
    "PERFAGENT_CHAT_ADAPTER": ("agent", "adapter"),
    "PERFAGENT_MODEL_SERVER_URL": ("agent", "server_url"),
    "PERFAGENT_MODEL_SERVER_MODEL": ("agent", "server_model"),
    "PERFAGENT_TRUSTED_HEADER": ("ui", "trusted_header"),
    "PERFAGENT_SLACK_API_URL": ("slack", "api_url"),
}


def load_settings(home: Path | str | None = None) -> Settings:
    """Build the settings for a home directory (default: `default_home()`)."""
    home_path = Path(home).expanduser() if home else default_home()
    data = _read_yaml(DEFAULTS_FILE)
    user_file = home_path / "settings.yaml"
    if user_file.is_file():
        data = _merge(data, _read_yaml(user_file))
    for profile in filter(None, os.environ.get("PERFAGENT_PROFILES", "").split(",")):
        name = f"settings-{profile.strip()}.yaml"
        found = [p for p in (Path.cwd() / name, home_path / name) if p.is_file()]
        if not found:
            raise BadInputError(f"profile '{profile}': no {name} in the current directory or home")
        data = _merge(data, _read_yaml(found[0]))
    for var, (section, key) in _ENV_OVERRIDES.items():
        if os.environ.get(var):
            data.setdefault(section, {})[key] = os.environ[var]
    try:
        return Settings(home=home_path, **data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadInputError(f"invalid setting {where}: {first['msg']}") from exc
