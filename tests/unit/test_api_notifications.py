"""The notification outbox in the API (deployer.api.notifications and its two routes) on the fakes:
what an entry shows (never a URL path or a secret), paging, and redelivery of dead entries."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from deployer.config.parser import parse_config
from deployer.deploy.start import handle_event
from deployer.domain.errors import Refused
from deployer.domain.notifications import Attempt
from deployer.entrypoints.http import notifications
from deployer.entrypoints.http import routes as http_api
from deployer.entrypoints.http.problems import problem_for
from deployer.entrypoints.http.requests import NotificationsQuery, parse_notifications_query
from deployer.notify import outbox, redelivery
from deployer.notify.outbox import Delivery, deliver_due
from deployer.notify.retry import RetrySchedule
from tests.unit.builders import digest_for, pushed
from tests.unit.conftest import CONFIG
from tests.unit.fake_outbox import FakeTransport
from tests.unit.http_helpers import FakeRoot, FakeSettings, doc, get, post, principal

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
HOOK = "https://hooks.example.com/agents/secret-path?token=t0k3n"
SLACK = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"


@pytest.fixture
def octx(ctx):
    raw = {**CONFIG, "webhooks": [{"url": HOOK, "secret": SECRET}, {"url": SLACK, "format": "slack"}]}
    return replace(ctx, config=parse_config(raw, {}, resolver=lambda host: ["93.184.216.34"]))


@pytest.fixture
def transport():
    transport = FakeTransport()
    transport.answers[HOOK] = [Attempt(status=410)]
    return transport


@pytest.fixture
def delivery(transport):
    return Delivery(
        webhooks=transport, schedule=RetrySchedule(offsets_s=(0, 1), jitter=0.0), rand=lambda: 0.5
    )


@pytest.fixture
def dead(octx, delivery):
    """One push to echo: its creating event is dead for HOOK (410) and delivered to Slack."""
    handle_event(octx, pushed("v1", digest=digest_for(1), repository="agents/echo"))
    deliver_due(octx, delivery)
    [entry] = outbox.notifications(octx, state="dead")
    return entry


@pytest.fixture
def app(octx, monkeypatch):
    settings = FakeSettings()
    monkeypatch.setattr(http_api, "root", lambda: FakeRoot(octx, settings))
    return settings


def query(**fields) -> NotificationsQuery:
    return NotificationsQuery(**fields)


def test_a_dead_entry_is_listed_with_its_subscriber_by_key_format_and_host_only(octx, dead):
    [shown] = notifications.page(octx, query(state="dead")).to_json()["items"]
    assert (shown["id"], shown["state"], shown["last_result"], shown["attempts"]) == (
        dead.id,
        "dead",
        "410",
        1,
    )
    assert shown["subscriber"] == {
        "key": dead.subscriber,
        "format": "cloudevents",
        "host": "hooks.example.com",
    }
    assert shown["type"] == "deployment.creating" and shown["agent"] == "echo"
    every = json.dumps(notifications.page(octx, query()).to_json())
    for secret in ("secret-path", "t0k3n", "XXXXSECRET", "/services/", "whsec_", SECRET):
        assert secret not in every
    assert '"hooks.slack.com"' in every and '"data"' not in every


def test_entries_are_paged_without_repeats(octx, delivery):
    for n in range(3):
        handle_event(octx, pushed(f"v{n}", digest=digest_for(n), repository="agents/echo"))
    seen, params = [], {"limit": "2"}
    for _ in range(10):
        page = notifications.page(octx, parse_notifications_query(params))
        seen += [item.entry.id for item in page.items]
        if page.next is None:
            break
        params["next"] = page.next
    assert len(seen) == len(set(seen)) == 6 and seen == sorted(seen)


def test_redelivery_makes_a_dead_entry_pending_and_the_sender_delivers_it(octx, dead, delivery, transport):
    transport.answers[HOOK] = [Attempt(status=200)]
    queued = redelivery.redeliver(octx, dead.id, requested_by="ana")
    assert (queued.state, queued.attempts) == ("pending", 0) and dead.id in octx.store.queue
    deliver_due(octx, delivery)
    assert octx.store.get_notification(dead.id).state == "delivered"
    assert [h["webhook-id"] for _, h in transport.to(HOOK)] == [dead.event_id] * 2


def test_only_a_dead_entry_can_be_redelivered(octx, dead, delivery):
    [delivered] = outbox.notifications(octx, state="delivered")
    for entry_id, slug in (
        ("0123.creating.wabc", "not-found"),
        (delivered.id, "notification-not-dead"),
    ):
        with pytest.raises(Refused) as refused:
            redelivery.redeliver(octx, entry_id)
        assert refused.value.slug == slug
    redelivery.redeliver(octx, dead.id)
    with pytest.raises(Refused) as again:
        redelivery.redeliver(octx, dead.id)
    assert problem_for(again.value).status == 409 and again.value.extra["state"] == "pending"


def test_an_entry_whose_subscriber_is_gone_shows_no_host_and_is_not_redelivered(octx, dead):
    gone = replace(octx, config=parse_config(CONFIG, {}))
    [shown] = notifications.page(gone, query(state="dead")).items
    assert shown.subscriber.host is None and shown.subscriber.key == dead.subscriber
    with pytest.raises(Refused) as refused:
        redelivery.redeliver(gone, dead.id)
    assert problem_for(refused.value).status == 422
    assert octx.store.get_notification(dead.id).state == "dead"


def test_a_redelivery_that_loses_a_race_to_another_answers_with_the_queued_entry(octx, dead, monkeypatch):
    save = octx.store.save_notification

    def raced(entry):
        monkeypatch.setattr(octx.store, "save_notification", save)
        outbox.redeliver(octx, dead.id)  # the other request, first
        return save(entry)  # the ETag has moved: Conflict

    monkeypatch.setattr(octx.store, "save_notification", raced)
    assert redelivery.redeliver(octx, dead.id).state == "pending"


def test_the_routes_list_and_redeliver(app, octx, dead):
    listed = get(http_api.list_notifications, params={"state": "dead", "limit": "10"})
    assert listed.status_code == 200 and [n["id"] for n in doc(listed)["items"]] == [dead.id]
    answer = post(http_api.redeliver_notification, None, raw=b"", route_params={"id": dead.id})
    assert answer.status_code == 202 and doc(answer)["state"] == "pending"
    again = post(http_api.redeliver_notification, None, raw=b"", route_params={"id": dead.id})
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    assert doc(again)["type"].endswith("notification-not-dead")


@pytest.mark.parametrize(
    ("params", "status"),
    [({"state": "gone"}, 400), ({"status": "dead"}, 400), ({"limit": "0"}, 400), ({"next": "../x"}, 400)],
)
def test_bad_queries_are_problems(app, params, status):
    assert get(http_api.list_notifications, params=params).status_code == status


@pytest.mark.parametrize(("entry_id", "status"), [("not an id", 400), ("0123.creating.wabc", 404)])
def test_redelivering_a_bad_or_unknown_id_is_a_problem(app, entry_id, status):
    answer = post(http_api.redeliver_notification, None, raw=b"", route_params={"id": entry_id})
    assert answer.status_code == status and doc(answer)["status"] == status


def test_redelivery_behind_app_service_authentication_needs_the_write_role(app, octx, dead):
    app.auth_enabled = True
    headers = {"x-ms-client-principal": principal("Reader")}
    denied = post(
        http_api.redeliver_notification, None, raw=b"", route_params={"id": dead.id}, headers=headers
    )
    assert denied.status_code == 403 and octx.store.get_notification(dead.id).state == "dead"
    app.write_role = "Reader"
    allowed = post(
        http_api.redeliver_notification, None, raw=b"", route_params={"id": dead.id}, headers=headers
    )
    assert allowed.status_code == 202
