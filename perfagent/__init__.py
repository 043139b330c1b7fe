"""perfagent: a chat agent for evidence-based performance feedback."""

__version__ = "0.1.0"
