"""The Functions dev host through real HTTP: in-process with ``start_devhost`` and as ``python -m``."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import pytest
import requests

from localdev.devhost import DevHost, IndexingError, load_local_settings, start_devhost
from tests.integration import devhost_sample_app as sample

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_BOUND_SECONDS = 60.0
EVERY_SECOND = "*/1 * * * * *"
NEVER_SOON = "0 0 0 1 1 *"


# -- helpers and fixtures ---------------------------------------------------------------------------


def wait_for(condition: Callable[[], Any], what: str, bound: float = WAIT_BOUND_SECONDS) -> Any:
    """Poll until ``condition()`` is truthy; the bound only stops a hung test."""
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}")


def recorded(base_url: str) -> dict[str, list[Any]]:
    response = requests.get(f"{base_url}/api/recorded", timeout=10)
    response.raise_for_status()
    document: dict[str, list[Any]] = response.json()
    return document


def events_with(base_url: str, marker: str) -> list[dict[str, Any]]:
    return [e for e in recorded(base_url)["events"] if str(e["id"]).startswith(marker)]


def post_events(base_url: str, body: Any, *, event_type: str | None = "Notification", **headers: str) -> Any:
    sent = {"Content-Type": "application/json", **headers}
    if event_type is not None:
        sent["aeg-event-type"] = event_type
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    url = f"{base_url}/runtime/webhooks/eventgrid?functionName=on_event"
    return requests.post(url, data=data, headers=sent, timeout=30)


def grid_event(event_id: str, data: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "topic": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r",
        "subject": "agent:1.0",
        "eventType": "Microsoft.ContainerRegistry.ImagePushed",
        "eventTime": "2024-05-01T10:00:00.0000000Z",
        "dataVersion": "1.0",
        "metadataVersion": "1",
        "data": data,
    }


def cloud_event(event_id: str, data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/r",
        "type": "Microsoft.ContainerRegistry.ImagePushed",
        "subject": "agent:1.0",
        "time": "2024-05-01T10:00:00Z",
        "data": data,
    }


def marker() -> str:
    return uuid.uuid4().hex[:12]


@pytest.fixture(scope="module")
def devhost() -> Iterator[DevHost]:
    """The sample app in-process, timers driven by hand."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(sample.SCHEDULE_SETTING, NEVER_SOON)
        host = start_devhost(sample.app, port=0, run_timers=False)
    with host:
        yield host


@pytest.fixture(scope="module")
def base_url(devhost: DevHost) -> str:
    return devhost.url


# -- HTTP triggers ----------------------------------------------------------------------------------


