"""The assistant's tools: typed arguments, permissions checked in code, results with citations."""

from assistant.tools import commerce, knowledge, profile  # noqa: F401  (registers the tools)
from assistant.tools.base import REGISTRY, Tool, ToolContext, ToolDenied, ToolResult, run_tool

__all__ = ["REGISTRY", "Tool", "ToolContext", "ToolDenied", "ToolResult", "run_tool"]
