"""Agent endpoint configuration: merge-patch updates and version-selector traffic routing."""

from __future__ import annotations

import copy
from typing import Any

from localdev.foundry_emulator.errors import bad_request

PATCHABLE_AGENT_FIELDS = frozenset({"agent_endpoint", "agent_card"})


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7396 JSON merge patch and return the result (``target`` is not modified)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def validate_agent_patch(patch: Any) -> dict[str, Any]:
    """Return ``patch`` if it only touches patchable agent fields (400 otherwise)."""
    if not isinstance(patch, dict):
        raise bad_request("The request body must be a JSON object.")
    unknown = set(patch) - PATCHABLE_AGENT_FIELDS
    if unknown:
        raise bad_request(f"Fields cannot be updated: {', '.join(sorted(unknown))}.")
    return patch


def selector_rules(details: dict[str, Any]) -> list[tuple[str, int]]:
    """Return the FixedRatio ``(agent_version, traffic_percentage)`` rules, if any."""
    endpoint = details.get("agent_endpoint")
    selector = endpoint.get("version_selector") if isinstance(endpoint, dict) else None
    rules = selector.get("version_selection_rules") if isinstance(selector, dict) else None
    if not isinstance(rules, list):
        return []
    return [(str(rule.get("agent_version")), int(rule.get("traffic_percentage", 0))) for rule in rules]


def validate_selector(details: dict[str, Any], versions: set[str]) -> None:
    """Raise 400 unless the version selector's rules are valid for the agent's ``versions``."""
    endpoint = details.get("agent_endpoint")
    selector = endpoint.get("version_selector") if isinstance(endpoint, dict) else None
    if selector is None:
        return
    rules = selector.get("version_selection_rules") if isinstance(selector, dict) else None
    if not isinstance(rules, list):
        raise bad_request("'version_selector.version_selection_rules' must be a list.")
    for rule in rules:
        _validate_rule(rule, versions)
    if rules and sum(int(rule["traffic_percentage"]) for rule in rules) != 100:
        raise bad_request("Traffic percentages of the version selection rules must add up to 100.")


def _validate_rule(rule: Any, versions: set[str]) -> None:
    if not isinstance(rule, dict) or rule.get("type") != "FixedRatio":
        raise bad_request("Each version selection rule must have type 'FixedRatio'.")
    percentage = rule.get("traffic_percentage")
    if isinstance(percentage, bool) or not isinstance(percentage, int) or not 0 <= percentage <= 100:
        raise bad_request("'traffic_percentage' must be an integer between 0 and 100.")
    if str(rule.get("agent_version")) not in versions:
        raise bad_request(f"Version selection rule names unknown version '{rule.get('agent_version')}'.")


def pick_weighted(rules: list[tuple[str, int]], current: dict[str, int]) -> str | None:
    """Pick a version by smooth weighted round-robin; ``current`` carries state between calls.

    Deterministic: over any 100 consecutive picks each version gets exactly its percentage,
    interleaved (90/10 gives nine of one, then one of the other, spread evenly).
    """
    weights: dict[str, int] = {}
    for version, percentage in rules:
        weights[version] = weights.get(version, 0) + percentage
    total = sum(weights.values())
    if total <= 0:
        return None
    for version, weight in weights.items():
        current[version] = current.get(version, 0) + weight
    chosen = max((v for v in weights if weights[v] > 0), key=lambda v: current[v])
    current[chosen] -= total
    return chosen
