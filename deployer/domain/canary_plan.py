"""Decisions of canary rollouts. Pure: no I/O, no Azure imports.

After its smoke test passes, a canary's version takes the traffic step by step (``steps``,
percentages ending at 100) through the agent's version selector; the rest stays on the
``stable`` version. Before each further step the smoke test runs again; enough failures abort
the canary, which gives the stable version all the traffic back.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from deployer.domain.agents import CanarySettings
from deployer.domain.rollout import all_to
from deployer.domain.rollout_state import CanaryState, Traffic, traffic_of

Next = Literal["settle", "finish", "wait", "smoke"]


def split(version: str, stable: str, percentage: int) -> Traffic:
    """The selector giving ``version`` ``percentage`` of the traffic and ``stable`` the rest."""
    if percentage >= 100:
        return all_to(version)
    return traffic_of([(version, percentage), (stable, 100 - percentage)])


def next_move(state: CanaryState, *, now: float) -> Next:
    """What one look at a canary does: ``settle`` (all the traffic is on the new version: record
    it verified), ``finish`` (a person promoted it: skip the remaining steps), ``wait`` (the step
    holds until ``next_at``) or ``smoke`` (re-run the smoke test, then the next step)."""
    if state.percentage >= 100:
        return "settle"
    if state.promote:
        return "finish"
    if now < state.next_at:
        return "wait"
    return "smoke"


def after_step(state: CanaryState, settings: CanarySettings, *, now: float) -> CanaryState:
    """The state once the next step is applied (the last step is 100%)."""
    index = min(state.step + 1, len(settings.steps) - 1)
    return replace(
        state,
        step=index,
        percentage=settings.steps[index],
        next_at=now + settings.step_interval_s,
    )


def after_smoke(state: CanaryState, *, passed: bool) -> CanaryState:
    """The state after one smoke re-run."""
    return replace(
        state,
        smoke_runs=state.smoke_runs + 1,
        smoke_failures=state.smoke_failures + (0 if passed else 1),
    )


def must_abort(state: CanaryState, settings: CanarySettings) -> bool:
    """Whether the failed smoke re-runs reached ``abort_if.smoke_failures``."""
    return state.smoke_failures >= settings.smoke_failures


def abort_traffic(current: Traffic, *, version: str, stable: str) -> Traffic | None:
    """The selector an aborted canary leaves: all to ``stable`` if ``version`` still takes any
    traffic (``None``: nothing to change; someone or something newer routed it since)."""
    if any(rule.version == version and rule.percentage > 0 for rule in current):
        return all_to(stable)
    return None


def describe(version: str, stable: str, percentage: int) -> str:
    """The history note of a step."""
    if percentage >= 100:
        return f"100% to version {version}"
    return f"{percentage}% to version {version}, {100 - percentage}% on version {stable}"
