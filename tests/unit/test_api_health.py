"""GET /api/health's checks on the fakes (deployer.api.health)."""

from __future__ import annotations

from dataclasses import replace

from deployer.config.parser import parse_config
from deployer.entrypoints.http.health import SubscriberRules, check_health, endpoints, unavailable
from tests.unit import conftest

OTHER = "https://other.services.ai.azure.com/api/projects/q"


def with_two_endpoints(ctx):
    agents = [
        *conftest.CONFIG["agents"],
        {"name": "far", "repository": "agents/far", "project_endpoint": OTHER},
    ]
    return replace(ctx, config=parse_config({**conftest.CONFIG, "agents": agents}, {}))


def test_healthy_when_the_table_and_every_endpoint_answer(ctx):
    app = with_two_endpoints(ctx)
    report = check_health(app, table="deployments")
    assert report.ok and report.to_json()["status"] == "ok"
    assert [(c.name, c.target) for c in report.checks] == [
        ("table_storage", "deployments"),
        ("foundry", ctx.default_endpoint),
        ("foundry", OTHER),
    ]


def test_one_unreachable_endpoint_makes_it_unavailable_and_says_which(ctx):
    app = with_two_endpoints(ctx)
    app.platform.unreachable.add(OTHER)
    report = check_health(app, table="deployments")
    failed = [c.to_json() for c in report.checks if not c.ok]
    assert not report.ok
    assert failed == [
        {
            "name": "foundry",
            "target": OTHER,
            "status": "unreachable",
            "duration_ms": failed[0]["duration_ms"],
            "error": "ServiceUnreachable",
            "hint": None,
        }
    ]


def test_an_endpoint_whose_project_does_not_exist_is_not_found_and_says_what_to_correct(ctx):
    app = with_two_endpoints(ctx)
    app.platform.missing_projects.add(OTHER)
    report = check_health(app, table="deployments")
    [failed] = [c.to_json() for c in report.checks if not c.ok]
    assert not report.ok
    assert (failed["target"], failed["status"], failed["error"]) == (
        OTHER,
        "not_found",
        "ProjectNotFound (HTTP 404)",
    )
    assert "FOUNDRY_PROJECT_ENDPOINT" in failed["hint"]


def test_an_unreachable_table_reports_only_the_kind_of_error(ctx):
    ctx.store.ping_error = ConnectionError("AccountKey=secret")
    report = check_health(ctx, table="deployments")
    [table] = [c for c in report.checks if c.name == "table_storage"]
    assert not report.ok and table.error == "ConnectionError"
    assert "secret" not in str(report.to_json())


def test_endpoints_are_listed_once(ctx):
    assert endpoints(ctx) == [ctx.default_endpoint]


def test_a_deployer_that_cannot_start_is_unavailable():
    report = unavailable("startup", ValueError("DEPLOYER_TABLE_CONNECTION_STRING=...AccountKey=x"))
    assert report.to_json() == {
        "status": "unavailable",
        "checks": [
            {
                "name": "startup",
                "target": "",
                "status": "unreachable",
                "duration_ms": 0,
                "error": "ValueError",
                "hint": None,
            }
        ],
    }


def test_a_subscriber_whose_host_resolves_to_a_refused_address_degrades_health_only(ctx):
    hooks = [
        {"url": "https://hooks.example.com/ok", "format": "slack"},
        {"url": "https://internal.example.com/secret-path", "format": "slack"},
    ]
    dns = {"hooks.example.com": ["93.184.216.34"], "internal.example.com": ["10.0.0.5"]}
    raw = {**conftest.CONFIG, "webhooks": hooks}
    app = replace(ctx, config=parse_config(raw, {}, resolver=dns.__getitem__, resolve_names=False))
    rules = SubscriberRules(resolver=dns.__getitem__, allow_loopback=False)
    report = check_health(app, table="deployments", subscribers=rules)
    assert report.ok and report.to_json()["status"] == "degraded"
    [refused] = [c.to_json() for c in report.checks if not c.ok]
    assert (refused["name"], refused["target"]) == ("webhook", "https://internal.example.com")
    assert (
        refused["error"]
        == "address_refused: https://internal.example.com: the host resolves to a private address"
    )
    assert "secret-path" not in str(report.to_json())
