"""An agent's rollout settings in ``deployer.yaml``: ``rollout``, ``smoke_test`` and
``on_smoke_failure``, validated. Pure: no I/O, no Azure imports.

```yaml
rollout: verified                     # default when smoke_test is set; else immediate
smoke_test:
  protocol: responses                 # or invocations (the agent must declare it)
  input: "Reply with the word READY"  # invocations: a JSON object (the request body)
  expect: {status: 200, contains: "READY"}   # contains | regex | json_path (+ equals)
  timeout_s: 30
  attempts: 3
on_smoke_failure: rollback            # default; or no_hold
preflight:                            # default for verified rollouts; false turns it off
  model_deployments: [gpt-5-mini]     # default: the MODEL_DEPLOYMENT_NAME variable, if set
  connections: [my-search]
```
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from deployer.config.canary import parse_promote_to, parse_rollout
from deployer.domain.agents import ON_SMOKE_FAILURE, Expect, Preflight, SmokeTest
from deployer.domain.model import STRATEGIES
from deployer.domain.smoke import parse_path

MAX_SMOKE_TIMEOUT_S = 300.0
MAX_SMOKE_ATTEMPTS = 10
_SMOKE_KEYS = frozenset({"protocol", "input", "expect", "timeout_s", "attempts"})
_EXPECT_KEYS = frozenset({"status", "contains", "regex", "json_path", "equals"})
_PREFLIGHT_KEYS = frozenset({"model_deployments", "connections"})


def rollout_options(
    raw: Mapping[str, Any], at: str, problems: list[str], *, protocols: Mapping[str, str]
) -> dict[str, Any]:
    """Validate an agent's ``rollout``, ``smoke_test`` and ``on_smoke_failure``."""
    smoke = _smoke_test(raw.get("smoke_test"), f"{at}.smoke_test", problems, protocols)
    default = "verified" if raw.get("smoke_test") is not None else "immediate"
    rollout, canary = parse_rollout(raw.get("rollout", default), f"{at}.rollout", problems)
    promote_to = parse_promote_to(raw.get("promote_to"), f"{at}.promote_to", problems)
    if rollout not in STRATEGIES or (isinstance(raw.get("rollout"), str) and rollout == "canary"):
        problems.append(f"{at}.rollout: must be 'immediate' or 'verified', or a mapping with strategy")
    elif rollout in ("verified", "canary") and raw.get("smoke_test") is None:
        problems.append(f"{at}.rollout: {rollout!r} needs a smoke_test to verify the new version with")
    elif rollout == "immediate" and raw.get("smoke_test") is not None:
        problems.append(f"{at}.smoke_test: only run with rollout: verified (rollout is 'immediate')")
    on_failure = raw.get("on_smoke_failure", "rollback")
    if on_failure not in ON_SMOKE_FAILURE:
        problems.append(f"{at}.on_smoke_failure: must be 'rollback' or 'no_hold'")
    tested = rollout in ("verified", "canary")
    preflight = _preflight(raw.get("preflight", tested), f"{at}.preflight", problems)
    return {
        "rollout": rollout,
        "smoke_test": smoke,
        "on_smoke_failure": on_failure,
        "preflight": preflight,
        "canary": canary,
        "promote_to": promote_to,
    }


def _preflight(raw: object, at: str, problems: list[str]) -> Preflight | None:
    if isinstance(raw, bool):
        return Preflight() if raw else None
    if not isinstance(raw, Mapping):
        problems.append(f"{at}: must be true, false or a mapping with model_deployments and connections")
        return None
    problems += [f"{at}.{key}: unknown field" for key in raw if key not in _PREFLIGHT_KEYS]
    names = {key: _names(raw.get(key), f"{at}.{key}", problems) for key in _PREFLIGHT_KEYS}
    deployments = names["model_deployments"] if "model_deployments" in raw else None
    return Preflight(model_deployments=deployments, connections=names["connections"] or ())


def _names(raw: object, at: str, problems: list[str]) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(n, str) and n for n in raw):
        problems.append(f"{at}: must be a list of names")
        return ()
    return tuple(raw)


def _smoke_test(raw: object, at: str, problems: list[str], protocols: Mapping[str, str]) -> SmokeTest | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.append(f"{at}: must be a mapping with protocol, input and expect")
        return None
    before = len(problems)
    problems += [f"{at}.{key}: unknown field" for key in raw if key not in _SMOKE_KEYS]
    protocol = raw.get("protocol", "responses")
    if protocol not in ("responses", "invocations"):
        problems.append(f"{at}.protocol: must be 'responses' or 'invocations'")
    elif protocols and protocol not in protocols:
        problems.append(f"{at}.protocol: the agent does not declare the '{protocol}' protocol")
    text = _input(raw.get("input"), protocol, at, problems)
    expect = _expect(raw.get("expect", {}), f"{at}.expect", problems)
    timeout = _number(raw.get("timeout_s", 30), f"{at}.timeout_s", problems, MAX_SMOKE_TIMEOUT_S)
    attempts = raw.get("attempts", 3)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or not 1 <= attempts <= MAX_SMOKE_ATTEMPTS:
        problems.append(f"{at}.attempts: must be a whole number from 1 to {MAX_SMOKE_ATTEMPTS}")
    if len(problems) > before or expect is None:
        return None
    return SmokeTest(protocol=protocol, input=text, expect=expect, timeout_s=timeout, attempts=attempts)


def _input(raw: object, protocol: object, at: str, problems: list[str]) -> str:
    if protocol == "invocations":
        if not isinstance(raw, Mapping):
            problems.append(f"{at}.input: the invocations protocol needs a JSON object (the request body)")
            return "{}"
        return json.dumps(raw, sort_keys=True)
    if not isinstance(raw, str) or not raw.strip():
        problems.append(f"{at}.input: the responses protocol needs a non-empty text")
        return ""
    return raw


def _expect(raw: object, at: str, problems: list[str]) -> Expect | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{at}: must be a mapping, e.g. {{status: 200, contains: READY}}")
        return None
    problems += [f"{at}.{key}: unknown field" for key in raw if key not in _EXPECT_KEYS]
    status = raw.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        problems.append(f"{at}.status: must be an HTTP status code")
    checks = [key for key in ("contains", "regex", "json_path") if key in raw]
    if len(checks) > 1:
        problems.append(f"{at}: name at most one of contains, regex, json_path")
    for key in checks:
        if not isinstance(raw[key], str) or not raw[key]:
            problems.append(f"{at}.{key}: must be a non-empty string")
    _check_pattern(raw, at, problems)
    if "equals" in raw and "json_path" not in raw:
        problems.append(f"{at}.equals: only used with json_path")
    return Expect(
        status=status if isinstance(status, int) else 200,
        contains=_text(raw.get("contains")),
        regex=_text(raw.get("regex")),
        json_path=_text(raw.get("json_path")),
        equals_json=json.dumps(raw["equals"], sort_keys=True) if "equals" in raw else None,
    )


def _check_pattern(raw: Mapping[str, Any], at: str, problems: list[str]) -> None:
    if isinstance(raw.get("regex"), str):
        try:
            re.compile(raw["regex"])
        except re.error as exc:
            problems.append(f"{at}.regex: not a valid regular expression ({exc})")
    if isinstance(raw.get("json_path"), str) and parse_path(raw["json_path"]) is None:
        problems.append(f"{at}.json_path: not a JSON path such as $.output[0].content[0].text")


def _number(raw: object, at: str, problems: list[str], highest: float) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 < raw <= highest:
        problems.append(f"{at}: must be a number of seconds above 0 and at most {highest:.0f}")
        return 30.0
    return float(raw)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
