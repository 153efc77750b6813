"""The ``teams`` format: a Teams incoming-webhook (or Workflows webhook) message carrying one
Adaptive Card attachment. Pure.

Shape (Teams "Send Adaptive Cards using an Incoming Webhook"): ``{"type": "message",
"attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
"content": <AdaptiveCard>}]}``; the card is version 1.4 (what Teams and Workflows render) with
a title ``TextBlock``, a ``FactSet``, the error in a ``TextBlock`` and an ``Action.OpenUrl``.
"""

from __future__ import annotations

import json
from typing import Any

from deployer.domain.notifications import NotificationEntry
from deployer.notify.summary import summarize, teams_text

CONTENT_TYPE = "application/json; charset=utf-8"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_VERSION = "1.4"


def message(entry: NotificationEntry, *, links_base: str | None = None) -> dict[str, Any]:
    """The message for one event."""
    summary = summarize(entry, links_base=links_base)
    # Every value may carry user text (a request's reason, a platform message): escaped.
    facts = [{"title": label, "value": teams_text(value)} for label, value in summary.facts]
    title = teams_text(summary.title)
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": True},
        {"type": "FactSet", "facts": facts},
    ]
    if summary.error:
        error = f"Error: {teams_text(summary.error)}"
        body.append({"type": "TextBlock", "text": error, "color": "Attention", "wrap": True})
    if summary.hint:
        hint = f"Hint: {teams_text(summary.hint)}"
        body.append({"type": "TextBlock", "text": hint, "isSubtle": True, "wrap": True})
    card: dict[str, Any] = {
        "$schema": CARD_SCHEMA,
        "type": "AdaptiveCard",
        "version": CARD_VERSION,
        "body": body,
    }
    if summary.link and summary.dashboard:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open in the dashboard", "url": summary.dashboard},
            {"type": "Action.OpenUrl", "title": "API", "url": summary.link},
        ]
    else:
        body.append({"type": "TextBlock", "text": summary.command, "fontType": "Monospace", "wrap": True})
    attachment = {"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}
    return {"type": "message", "attachments": [attachment]}


def body(entry: NotificationEntry, *, links_base: str | None = None) -> bytes:
    return json.dumps(message(entry, links_base=links_base)).encode()
