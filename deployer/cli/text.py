"""The API's JSON documents as text for people: the CLI's tables and lines. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Doc = Mapping[str, Any]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell; ``-`` for missing values."""
    cells = [[str(h) for h in headers]] + [["-" if c in (None, "") else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(line.rstrip() for line in lines)


def deployments(items: Sequence[Doc]) -> str:
    """``list``: one row per deployment; a PROMOTION column when one of them has a link."""
    headers = ("ID", "AGENT", "STATUS", "VERSION", "SOURCE", "CREATED", "IMAGE")
    rows = [
        (d["id"], d["agent"], _status(d), d["version"], d["source"], _short_time(d["created_at"]), d["image"])
        for d in items
    ]
    links = [_promotion(d) for d in items]
    if any(links):
        return table((*headers, "PROMOTION"), [(*row, link) for row, link in zip(rows, links, strict=True)])
    return table(headers, rows)


def agents(items: Sequence[Doc], held: Mapping[str, Sequence[str]]) -> str:
    """``agents``: one row per configured agent with its active deployment, whether it is
    paused and its held digests (``held``: by agent; shortened to 12 hex digits, as ``unhold``
    takes them)."""
    rows = []
    for agent in items:
        active = agent.get("active") or {}
        rows.append(
            (
                agent["name"],
                agent["repository"],
                agent["tags"],
                "paused" if agent.get("paused") else None,
                ", ".join(d.removeprefix("sha256:")[:12] for d in held.get(agent["name"], ())),
                active.get("version"),
                active.get("image"),
                _short_time(active.get("updated_at")),
            )
        )
    headers = ("AGENT", "REPOSITORY", "TAGS", "PAUSED", "HELD", "VERSION", "ACTIVE IMAGE", "SINCE")
    return table(headers, rows)


def deployment(d: Doc) -> str:
    """``status``: the fields that matter, the error with its hint, and the history."""
    fields = [
        ("id", d["id"]),
        ("agent", d["agent"]),
        ("image", d["image"]),
        ("status", d["status"] + (f" ({d['reason']})" if d.get("reason") else "")),
        ("version", d.get("version")),
        ("source", d["source"] + (f" by {d['requested_by']}" if d.get("requested_by") else "")),
        ("digest", d.get("digest")),
        ("rollout", d.get("rollout")),
        ("canary", _canary(d.get("canary"))),
        ("promoted to", d.get("promoted_to")),
        ("promoted from", d.get("promoted_from")),
        ("traffic before", _traffic(d.get("traffic_before"))),
        ("smoke test", _smoke(d.get("smoke"))),
        ("endpoint", d.get("project_endpoint")),
        ("created", d["created_at"]),
        ("time to active", f"{d['time_to_active_s']} s" if d.get("time_to_active_s") is not None else None),
    ]
    lines = [f"{name + ':':<16}{value}" for name, value in fields if value not in (None, "")]
    lines += error_lines(d)
    lines.append("history:")
    lines += [
        f"  {h['at']}  {h['status']}" + (f"  ({h['note']})" if h.get("note") else "") for h in d["history"]
    ]
    return "\n".join(lines)


def error_lines(d: Doc) -> list[str]:
    """The platform's error code, message and what to do, if the deployment has one."""
    error = d.get("error")
    if not error:
        return []
    lines = [f"{'error:':<16}{error['code']}: {error['message']}"]
    if error.get("hint"):
        lines.append(f"{'hint:':<16}{error['hint']}")
    return lines


def notifications(items: Sequence[Doc]) -> str:
    """``notifications``: one row per outbox entry; the subscriber by format and host; WHEN is
    the next attempt of a pending entry, else the delivery or the last attempt."""
    rows = [
        (
            n["id"],
            n["state"],
            n["type"],
            n["agent"],
            _subscriber(n["subscriber"]),
            n["attempts"],
            n.get("last_result"),
            _short_time(_when(n)),
        )
        for n in items
    ]
    return table(("ID", "STATE", "TYPE", "AGENT", "SUBSCRIBER", "TRIES", "LAST", "WHEN"), rows)


def redelivered(n: Doc) -> str:
    """The line ``redeliver`` prints."""
    return f"{n['id']}: {n['state']}, queued for {_subscriber(n['subscriber'])}"


def health(doc: Doc) -> str:
    """``health``: one row per dependency."""
    rows = [(c["name"], c["target"], c["status"], c["duration_ms"], c.get("error")) for c in doc["checks"]]
    return f"deployer: {doc['status']}\n" + table(("CHECK", "TARGET", "STATUS", "MS", "ERROR"), rows)


def progress(d: Doc, elapsed_s: float) -> str:
    """One line of the live progress display; from ``verifying`` on, where the smoke test is."""
    details = [f"version {d['version']}"] if d.get("version") else []
    if d["status"] in ("verifying", "verified", "unhealthy") and d.get("smoke"):
        details.append(_smoke(d["smoke"]) or "")
    if d["status"] == "awaiting_approval":
        details.append(
            f"until {(d.get('approval') or {}).get('expires_at')}: agent-deployer approve {d['id']}"
        )
    shown = f" ({', '.join(details)})" if details else ""
    return f"{d['agent']} {d['image']}: {d['status']}{shown} after {duration(elapsed_s)}"


def duration(seconds: float) -> str:
    """``45s``, ``1m30s``, ``2h0m5s``."""
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def holds(agent: str, doc: Doc) -> str:
    """``holds``: whether the agent is paused, then one row per held digest."""
    head = f"{agent}: {'paused (pushes are skipped)' if doc['paused'] else 'not paused'}"
    if not doc["items"]:
        return f"{head}\nno digests held"
    rows = [
        (h["digest"], h["reason"], _short_time(h.get("at")), h.get("by"), h.get("deployment_id"))
        for h in doc["items"]
    ]
    return f"{head}\n" + table(("DIGEST", "REASON", "SINCE", "BY", "DEPLOYMENT"), rows)


def released(agent: str, digest: str, answer: Doc) -> str:
    """The line ``unhold`` prints."""
    if answer["released"]:
        return f"{agent}: released the hold on {digest}; pushes of it deploy again"
    return f"{agent}: {digest} was not held; nothing changed"


def pause_state(state: Doc) -> str:
    """The line ``pause`` and ``resume`` print."""
    if not state["paused"]:
        return f"{state['agent']}: running; pushes deploy"
    by = f" by {state['paused_by']}" if state.get("paused_by") else ""
    since = f" since {_short_time(state.get('paused_at'))}" if state.get("paused_at") else ""
    return f"{state['agent']}: paused{by}{since}; pushes are skipped until it is resumed"


def outcome(d: Doc) -> str:
    """The closing line of ``deploy`` and ``rollback``."""
    version = f" version {d['version']}" if d.get("version") else ""
    took = f" in {d['time_to_active_s']:.1f}s" if d.get("time_to_active_s") is not None else ""
    explained = d["status"] in ("skipped", "refused", "rejected", "superseded")
    reason = f" ({d['reason']})" if d.get("reason") and explained else ""
    return f"{d['agent']}{version}: {d['status']}{reason}{took}  [{d['id']}]"


def _status(d: Doc) -> str:
    """The status, with the canary's share of the traffic while it runs: ``canary 10%``."""
    canary = d.get("canary") or {}
    if d["status"] == "canary" and canary.get("percentage") is not None:
        return f"canary {canary['percentage']}%"
    return str(d["status"])


def _promotion(d: Doc) -> str | None:
    """``to <id>`` / ``from <id>``: the deployment this one was promoted to or from."""
    links = [f"to {d['promoted_to']}" if d.get("promoted_to") else ""]
    links.append(f"from {d['promoted_from']}" if d.get("promoted_from") else "")
    return ", ".join(link for link in links if link) or None


def _canary(canary: Doc | None) -> str | None:
    """``10% of the traffic (stable version 1), promoted by ana``."""
    if not canary:
        return None
    parts = [f"{canary.get('percentage', 0)}% of the traffic (stable version {canary['stable']})"]
    if canary.get("promote"):
        parts.append("promoted" + (f" by {canary['promoted_by']}" if canary.get("promoted_by") else ""))
    return ", ".join(parts)


def _smoke(smoke: Doc | None) -> str | None:
    """``smoke test passed, 1 attempt, 12 ms`` (and why the last attempt failed)."""
    if not smoke:
        return None
    attempts = smoke["attempts"]
    parts = [f"smoke test {smoke['status']}", f"{attempts} attempt{'' if attempts == 1 else 's'}"]
    if smoke.get("latency_ms") is not None:
        parts.append(f"{smoke['latency_ms']:.0f} ms")
    if smoke.get("answered_by"):
        parts.append(f"answered by version {smoke['answered_by']}")
    if smoke.get("detail") and smoke["status"] != "passed":
        parts.append(str(smoke["detail"]))
    return ", ".join(parts)


def _traffic(rules: Sequence[Doc] | None) -> str | None:
    if not rules:
        return None
    return ", ".join(f"version {r['version']} {r['percentage']}%" for r in rules)


def _short_time(value: str | None) -> str | None:
    """``2026-11-25T06:34:44.123Z`` -> ``2026-11-25T06:34:44Z``: ISO 8601 with its zone, as
    every time the CLI shows."""
    return value[:19] + "Z" if value else None


def _subscriber(subscriber: Doc) -> str:
    host = subscriber.get("host") or f"{subscriber['key']} (no longer configured)"
    return f"{subscriber['format']} {host}"


def _when(n: Doc) -> str | None:
    if n["state"] == "pending":
        return n.get("next_attempt_at") or n.get("created_at")
    return n.get("delivered_at") or n.get("last_attempt_at")
