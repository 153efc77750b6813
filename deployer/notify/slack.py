"""The ``slack`` format: a Slack incoming-webhook message, ``text`` (the notification fallback)
and Block Kit ``blocks`` (header, section fields, the error, a context line). Pure.

Limits kept (Block Kit reference): header text ≤ 150 plain-text characters; a section's
``text`` ≤ 3000 characters, ``fields`` ≤ 10 of ≤ 2000 each; context ≤ 10 elements.
"""

from __future__ import annotations

import json
from typing import Any

from deployer.domain.notifications import NotificationEntry
from deployer.notify.summary import clip, slack_text, summarize

CONTENT_TYPE = "application/json; charset=utf-8"


def message(entry: NotificationEntry, *, links_base: str | None = None) -> dict[str, Any]:
    """The message for one event."""
    summary = summarize(entry, links_base=links_base)
    # Every value may carry user text (a request's reason, a platform message): escaped.
    fields = [
        {"type": "mrkdwn", "text": clip(f"*{label}*\n{slack_text(value)}", 2000)}
        for label, value in summary.facts[:10]
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(summary.title, 150), "emoji": True}},
        {"type": "section", "fields": fields},
    ]
    if summary.error:
        hint = f"\n*Hint* {slack_text(summary.hint)}" if summary.hint else ""
        text = f"*Error* {slack_text(summary.error)}{hint}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 3000)}})
    if summary.link and summary.dashboard:  # addresses escaped as Slack asks of every text
        where = f"<{slack_text(summary.dashboard)}|Open in the dashboard> · <{slack_text(summary.link)}|API>"
    else:
        where = f"`{summary.command}`"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": clip(where, 3000)}]})
    fallback = f"{summary.title} ({slack_text(dict(summary.facts)['Image'])})"
    return {"text": clip(fallback, 3000), "blocks": blocks}


def body(entry: NotificationEntry, *, links_base: str | None = None) -> bytes:
    return json.dumps(message(entry, links_base=links_base)).encode()
