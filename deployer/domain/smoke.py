"""Smoke tests: the request a test makes, whether a reply passes, and where the test stands after
each attempt. Pure: no I/O, no Azure imports.

For the Responses protocol, ``contains`` and ``regex`` look at the answer's output text (what the
agent said, not the echo of the request); for Invocations, at the reply body. ``json_path`` looks
into the reply body either way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from deployer.domain.agents import Expect, SmokeTest
from deployer.domain.platform import InvokeReply, InvokeRequest
from deployer.domain.rollout_state import MAX_EXCERPT, SmokeResult, SmokeStatus

#: The error code (and hold reason) of a deployment whose smoke test failed.
FAILED_CODE = "smoke_test_failed"
#: Time a lease keeps beyond a smoke attempt's own timeout, for the rest of the step.
LEASE_MARGIN_S = 60.0
_PATH_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[\"([^\"]+)\"\]")


def parse_path(path: str) -> tuple[str | int, ...] | None:
    """The steps of a JSON path such as ``$.output[0].content[0].text`` (``None`` if invalid)."""
    text = path.strip()
    text = text[1:] if text.startswith("$") else "." + text
    steps: list[str | int] = []
    while text:
        match = _PATH_STEP.match(text)
        if match is None:
            return None
        name, index, quoted = match.groups()
        steps.append(int(index) if index is not None else (name or quoted))
        text = text[match.end() :]
    return tuple(steps)


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """One attempt's outcome: passed, or the reason it did not."""

    passed: bool
    detail: str | None = None


def request_for(test: SmokeTest, version: str) -> InvokeRequest:
    """The call a smoke test makes to ``version``."""
    payload: str | dict[str, Any] = json.loads(test.input) if test.protocol == "invocations" else test.input
    return InvokeRequest(version=version, protocol=test.protocol, payload=payload, timeout_s=test.timeout_s)


def judge(test: SmokeTest, reply: InvokeReply, *, version: str | None = None) -> Verdict:
    """Whether ``reply`` passes ``test.expect``; a reply that names another version than the one
    under test (``version``) fails, whatever it says."""
    expect = test.expect
    problem = _answer_problem(expect, reply, version)
    if problem is not None:
        return Verdict(passed=False, detail=problem)
    text = answer_text(test, reply.body)
    if expect.contains is not None and expect.contains not in text:
        return Verdict(passed=False, detail=f"the answer does not contain {expect.contains!r}")
    if expect.regex is not None and re.search(expect.regex, text) is None:
        return Verdict(passed=False, detail=f"the answer does not match /{expect.regex}/")
    if expect.json_path is not None:
        return _json_check(expect, reply.body)
    return Verdict(passed=True)


def _answer_problem(expect: Expect, reply: InvokeReply, version: str | None) -> str | None:
    """Why the reply fails before its content is looked at: no answer, another HTTP status, or
    another version answered."""
    if reply.status_code is None:
        return reply.error or "no answer"
    if reply.status_code != expect.status:
        return f"answered HTTP {reply.status_code}, expected {expect.status}"
    answered = answered_by(reply.body)
    if version is not None and answered is not None and answered != version:
        return f"version {answered} answered, not version {version}"
    return None


def answered_by(body: str) -> str | None:
    """The version a reply names: its ``agent_reference.version`` (a Responses object carries
    the reference it answered), if it has one."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    reference = document.get("agent_reference") if isinstance(document, dict) else None
    version = reference.get("version") if isinstance(reference, dict) else None
    return str(version) if isinstance(version, str | int) and not isinstance(version, bool) else None


def answer_text(test: SmokeTest, body: str) -> str:
    """What ``contains``/``regex`` look at: the Responses output text, else the body."""
    if test.protocol != "responses":
        return body
    try:
        document = json.loads(body)
    except ValueError:
        return body
    return output_text(document) if isinstance(document, dict) else body


def output_text(response: dict[str, Any]) -> str:
    """The text of a Responses object's output messages (what ``response.output_text`` gives)."""
    parts = []
    for item in response.get("output") or []:
        for content in (item.get("content") or []) if isinstance(item, dict) else []:
            if isinstance(content, dict) and content.get("type") == "output_text":
                parts.append(str(content.get("text", "")))
    return "".join(parts)


def after_attempt(
    previous: SmokeResult | None, verdict: Verdict, reply: InvokeReply, *, attempts: int
) -> SmokeResult:
    """The result after one more attempt: ``passed``, ``failed`` once ``attempts`` are spent,
    else still ``running``."""
    made = (previous.attempts if previous else 0) + 1
    status: SmokeStatus = "passed" if verdict.passed else ("failed" if made >= attempts else "running")
    return SmokeResult(
        status=status,
        attempts=made,
        latency_ms=reply.latency_ms,
        http_status=reply.status_code,
        excerpt=excerpt(reply.body),
        detail=verdict.detail,
        answered_by=answered_by(reply.body),
    )


def excerpt(body: str) -> str | None:
    """The start of a reply, for the record (capped)."""
    text = body.strip()
    if not text:
        return None
    return text if len(text) <= MAX_EXCERPT else text[: MAX_EXCERPT - 1] + "…"


_MISSING = object()


def _json_check(expect: Expect, body: str) -> Verdict:
    assert expect.json_path is not None
    try:
        document = json.loads(body)
    except ValueError:
        return Verdict(passed=False, detail="the reply is not JSON")
    value = _resolve(document, parse_path(expect.json_path) or ())
    if value is _MISSING:
        return Verdict(passed=False, detail=f"{expect.json_path} is not in the reply")
    if expect.equals_json is not None and json.dumps(value, sort_keys=True) != expect.equals_json:
        return Verdict(passed=False, detail=f"{expect.json_path} is {json.dumps(value)[:100]}")
    return Verdict(passed=True)


def _resolve(document: object, steps: tuple[str | int, ...]) -> object:
    current = document
    for step in steps:
        found = isinstance(current, list) and isinstance(step, int) and -len(current) <= step < len(current)
        found = found or (isinstance(current, dict) and step in current)
        if not found:
            return _MISSING
        current = current[step]  # type: ignore[index]
    return current
