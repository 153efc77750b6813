"""The dev host checks function and system keys as the Functions host does, and answers deeply
nested JSON with 400."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from localdev.devhost import DevHost, start_devhost
from localdev.devhost.keys import HostKeys
from tests.integration import devhost_sample_app as sample

pytestmark = pytest.mark.integration

FUNCTION_KEY = "function-key-for-tests"
EVENTGRID_KEY = "eventgrid-key-for-tests"
WEBHOOK = "/runtime/webhooks/eventgrid?functionName=on_event"
VALIDATION = [
    {
        "id": "v",
        "eventType": "Microsoft.EventGrid.SubscriptionValidationEvent",
        "data": {"validationCode": "c"},
    }
]


@pytest.fixture(scope="module")
def keyed() -> Iterator[DevHost]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(sample.SCHEDULE_SETTING, "0 0 0 1 1 *")
        host = start_devhost(sample.app, port=0, run_timers=False, keys=HostKeys(FUNCTION_KEY, EVENTGRID_KEY))
    with host:
        yield host


def validate(url: str, **headers: str) -> requests.Response:
    headers = {"aeg-event-type": "SubscriptionValidation", **headers}
    return requests.post(url, json=VALIDATION, headers=headers, timeout=10)


@pytest.mark.parametrize(
    ("headers", "query", "status"),
    [
        ({}, "", 401),
        ({"x-functions-key": "wrong"}, "", 401),
        ({"x-functions-key": FUNCTION_KEY}, "", 200),
        ({}, f"?code={FUNCTION_KEY}", 200),
        ({}, f"?code={EVENTGRID_KEY}", 401),
    ],
)
def test_a_function_level_route_needs_the_function_key_in_the_header_or_code(
    keyed: DevHost, headers: dict[str, str], query: str, status: int
) -> None:
    reply = requests.get(f"{keyed.url}/api/greet/ann{query}", headers=headers, timeout=10)

    assert reply.status_code == status
    assert reply.text == ("hello ann" if status == 200 else "")


def test_an_anonymous_route_needs_no_key_and_an_admin_route_is_refused_the_function_key(
    keyed: DevHost,
) -> None:
    open_reply = requests.get(f"{keyed.url}/api/open", timeout=10)
    admin_reply = requests.get(
        f"{keyed.url}/api/admin-only", headers={"x-functions-key": FUNCTION_KEY}, timeout=10
    )

    assert (open_reply.status_code, open_reply.text) == (200, "open")
    assert admin_reply.status_code == 401


def test_the_event_grid_webhook_needs_the_eventgrid_system_key(keyed: DevHost) -> None:
    url = f"{keyed.url}{WEBHOOK}"

    without = validate(url)
    function_key = validate(url, **{"x-functions-key": FUNCTION_KEY})
    with_code = validate(f"{url}&code={EVENTGRID_KEY}")

    assert (without.status_code, function_key.status_code) == (401, 401)
    assert with_code.status_code == 200
    assert with_code.json() == {"validationResponse": "c"}


def test_without_keys_nothing_is_checked_as_under_func_start() -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(sample.SCHEDULE_SETTING, "0 0 0 1 1 *")
        host = start_devhost(sample.app, port=0, run_timers=False)
    with host:
        assert requests.get(f"{host.url}/api/greet/ann", timeout=10).status_code == 200
        assert validate(f"{host.url}{WEBHOOK}").status_code == 200


def test_a_webhook_body_nested_a_thousand_deep_is_a_400(keyed: DevHost) -> None:
    url = f"{keyed.url}{WEBHOOK}&code={EVENTGRID_KEY}"
    body = "[" * 1000 + "]" * 1000

    reply = requests.post(url, data=body, headers={"aeg-event-type": "Notification"}, timeout=10)

    assert reply.status_code == 400


def test_an_admin_invocation_nested_a_thousand_deep_is_a_400(keyed: DevHost) -> None:
    body = json.dumps({"input": "[" * 1000 + "]" * 1000})

    reply = requests.post(f"{keyed.url}/admin/functions/on_event", data=body, timeout=10)

    assert reply.status_code == 400
