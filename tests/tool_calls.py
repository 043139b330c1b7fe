"""Calling the agent's tools in tests the way LangGraph's ToolNode does: a ToolCall whose
`runtime` carries the run's context (the signed-in viewer)."""

from __future__ import annotations

from typing import Any

from langchain.tools import ToolRuntime
from langchain_core.messages import ToolCall, ToolMessage
from langchain_core.tools import BaseTool

from perfagent.tools.agent_tools import AgentContext, ToolServices


def runtime_for(
    services: ToolServices, employee_id: str, *, tool_call_id: str = "call-1"
) -> ToolRuntime[AgentContext]:
    """What ToolNode injects for a run with `context=AgentContext(viewer)`."""
    viewer = services.search_service.policy.viewer(employee_id)
    return ToolRuntime(
        state={"messages": []},
        context=AgentContext(viewer),
        config={},
        stream_writer=lambda _chunk: None,
        tool_call_id=tool_call_id,
        store=None,
    )


def call(tool: BaseTool, services: ToolServices, viewer_id: str, **args: Any) -> ToolMessage:
    """Invoke `tool` as ToolNode does: a ToolCall with the runtime injected."""
    message = tool.invoke(
        ToolCall(
            name=tool.name,
            args={**args, "runtime": runtime_for(services, viewer_id)},
            id="call-1",
            type="tool_call",
        )
    )
    assert isinstance(message, ToolMessage)
    return message
