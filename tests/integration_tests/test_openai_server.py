"""The agent over a real OpenAI-compatible HTTP server, chosen by the `agent.server_url` setting.

Companies that serve models centrally (vLLM, llama.cpp server, Ollama) expose
`POST /v1/chat/completions`. Here a small server of that shape runs in a thread on a free port,
backed by the local chat model: it turns the OpenAI messages into LangChain messages, binds the
request's `tools` with its `tool_choice` and answers in the OpenAI format (tool calls with their
arguments as a JSON string). The agent then talks to it through `ChatOpenAI`, as it would to a
real server, over real HTTP, with the real demo store and judge behind the tools.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import Body, FastAPI, HTTPException
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_openai import ChatOpenAI

from perfagent.agent.chat_model import LocalChatModel
from perfagent.agent.graph import PerfAgent
from perfagent.agent.model_factory import build_chat_model
from perfagent.retrieval.people import resolve_person
from perfagent.settings import AgentSettings
from perfagent.tools.agent_tools import ToolServices
from perfagent.tools.citations import CITATION_MARKER

pytestmark = pytest.mark.slow

TODAY = date(2026, 10, 5)
QUESTION = "How did Sofia do on collaboration last quarter?"
SERVED_MODEL = "local"


# ------------------------------------------------------------------------------ the server


def _text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(
        str(part.get("text", "")) for part in content if isinstance(part, dict)
    )  # [{"type": "text", "text": ...}]


def to_langchain(messages: list[dict[str, Any]]) -> list[BaseMessage]:
    """OpenAI chat messages as LangChain messages."""
    converted: list[BaseMessage] = []
    for m in messages:
        role = m.get("role")
        if role in ("system", "developer"):
            converted.append(SystemMessage(_text(m.get("content"))))
        elif role == "user":
            converted.append(HumanMessage(_text(m.get("content"))))
        elif role == "assistant":
            calls = [
                {
                    "name": c["function"]["name"],
                    "args": json.loads(c["function"].get("arguments") or "{}"),
                    "id": c["id"],
                    "type": "tool_call",
                }
                for c in m.get("tool_calls") or []
            ]
            converted.append(AIMessage(_text(m.get("content")), tool_calls=calls))
        elif role == "tool":
            converted.append(ToolMessage(_text(m.get("content")), tool_call_id=m["tool_call_id"]))
        else:
            raise HTTPException(400, f"unknown message role {role!r}")
    return converted


def to_openai(reply: AIMessage, model: str) -> dict[str, Any]:
    """A LangChain reply as an OpenAI `chat.completion` object."""
    message: dict[str, Any] = {"role": "assistant", "content": _text(reply.content) or None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.get("id") or f"call_{uuid.uuid4().hex[:12]}",
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": json.dumps(call["args"], ensure_ascii=False),
                },
            }
            for call in reply.tool_calls
        ]
    usage = reply.usage_metadata or {"input_tokens": 0, "output_tokens": 0, "total_tokens": 0}
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": {
            "prompt_tokens": usage["input_tokens"],
            "completion_tokens": usage["output_tokens"],
            "total_tokens": usage["total_tokens"],
        },
    }


def make_app(model: LocalChatModel, seen: list[dict[str, Any]]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    def chat_completions(body: dict[str, Any] = Body(...)) -> dict[str, Any]:  # noqa: B008
        seen.append(body)
        if body.get("stream"):
            raise HTTPException(400, "this test server answers without streaming")
        if body.get("model") != SERVED_MODEL:
            raise HTTPException(404, f"model {body.get('model')!r} is not served here")
        # `parallel_tool_calls`, `temperature`, `n`...: accepted; the local model makes at most
        # one call per reply and decodes greedily.
        tools = body.get("tools") or []
        runnable: Any = model
        if tools:
            runnable = model.bind_tools(tools, tool_choice=body.get("tool_choice"))
        reply = runnable.invoke(to_langchain(body["messages"]))
        assert isinstance(reply, AIMessage)
        return to_openai(reply, SERVED_MODEL)

    return app


@pytest.fixture(scope="module")
def server(chat_models_dir: Path) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """The server's /v1 URL and the request bodies it has received."""
    seen: list[dict[str, Any]] = []
    app = make_app(LocalChatModel(models_dir=str(chat_models_dir)), seen)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/v1", seen
    finally:
        srv.should_exit = True
        thread.join(timeout=15)
        sock.close()


@pytest.fixture(scope="module")
def services(demo_container: Any) -> ToolServices:
    return ToolServices.from_container(demo_container)


