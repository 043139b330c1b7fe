"""The chat agent over a local model. Not built yet: see the agent issue."""