def test_route_parameter_query_headers_and_url_reach_the_function(base_url):
    response = requests.get(f"{base_url}/api/items/42?colour=red", headers={"X-Sample": "s"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "id": "42",
        "method": "GET",
        "params": {"colour": "red"},
        "body": "",
        "url": f"{base_url}/api/items/42?colour=red",
        "header": "s",
    }


def test_second_accepted_method_gets_the_request_body(base_url):
    response = requests.put(f"{base_url}/api/items/7", data=b"new value", timeout=10)
    assert response.status_code == 200
    assert response.json()["method"] == "PUT"
    assert response.json()["body"] == "new value"


def test_method_the_function_does_not_accept_answers_404_like_the_host(base_url):
    assert requests.post(f"{base_url}/api/items/42", data=b"x", timeout=10).status_code == 404
    assert requests.delete(f"{base_url}/api/items/42", timeout=10).status_code == 404


def test_unknown_route_answers_404(base_url):
    assert requests.get(f"{base_url}/api/no-such-route", timeout=10).status_code == 404
    assert requests.get(f"{base_url}/api/items", timeout=10).status_code == 404
    assert requests.get(f"{base_url}/elsewhere", timeout=10).status_code == 404


def test_route_literals_match_case_insensitively_and_parameters_are_decoded(base_url):
    response = requests.get(f"{base_url}/api/ITEMS/a%20b", timeout=10)
    assert response.status_code == 200
    assert response.json()["id"] == "a b"


def test_optional_route_parameter_may_be_left_out(base_url):
    assert requests.get(f"{base_url}/api/greet/bob", timeout=10).text == "hello bob"
    without = requests.get(f"{base_url}/api/greet", timeout=10)
    assert without.status_code == 200
    assert without.text == "hello nobody"
    assert without.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_catch_all_route_parameter_takes_the_rest_of_the_path(base_url):
    response = requests.get(f"{base_url}/api/files/a/b/c.txt", timeout=10)
    assert response.json() == {"path": "a/b/c.txt"}


def test_async_function_response_status_headers_and_mimetype_are_returned(base_url):
    response = requests.post(f"{base_url}/api/async-echo", data=b"a,b\n1,2\n", timeout=10)
    assert response.status_code == 201
    assert response.headers["X-Echo"] == "yes"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content == b"a,b\n1,2\n"


def test_raising_function_answers_500_without_internal_detail(base_url, capfd):
    response = requests.get(f"{base_url}/api/boom", timeout=10)
    assert response.status_code == 500
    assert b"secret" not in response.content
    assert "secret internal detail" in capfd.readouterr().err


def test_each_invocation_is_logged_with_name_status_and_duration(base_url, capfd):
    requests.get(f"{base_url}/api/greet/x", timeout=10)
    assert "Executed 'Functions.greet' (Succeeded, Status=200, Duration=" in capfd.readouterr().err


# -- Event Grid triggers ----------------------------------------------------------------------------


def test_subscription_validation_answers_200_with_the_code_without_calling_the_function(base_url):
    before = len(recorded(base_url)["events"])
    validation = grid_event("validation", {"validationCode": "code-123", "validationUrl": "https://x"})
    validation["eventType"] = "Microsoft.EventGrid.SubscriptionValidationEvent"
    response = post_events(base_url, [validation], event_type="SubscriptionValidation")
    assert response.status_code == 200
    assert response.json() == {"validationResponse": "code-123"}
    assert len(recorded(base_url)["events"]) == before


def test_cloudevents_options_handshake_echoes_a_known_event_grid_origin(base_url):
    url = f"{base_url}/runtime/webhooks/eventgrid?functionName=on_event"
    known = requests.options(url, headers={"WebHook-Request-Origin": "eventgrid.azure.net"}, timeout=10)
    assert known.status_code == 200
    assert known.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"
    other = requests.options(url, headers={"WebHook-Request-Origin": "evil.example"}, timeout=10)
    assert other.headers["WebHook-Allowed-Origin"] == "eventgrid.azure.net"


def test_event_grid_schema_array_calls_the_function_once_per_event(base_url):
    tag = marker()
    response = post_events(base_url, [grid_event(f"{tag}-1", {"n": 1}), grid_event(f"{tag}-2", {"n": 2})])
    assert response.status_code == 202
    seen = events_with(base_url, tag)
    assert sorted(e["id"] for e in seen) == [f"{tag}-1", f"{tag}-2"]
    assert {e["class"] for e in seen} == {"EventGridEvent"}
    assert {e["type"] for e in seen} == {"Microsoft.ContainerRegistry.ImagePushed"}


def test_single_cloudevent_is_delivered_as_a_cloud_event(base_url):
    tag = marker()
    headers = {"Content-Type": "application/cloudevents+json; charset=utf-8"}
    response = post_events(base_url, cloud_event(tag, {"n": 1}), **headers)
    assert response.status_code == 202
    assert [(e["class"], e["data"]) for e in events_with(base_url, tag)] == [("CloudEvent", {"n": 1})]


def test_batched_cloudevents_call_the_function_once_per_event(base_url):
    tag = marker()
    batch = [cloud_event(f"{tag}-a", {}), cloud_event(f"{tag}-b", {})]
    response = post_events(base_url, batch, **{"Content-Type": "application/cloudevents-batch+json"})
    assert response.status_code == 202
    assert sorted(e["id"] for e in events_with(base_url, tag)) == [f"{tag}-a", f"{tag}-b"]


def test_an_event_that_raises_makes_the_delivery_500_after_every_event_ran(base_url):
    tag = marker()
    response = post_events(base_url, [grid_event(f"{tag}-bad", {"fail": True}), grid_event(f"{tag}-ok", {})])
    assert response.status_code == 500
    assert "marked to fail" not in response.text
    assert sorted(e["id"] for e in events_with(base_url, tag)) == [f"{tag}-bad", f"{tag}-ok"]


def test_missing_or_unknown_aeg_event_type_answers_400(base_url):
    assert post_events(base_url, [grid_event(marker(), {})], event_type=None).status_code == 400
    assert post_events(base_url, [grid_event(marker(), {})], event_type="Bogus").status_code == 400


def test_unsubscribe_answers_202(base_url):
    assert post_events(base_url, [], event_type="Unsubscribe").status_code == 202


def test_unknown_or_missing_function_name_answers_404(base_url):
    events = json.dumps([grid_event(marker(), {})])
    headers = {"aeg-event-type": "Notification"}
    unknown = f"{base_url}/runtime/webhooks/eventgrid?functionName=nope"
    assert requests.post(unknown, data=events, headers=headers, timeout=10).status_code == 404
    missing = f"{base_url}/runtime/webhooks/eventgrid"
    assert requests.post(missing, data=events, headers=headers, timeout=10).status_code == 404


def test_body_that_is_not_json_answers_400(base_url):
    assert post_events(base_url, b"{not json").status_code == 400
    assert post_events(base_url, b"{not json", event_type="SubscriptionValidation").status_code == 400


def test_body_over_one_megabyte_answers_413(base_url):
    big = [grid_event(marker(), {"blob": "x" * (1024 * 1024)})]
    assert post_events(base_url, big).status_code == 413


# -- timers -----------------------------------------------------------------------------------------


def test_timer_fired_by_hand_gets_a_timer_request(devhost):
    before = len(recorded(devhost.url)["ticks"])
    assert devhost.fire_timer("tick") is True
    ticks = recorded(devhost.url)["ticks"]
    assert len(ticks) == before + 1
    assert ticks[-1] == {"class": "TimerRequest", "past_due": False}


def test_admin_endpoint_runs_a_timer_in_the_background(base_url):
    before = len(recorded(base_url)["ticks"])
    assert requests.post(f"{base_url}/admin/functions/tick", json={}, timeout=10).status_code == 202
    wait_for(lambda: len(recorded(base_url)["ticks"]) > before, "the admin-invoked tick")


def test_timer_fires_on_its_schedule_with_the_setting_resolved(monkeypatch):
    monkeypatch.setenv(sample.SCHEDULE_SETTING, EVERY_SECOND)
    before = len(sample._recorded["ticks"])
    with start_devhost(sample.app, port=0) as host:
        assert host.index.timers["tick"].schedule.expression == EVERY_SECOND
        wait_for(lambda: len(recorded(host.url)["ticks"]) >= before + 2, "two scheduled ticks")


def test_missing_schedule_setting_is_a_start_up_error(monkeypatch):
    monkeypatch.delenv(sample.SCHEDULE_SETTING, raising=False)
    with pytest.raises(IndexingError, match=sample.SCHEDULE_SETTING):
        start_devhost(sample.app, port=0)


def test_run_on_startup_fires_once_when_the_host_starts():
    app, calls = func.FunctionApp(), []

    @app.timer_trigger(arg_name="timer", schedule=NEVER_SOON, run_on_startup=True)
    def at_start(timer: func.TimerRequest) -> None:
        calls.append(timer.past_due)

    with start_devhost(app, port=0):
        wait_for(lambda: calls, "the start-up invocation")
    assert calls == [False]


def test_a_timer_does_not_fire_again_while_its_invocation_runs():
    app, active, overlaps, finished = func.FunctionApp(), [], [], []
    lock = threading.Lock()

    @app.timer_trigger(arg_name="timer", schedule=EVERY_SECOND)
    def slow(timer: func.TimerRequest) -> None:
        with lock:
            active.append(1)
            overlaps.append(len(active))
        time.sleep(2.5)  # longer than the schedule's period
        with lock:
            active.pop()
            finished.append(1)

    with start_devhost(app, port=0):
        wait_for(lambda: len(finished) >= 2, "two slow invocations")
    assert max(overlaps) == 1


# -- local.settings.json ----------------------------------------------------------------------------


def test_local_settings_values_fill_the_environment_and_the_environment_wins(tmp_path):
    settings = tmp_path / "local.settings.json"
    settings.write_text(json.dumps({"IsEncrypted": False, "Values": {"A": "file", "B": "file", "N": 3}}))
    environ = {"B": "env"}
    applied = load_local_settings(settings, environ)
    assert environ == {"A": "file", "B": "env", "N": "3"}
    assert applied == {"A": "file", "N": "3"}


def test_absent_local_settings_file_applies_nothing(tmp_path):
    environ: dict[str, str] = {}
    assert load_local_settings(tmp_path / "missing.json", environ) == {}
    assert environ == {}


# -- the command line -------------------------------------------------------------------------------


def read_ready_line(process: subprocess.Popen[str]) -> str:
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=WAIT_BOUND_SECONDS)
    except queue.Empty:
        pytest.fail("the dev host printed no READY line")