@pytest.fixture(scope="module")
def http_agent(
    server: tuple[str, list[dict[str, Any]]], services: ToolServices, chat_models_dir: Path
) -> PerfAgent:
    url, _ = server
    model = build_chat_model(
        AgentSettings(server_url=url, server_model=SERVED_MODEL), chat_models_dir
    )
    return PerfAgent(model, services, today=lambda: TODAY)


def viewer(services: ToolServices, employee_id: str) -> Any:
    return services.search_service.policy.viewer(employee_id)


# ------------------------------------------------------------------------------ tests


def test_the_settings_pick_the_openai_client(
    server: tuple[str, list[dict[str, Any]]], chat_models_dir: Path
) -> None:
    url, _ = server
    model = build_chat_model(
        AgentSettings(server_url=url, server_model=SERVED_MODEL), chat_models_dir
    )
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == SERVED_MODEL
    assert str(model.openai_api_base).rstrip("/") == url
    local = build_chat_model(AgentSettings(), chat_models_dir)
    assert isinstance(local, LocalChatModel)


def test_manager_question_over_http_calls_the_right_tool_and_cites(
    http_agent: PerfAgent,
    services: ToolServices,
    demo_container: Any,
    server: tuple[str, list[dict[str, Any]]],
    chat_models_dir: Path,
) -> None:
    _, seen = server
    before = len(seen)
    answer = http_agent.ask(viewer(services, "E003"), QUESTION, today=TODAY)
    requests = seen[before:]

    # one request: the model's tool call; the answer is composed from the tool's result
    assert len(requests) == 1, [r.get("messages") for r in requests]
    body = requests[0]
    assert body["model"] == SERVED_MODEL
    assert body.get("tool_choice") == "required"  # the agent's "any": a name was asked about
    tools = {t["function"]["name"]: t["function"]["parameters"] for t in body["tools"]}
    assert set(tools) == {"score_dimensions"}  # narrowed by the question's words
    properties = tools["score_dimensions"]["properties"]
    assert properties["employee"]["enum"] == ["Sofia"]
    assert properties["period"]["enum"] == ["2026-Q3"]
    assert "runtime" not in properties  # the viewer never travels as an argument
    assert body["messages"][0]["role"] in ("system", "developer")
    # the question comes last, under the facts the agent states (today, the asker, whom it names)
    last = body["messages"][-1]
    assert last["role"] == "user"
    assert last["content"].endswith(f"Question: {QUESTION}")
    assert last["content"].startswith("Today: 2026-10-05. Asking: Dana Whitfield (E003).")
    assert '"Sofia": Sofia Rossi (E008), in the asker\'s team.' in last["content"]
    assert "\nDimensions: collaboration.\n" in last["content"]

    assert answer.tool_calls, answer.answer
    first = answer.tool_calls[0]
    assert first["name"] == "score_dimensions"
    person = resolve_person(services.org, viewer(services, "E003"), first["args"]["employee"])
    assert person.employee_id == "E008"
    assert first["args"].get("period") == "2026-Q3"
    assert first["args"].get("dimensions") == ["collaboration"]
    assert not answer.refused and not answer.clarify

    # cited: every [n] has its citation, numbered 1..k, each quote verbatim in its chunk
    assert answer.citations and CITATION_MARKER.search(answer.answer)
    numbers = [c["n"] for c in answer.citations]
    assert numbers == list(range(1, len(numbers) + 1))
    markers = {
        int(n) for m in CITATION_MARKER.finditer(answer.answer) for n in m.group(1).split(",")
    }
    assert markers == set(numbers)
    chunks = {
        c.chunk_id: c
        for c in demo_container.store.get(ids=sorted({c["chunk_id"] for c in answer.citations}))
    }
    for c in answer.citations:
        chunk = chunks[c["chunk_id"]]
        assert c["quote"] and c["quote"] in chunk.text, c
        assert chunk.metadata["employee_id"] == "E008"

    # the same decision as the in-process model makes
    local = PerfAgent(
        LocalChatModel(models_dir=str(chat_models_dir)), services, today=lambda: TODAY
    )
    direct = local.ask(viewer(services, "E003"), QUESTION, today=TODAY)
    assert direct.tool_calls == answer.tool_calls
    assert direct.answer == answer.answer


def test_refusal_over_http_reveals_nothing(
    http_agent: PerfAgent, services: ToolServices, server: tuple[str, list[dict[str, Any]]]
) -> None:
    _, seen = server
    before = len(seen)
    answer = http_agent.ask(
        viewer(services, "E008"), "How is Michael doing on delivery this year?", today=TODAY
    )
    assert answer.tool_calls and answer.refused
    assert answer.citations == [] and "Brennan" not in answer.answer
    assert len(seen) - before == 1
