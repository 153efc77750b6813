import json

from deployer.domain.model import Deployment, DeploymentError
from deployer.domain.subscribers import EventGridTopic, Filters, Webhook
from deployer.notify.events import as_of, entry_id, event_id, plan

T0 = 1_800_000_000.0
ALL = Webhook(
    url="https://hooks.example.com/all", secret=None, format="slack", origin="https://hooks.example.com"
)
ACTIVE_ONLY = Webhook(
    url="https://hooks.example.com/active",
    format="teams",
    filters=Filters(events=frozenset({"deployment.active"})),
)
ECHO_ONLY = Webhook(
    url="https://hooks.example.com/echo", format="teams", filters=Filters(agents=frozenset({"echo"}))
)
TOPIC = EventGridTopic(endpoint="https://t.westeurope-1.eventgrid.azure.net/api/events")


def deployment(*statuses, agent="support-bot", pending=None):
    d = Deployment(
        id="8199999999999abcdef",
        agent=agent,
        image="myregistry.azurecr.io/agents/support-bot:1.2.0",
        status="pending",
        source="event",
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
    )
    for n, status in enumerate(statuses):
        d = d.moved_to(status, f"2026-01-01T00:00:0{n}.000Z", version="3" if status != "pending" else None)
    return d if pending is None else d.__class__(**{**d.__dict__, "pending_events": pending})


def test_one_entry_per_notified_event_and_wanting_subscriber():
    d = deployment("pending", "creating", "active")
    entries = plan(d, [ALL, ACTIVE_ONLY, TOPIC], now=T0)
    got = sorted((e.event_type, e.channel) for e in entries)
    assert got == [
        ("deployment.active", "eventgrid"),
        ("deployment.active", "slack"),
        ("deployment.active", "teams"),
        ("deployment.creating", "eventgrid"),
        ("deployment.creating", "slack"),
    ]


def test_pending_ignored_and_refused_are_never_notified():
    assert plan(deployment("pending"), [ALL], now=T0) == []
    assert plan(deployment("ignored"), [ALL], now=T0) == []
    assert plan(deployment("refused"), [ALL], now=T0) == []
    assert [e.event_type for e in plan(deployment("skipped"), [ALL], now=T0)] == ["deployment.skipped"]


def test_agent_filters_hold():
    assert plan(deployment("pending", "creating"), [ECHO_ONLY], now=T0) == []
    assert len(plan(deployment("pending", "creating", agent="echo"), [ECHO_ONLY], now=T0)) == 1


def test_ids_are_deterministic_per_deployment_status_and_subscriber():
    d = deployment("pending", "creating")
    first = plan(d, [ALL, TOPIC], now=T0)
    again = plan(d, [ALL, TOPIC], now=T0 + 100)
    assert [e.id for e in first] == [e.id for e in again]
    assert {e.event_id for e in first} == {event_id(d.id, "deployment.creating")} == {f"{d.id}.creating"}
    assert first[0].id == entry_id(d.id, "deployment.creating", ALL.key)


def test_the_data_is_the_deployment_as_of_the_transition():
    d = deployment("pending", "creating", "failed")
    d = d.__class__(
        **{**d.__dict__, "error": DeploymentError(code="AcrImageNotFound", message="no", hint="push")}
    )
    creating, failed = plan(d, [ALL], now=T0)
    then = json.loads(creating.data)
    assert then["status"] == "creating" and [h["status"] for h in then["history"]] == ["pending", "creating"]
    assert creating.time == "2026-01-01T00:00:01.000Z"
    assert json.loads(failed.data)["error"]["code"] == "AcrImageNotFound"
    assert as_of(d, "deployment.superseded") is d  # a status it never entered: unchanged


def test_an_oversized_deployment_loses_its_history_but_stays_valid_json():
    d = deployment("pending", "creating", "failed")
    d = d.__class__(**{**d.__dict__, "error": DeploymentError(code="X", message="m" * 100_000)})
    [entry] = [e for e in plan(d, [ALL], now=T0) if e.event_type == "deployment.failed"]
    data = json.loads(entry.data)
    assert len(entry.data) < 30_000 and data["history"] == [] and data["status"] == "failed"
