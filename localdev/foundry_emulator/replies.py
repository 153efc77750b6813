"""Deterministic replies of a hosted agent's Responses and Invocations endpoints."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def responses_reply(
    project: str,
    agent: str,
    version: str,
    *,
    call: int,
    body: dict[str, Any],
    created_at: int,
    text: str | None = None,
) -> dict[str, Any]:
    """Return a completed Responses-API object whose text names the agent and version (or is
    ``text``, when the emulator is set to answer so for the version's image)."""
    text = text or f"Agent '{agent}' (version {version}) received: {input_text(body.get('input'))}"
    digest = _digest(project, agent, version, call)
    input_tokens = len(input_text(body.get("input")).split())
    output_tokens = len(text.split())
    return {
        "id": f"resp_{digest}",
        "object": "response",
        "created_at": created_at,
        "status": "completed",
        "model": body.get("model") or agent,
        "output": [_message(f"msg_{digest}", text)],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "metadata": body.get("metadata") or {},
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "usage": {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        },
        "agent_reference": {"type": "agent_reference", "name": agent, "version": version},
    }


def invocations_reply(
    project: str, agent: str, version: str, call: int, body: Any, *, text: str | None = None
) -> dict[str, Any]:
    """Return a deterministic JSON reply of the Invocations protocol (``output``: ``text`` when set)."""
    return {
        "id": f"inv_{_digest(project, agent, version, call)}",
        "object": "invocation",
        "status": "completed",
        "agent": {"name": agent, "version": version},
        "output": text or f"Agent '{agent}' (version {version}) handled the invocation.",
        "received": body,
    }


def input_text(value: Any) -> str:
    """Return the text of a Responses ``input`` (a string or a list of message items)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(filter(None, (_item_text(item) for item in value)))
    return json.dumps(value, sort_keys=True)


def _item_text(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _message(message_id: str, text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": message_id,
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def _digest(project: str, agent: str, version: str, call: int) -> str:
    return hashlib.sha256(f"{project}/{agent}/{version}/{call}".encode()).hexdigest()[:32]