def test_command_line_serves_the_app_with_local_settings_and_exits_on_sigterm(tmp_path):
    settings = tmp_path / "local.settings.json"
    values = {sample.SCHEDULE_SETTING: EVERY_SECOND, "DEVHOST_FROM_FILE": "file", "DEVHOST_BOTH": "file"}
    settings.write_text(json.dumps({"IsEncrypted": False, "Values": values}))
    env = {k: v for k, v in os.environ.items() if k != sample.SCHEDULE_SETTING}
    env.update(DEVHOST_BOTH="environment", PYTHONUNBUFFERED="1")
    app_spec = "tests.integration.devhost_sample_app:app"
    command = [sys.executable, "-m", "localdev.devhost", "--app", app_spec, "--port", "0"]
    stderr = (tmp_path / "stderr.log").open("w")
    process = subprocess.Popen(
        [*command, "--settings", str(settings)],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    try:
        ready = read_ready_line(process)
        assert ready.startswith("READY http://127.0.0.1:"), (tmp_path / "stderr.log").read_text()
        url = ready.split()[1]
        check_served_app(url)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT_BOUND_SECONDS) == 0
        assert process.stdout is not None and process.stdout.read() == ""  # READY was the only line
    finally:
        if process.poll() is None:
            process.kill()
        stderr.close()
    assert "Executed 'Functions.tick' (Succeeded" in (tmp_path / "stderr.log").read_text()


def check_served_app(url: str) -> None:
    assert requests.get(f"{url}/api/items/5", timeout=10).json()["id"] == "5"

    def setting(name: str) -> Any:
        return requests.get(f"{url}/api/settings/{name}", timeout=10).json()["value"]

    assert setting("DEVHOST_FROM_FILE") == "file"
    assert setting("DEVHOST_BOTH") == "environment"
    wait_for(lambda: len(recorded(url)["ticks"]) >= 2, "two scheduled ticks in the subprocess")
    tag = marker()
    assert post_events(url, [grid_event(f"{tag}-1", {}), grid_event(f"{tag}-2", {})]).status_code == 202
    assert len(events_with(url, tag)) == 2


def test_command_line_reports_an_app_it_cannot_load_and_exits_1(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "localdev.devhost", "--app", "no_such_module_here:app", "--port", "0"],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=WAIT_BOUND_SECONDS,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no_such_module_here" in result.stderr
