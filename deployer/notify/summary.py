"""What a person reads about one event, shared by the Slack and Teams formats. Pure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from deployer.domain.notifications import NotificationEntry

#: What makes Markdown of plain text: emphasis, code, links, headings, quotes, tables, HTML. An
#: underscore inside a word (``tag_policy``) emphasises nothing (CommonMark), so it is left alone.
_TEAMS_MARKDOWN = re.compile(r"[\\`*\[\]()#<>|~]|(?<!\w)_|_(?!\w)")

_EMOJI = {
    "active": "✅",
    "verified": "✅",
    "verifying": "🔎",
    "unhealthy": "🩺",
    "failed": "❌",
    "timed_out": "⏱️",
    "creating": "🚀",
    "skipped": "⏭️",
    "superseded": "🔁",
    "traffic_shifted": "🐤",
    "rolled_back": "⏪",
    "promoted": "⏫",
    "awaiting_approval": "✋",
    "rejected": "🚫",
}


@dataclass(frozen=True, kw_only=True)
class Summary:
    """Title, facts (label, value), the error and its hint, and a link to the deployment."""

    title: str
    facts: tuple[tuple[str, str], ...]
    error: str | None
    hint: str | None
    link: str | None
    #: The deployment on the dashboard (``/api/ui``), where a person can approve or reject it.
    dashboard: str | None
    command: str


def summarize(entry: NotificationEntry, *, links_base: str | None) -> Summary:
    """The summary of ``entry``; ``links_base`` is the deployer's public origin, if known."""
    data = json.loads(entry.data)
    status = entry.event_type.removeprefix("deployment.")
    agent = data.get("agent") or "(no agent)"
    facts = [("Agent", agent), ("Status", status), ("Image", data.get("image") or "-")]
    if data.get("version"):
        facts.append(("Version", str(data["version"])))
    if data.get("percentage") is not None:
        facts.append(("Traffic", f"{data['percentage']}%"))
    if data.get("reason"):
        facts.append(("Reason", str(data["reason"])))
    approval = data.get("approval") or {}
    if status == "awaiting_approval" and approval.get("expires_at"):
        facts.append(("Approve by", str(approval["expires_at"])))
    facts.append(("Deployment", entry.deployment_id))
    error = data.get("error") or {}
    message = f"{error.get('code')}: {error.get('message')}" if error else None
    base = links_base.rstrip("/") if links_base else None
    link = f"{base}/api/deployments/{entry.deployment_id}" if base else None
    dashboard = f"{base}/api/ui#deployment/{entry.deployment_id}" if base else None
    return Summary(
        title=f"{_EMOJI.get(status, '')} {agent}: {status}".strip(),
        facts=tuple(facts),
        error=message,
        hint=error.get("hint") if error else None,
        link=link,
        dashboard=dashboard,
        command=f"agent-deployer status {entry.deployment_id}",
    )


def slack_text(text: str) -> str:
    """``text`` safe inside Slack ``mrkdwn``: ``&``, ``<`` and ``>`` escaped as Slack asks
    ("Formatting text for app surfaces"), so user text cannot mention (``<!channel>``), link
    under other words (``<https://x|click>``) or open a tag."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams_text(text: str) -> str:
    """``text`` safe inside an Adaptive Card ``TextBlock`` or fact (a Markdown subset): the
    Markdown punctuation backslash-escaped (CommonMark), so user text cannot make a link under
    other words (``[click](https://x)``), emphasis or headings."""
    return _TEAMS_MARKDOWN.sub(r"\\\g<0>", text)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (the formats' field limits), marked when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
