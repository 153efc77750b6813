import base64

import pytest

from deployer.config.parser import ConfigError, parse_config

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
DNS = {
    "hooks.example.com": ["93.184.216.34"],
    "internal.example.com": ["10.0.0.5"],
    "sneaky.example.com": ["93.184.216.34", "169.254.169.254"],
    "topic.westeurope-1.eventgrid.azure.net": ["20.50.2.1"],
}


def resolve(host):
    if host not in DNS:
        raise OSError("not found")
    return DNS[host]


def config(webhooks=None, topic=None, settings=None):
    raw = {
        "registries": ["myregistry.azurecr.io"],
        "agents": [{"name": "support-bot", "repository": "agents/support-bot", "grant_runtime_role": False}],
    }
    if webhooks is not None:
        raw["webhooks"] = webhooks
    if topic is not None:
        raw["event_grid_topic"] = topic
    return parse_config(raw, settings or {"WEBHOOK_SECRET": SECRET}, resolver=resolve)


def problems(**kwargs):
    with pytest.raises(ConfigError) as error:
        config(**kwargs)
    return error.value.problems


def test_a_webhook_with_filters_and_a_secret_from_an_app_setting():
    [hook] = config(
        [
            {
                "url": "https://hooks.example.com/agents",
                "secret": "${WEBHOOK_SECRET}",
                "events": ["deployment.active", "deployment.failed"],
                "agents": ["support-bot"],
            }
        ]
    ).webhooks
    assert hook.secret == SECRET and hook.format == "cloudevents"
    assert hook.filters.wants("deployment.active", "support-bot")
    assert not hook.filters.wants("deployment.creating", "support-bot")
    assert not hook.filters.wants("deployment.active", "other")


def test_defaults_are_all_events_all_agents_and_slack_and_teams_need_no_secret():
    parsed = config(
        [
            {"url": "https://hooks.example.com/slack", "format": "slack"},
            {"url": "https://hooks.example.com/teams", "format": "teams"},
        ]
    )
    assert [h.format for h in parsed.webhooks] == ["slack", "teams"]
    assert all(h.filters.wants("deployment.skipped", "anyone") for h in parsed.webhooks)
    assert len({h.key for h in parsed.webhooks}) == 2


def test_secrets_and_url_paths_never_show_in_repr():
    hooked = config(
        [
            {"url": "https://hooks.example.com/agents?token=abc", "secret": SECRET},
            {"url": "https://hooks.example.com/services/T0/B0/XYZSECRET", "format": "slack"},
        ]
    )
    text = repr(hooked)
    assert SECRET not in text and "XYZSECRET" not in text and "token=abc" not in text
    assert "https://hooks.example.com" in text


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://168.63.129.16/machine", "metadata"),
        ("https://10.0.0.1/hook", "private"),
        ("https://[fd00::1]/hook", "private"),
        ("https://[fe80::1]/hook", "link-local"),
        ("https://internal.example.com/hook", "private"),
        ("https://sneaky.example.com/hook", "metadata"),
        ("https://127.0.0.1/hook", "loopback"),
        ("http://hooks.example.com/hook", "https"),
    ],
)
def test_urls_to_internal_addresses_are_refused_at_config_check(url, fragment):
    [problem] = problems(webhooks=[{"url": url, "secret": SECRET}])
    assert problem.startswith("webhooks[0].url:") and fragment in problem


def test_loopback_receivers_need_the_exception_setting():
    hook = {"url": "http://127.0.0.1:9000/hook", "secret": SECRET}
    assert problems(webhooks=[hook])
    allowed = config([hook], settings={"WEBHOOKS_ALLOW_LOOPBACK": "true"})
    assert allowed.webhooks[0].origin == "http://127.0.0.1:9000"


def test_a_name_that_does_not_resolve_now_is_accepted_and_checked_when_sending():
    assert config([{"url": "https://not-yet.example.com/x", "secret": SECRET}]).webhooks


def test_every_problem_is_named():
    found = problems(
        webhooks=[
            {"url": "https://hooks.example.com/a"},
            {"url": "https://hooks.example.com/b", "secret": "whsec_c2hvcnQ="},
            {"url": "https://hooks.example.com/c", "secret": SECRET, "events": ["deployment.pending"]},
            {"url": "https://hooks.example.com/d", "secret": SECRET, "agents": ["nobody"], "colour": "red"},
            {"url": "https://hooks.example.com/e", "format": "slack", "secret": SECRET},
            {"url": "https://hooks.example.com/f", "format": "discord"},
            "https://hooks.example.com/g",
        ]
    )
    expected = [
        "webhooks[0].secret: must be a whsec_ secret",
        "webhooks[1].secret: must be whsec_ followed by base64 of 24 to 64",
        "webhooks[2].events: 'deployment.pending' is not an event type",
        "webhooks[3].colour: unknown field",
        "webhooks[3].agents: 'nobody' is not a configured agent",
        "webhooks[4].secret: slack webhooks are not signed",
        "webhooks[5].format: must be one of cloudevents, slack, teams",
        "webhooks[6]: must be a mapping",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in found), (start, found)


def test_the_same_receiver_twice_is_refused():
    hook = {"url": "https://hooks.example.com/a", "secret": SECRET}
    assert any("configured twice" in p for p in problems(webhooks=[hook, hook]))


def test_an_event_grid_topic_is_a_subscriber_with_its_own_checks():
    parsed = config(topic={"endpoint": "https://topic.westeurope-1.eventgrid.azure.net/api/events"})
    assert parsed.event_grid_topic is not None and parsed.subscribers == (parsed.event_grid_topic,)
    found = problems(topic={"endpoint": "https://10.1.1.1/api/events", "key": "x"})
    assert any(p.startswith("event_grid_topic.endpoint:") for p in found)
    assert "event_grid_topic.key: unknown field" in found


def test_the_running_app_resolves_no_names_at_start_but_still_refuses_literal_ips():
    raw = {
        "registries": ["myregistry.azurecr.io"],
        "agents": [{"name": "support-bot", "repository": "agents/support-bot", "grant_runtime_role": False}],
        "webhooks": [{"url": "https://internal.example.com/hook", "secret": SECRET}],
    }
    settings = {"WEBHOOK_SECRET": SECRET}
    parsed = parse_config(raw, settings, resolver=resolve, resolve_names=False)
    assert parsed.webhooks[0].origin == "https://internal.example.com"
    literal = {**raw, "webhooks": [{"url": "https://10.0.0.1/hook", "secret": SECRET}]}
    with pytest.raises(ConfigError, match="private"):
        parse_config(literal, settings, resolver=resolve, resolve_names=False)
