"""An agent's canary and promotion settings in ``deployer.yaml``, validated. Pure: no I/O, no
Azure imports.

```yaml
rollout:
  strategy: canary            # or verified / immediate (the same as the plain string)
  steps: [10, 50, 100]        # traffic percentages to the new version, rising, ending at 100
  step_interval_s: 300        # time each step holds before the next
  abort_if:
    smoke_failures: 1         # failed smoke re-runs (one before each step) that abort it
promote_to: {agent: support-bot-prod, project_endpoint: https://...}   # once verified
```
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import pairwise

from deployer.domain.agents import AgentConfig, CanarySettings, PromoteTo
from deployer.domain.model import STRATEGIES

_ROLLOUT_KEYS = frozenset({"strategy", "steps", "step_interval_s", "abort_if"})
_ABORT_KEYS = frozenset({"smoke_failures"})
_PROMOTE_KEYS = frozenset({"agent", "project_endpoint"})


def parse_rollout(raw: object, at: str, problems: list[str]) -> tuple[object, CanarySettings | None]:
    """The rollout strategy named by ``rollout`` (a string, or a mapping with ``strategy``) and,
    for ``canary``, its settings."""
    if not isinstance(raw, Mapping):
        return raw, None
    problems += [f"{at}.{key}: unknown field" for key in raw if key not in _ROLLOUT_KEYS]
    strategy = raw.get("strategy", "verified")
    if strategy not in STRATEGIES:
        problems.append(f"{at}.strategy: must be one of {', '.join(STRATEGIES)}")
    if strategy != "canary":
        extra = [k for k in raw if k != "strategy" and k in _ROLLOUT_KEYS]
        problems += [f"{at}.{key}: only used with strategy: canary" for key in extra]
        return strategy, None
    steps = _steps(raw.get("steps", [10, 50, 100]), f"{at}.steps", problems)
    interval = raw.get("step_interval_s", 300)
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 0:
        problems.append(f"{at}.step_interval_s: must be a number of seconds, 0 or more")
        interval = 300
    failures = _failures(raw.get("abort_if", {}), f"{at}.abort_if", problems)
    return "canary", CanarySettings(steps=steps, step_interval_s=float(interval), smoke_failures=failures)


def _steps(raw: object, at: str, problems: list[str]) -> tuple[int, ...]:
    ok = (
        isinstance(raw, list)
        and raw
        and all(isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= 100 for p in raw)
    )
    if not ok or not isinstance(raw, list):
        problems.append(f"{at}: must be a list of percentages from 1 to 100, e.g. [10, 50, 100]")
        return (100,)
    if any(b <= a for a, b in pairwise(raw)) or raw[-1] != 100:
        problems.append(f"{at}: must rise step by step and end at 100")
    return tuple(raw)


def _failures(raw: object, at: str, problems: list[str]) -> int:
    if not isinstance(raw, Mapping):
        problems.append(f"{at}: must be a mapping, e.g. {{smoke_failures: 1}}")
        return 1
    problems += [f"{at}.{key}: unknown field" for key in raw if key not in _ABORT_KEYS]
    failures = raw.get("smoke_failures", 1)
    if isinstance(failures, bool) or not isinstance(failures, int) or failures < 1:
        problems.append(f"{at}.smoke_failures: must be a whole number of at least 1")
        return 1
    return failures


def parse_promote_to(raw: object, at: str, problems: list[str]) -> PromoteTo | None:
    """An agent's ``promote_to``: ``{agent: NAME, project_endpoint: URL?}``."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        problems.append(f"{at}: must be a mapping with agent (and project_endpoint)")
        return None
    problems += [f"{at}.{key}: unknown field" for key in raw if key not in _PROMOTE_KEYS]
    agent, endpoint = raw.get("agent"), raw.get("project_endpoint")
    if not isinstance(agent, str) or not agent:
        problems.append(f"{at}.agent: must name a configured agent")
        return None
    if endpoint is not None and (not isinstance(endpoint, str) or not endpoint.startswith("https://")):
        problems.append(f"{at}.project_endpoint: must be an https:// URL")
        endpoint = None
    return PromoteTo(agent=agent, project_endpoint=endpoint)


def check_promotions(agents: Iterable[AgentConfig], problems: list[str]) -> None:
    """Each ``promote_to`` names another configured agent."""
    listed = list(agents)
    names = {a.name for a in listed}
    for i, agent in enumerate(listed):
        target = agent.promote_to
        if target is None:
            continue
        if target.agent == agent.name or target.agent not in names:
            problems.append(
                f"agents[{i}].promote_to.agent: {target.agent!r} must be another configured agent"
            )
