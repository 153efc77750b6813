"""The bodies of each format against their documented shapes.

Slack: incoming webhooks take a message payload with ``text`` (the notification fallback when
``blocks`` are present) and Block Kit ``blocks`` (header: plain_text ≤ 150; section: text ≤ 3000
or ≤ 10 fields of ≤ 2000; context: ≤ 10 elements; ≤ 50 blocks). Teams: ``{"type": "message",
"attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
"content": AdaptiveCard}]}`` with an Adaptive Card (``$schema``, ``type``, ``version``, ``body``
of elements; TextBlock needs ``text``, FactSet ``facts`` of title/value strings, Action.OpenUrl
``title``/``url``).
"""

import base64
import json
import time

from standardwebhooks.webhooks import Webhook as Verifier

from deployer.domain.approval import Approval
from deployer.domain.model import Deployment, DeploymentError
from deployer.domain.subscribers import EventGridTopic, Webhook
from deployer.notify import cloudevents, slack, teams
from deployer.notify.events import plan
from deployer.notify.render import TopicEvent, WebhookRequest, render
from tests.unit.format_checks import check_slack, check_teams

T0 = 1_800_000_000.0
SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
HOOK = Webhook(url="https://hooks.example.com/x", secret=SECRET)
SLACK = Webhook(url="https://hooks.slack.com/services/T0/B0/SECRET", format="slack")
TEAMS = Webhook(url="https://example.webhook.office.com/webhookb2/SECRET", format="teams")


def begun(status):
    return Deployment(
        id="8199999999999abcdef",
        agent="support-bot",
        image="myregistry.azurecr.io/agents/support-bot:1.2.0",
        status=status,
        source="event",
        created_at="2026-01-01T00:00:00.000Z",
        updated_at="2026-01-01T00:00:00.000Z",
    )


def failed_entry():
    d = begun("pending").moved_to("creating", "2026-01-01T00:00:01.000Z", version="7")
    error = DeploymentError(code="AcrImageNotFound", message="image not found", hint="Publish the image.")
    d = d.moved_to("failed", "2026-01-01T00:00:09.000Z", error=error)
    [entry] = [e for e in plan(d, [HOOK], now=T0) if e.event_type == "deployment.failed"]
    return entry


def test_cloudevents_body_is_structured_cloudevents_1_0_with_the_deployment_as_data():
    entry = failed_entry()
    event = json.loads(cloudevents.body(entry))
    assert {k: event[k] for k in ("specversion", "id", "type", "subject", "time")} == {
        "specversion": "1.0",
        "id": "8199999999999abcdef.failed",
        "type": "deployment.failed",
        "subject": "support-bot",
        "time": "2026-01-01T00:00:09.000Z",
    }
    assert event["source"].startswith("/") and event["datacontenttype"] == "application/json"
    assert event["data"]["status"] == "failed" and event["data"]["error"]["code"] == "AcrImageNotFound"


def test_a_signed_request_carries_the_event_id_and_verifies():
    now = time.time()
    request = render(failed_entry(), HOOK, now=now, links_base=None)
    assert isinstance(request, WebhookRequest)
    assert request.headers["Content-Type"].startswith("application/cloudevents+json")
    assert request.headers["webhook-id"] == "8199999999999abcdef.failed"
    assert request.headers["webhook-timestamp"] == str(int(now))
    assert Verifier(SECRET).verify(request.body, request.headers)["id"] == "8199999999999abcdef.failed"
    assert "SECRET" not in repr(render(failed_entry(), SLACK, now=T0, links_base=None))


def test_slack_and_teams_are_not_signed_and_a_topic_gets_the_cloud_event():
    assert "webhook-signature" not in render(failed_entry(), SLACK, now=T0, links_base=None).headers
    topic = render(failed_entry(), EventGridTopic(endpoint="https://t/api/events"), now=T0, links_base=None)
    assert isinstance(topic, TopicEvent) and topic.event["type"] == "deployment.failed"


def test_slack_message_matches_block_kit_and_reads_well():
    message = slack.message(failed_entry(), links_base="https://deployer.azurewebsites.net")
    check_slack(message)
    text = json.dumps(message)
    for expected in (
        "support-bot",
        "failed",
        "support-bot:1.2.0",
        "Version",
        "7",
        "AcrImageNotFound",
        "Publish the image.",
    ):
        assert expected in text
    assert "<https://deployer.azurewebsites.net/api/deployments/8199999999999abcdef|" in text


def test_slack_without_a_public_host_shows_the_cli_command_and_clips_long_fields():
    entry = failed_entry()
    data = json.loads(entry.data)
    data["image"] = "x" * 5000
    long = entry.__class__(**{**entry.__dict__, "data": json.dumps(data)})
    message = slack.message(long)
    check_slack(message)
    assert "agent-deployer status 8199999999999abcdef" in json.dumps(message)


def test_teams_message_is_an_adaptive_card_attachment():
    message = teams.message(failed_entry(), links_base="https://deployer.azurewebsites.net")
    check_teams(message)
    facts = {f["title"]: f["value"] for f in message["attachments"][0]["content"]["body"][1]["facts"]}
    assert facts["Agent"] == "support-bot" and facts["Status"] == "failed" and facts["Version"] == "7"
    urls = [a["url"] for a in message["attachments"][0]["content"]["actions"]]
    assert urls == [
        "https://deployer.azurewebsites.net/api/ui#deployment/8199999999999abcdef",
        "https://deployer.azurewebsites.net/api/deployments/8199999999999abcdef",
    ]
    check_teams(teams.message(failed_entry()))


def awaiting_entry():
    d = begun("awaiting_approval").moved_to(
        "awaiting_approval", "2026-01-01T00:00:00.000Z", approval=Approval(expires_at=1_767_312_000.0)
    )
    [entry] = plan(d, [HOOK], now=T0)
    return entry


def test_a_deployment_awaiting_approval_links_to_the_dashboard_in_slack_and_teams_escaped():
    base = "https://deployer.example.net/a&b<c>"
    slack_message = slack.message(awaiting_entry(), links_base=base)
    teams_message = teams.message(awaiting_entry(), links_base=base)
    check_slack(slack_message)
    check_teams(teams_message)

    context = slack_message["blocks"][-1]["elements"][0]["text"]
    card = teams_message["attachments"][0]["content"]
    escaped = "https://deployer.example.net/a&amp;b&lt;c&gt;"
    assert context.startswith(f"<{escaped}/api/ui#deployment/8199999999999abcdef|Open in the dashboard>")
    assert card["actions"][0] == {
        "type": "Action.OpenUrl",
        "title": "Open in the dashboard",
        "url": f"{base}/api/ui#deployment/8199999999999abcdef",
    }
    assert slack_message["blocks"][0]["text"]["text"] == "✋ support-bot: awaiting_approval"
    facts = {f["title"]: f["value"] for f in card["body"][1]["facts"]}
    assert facts["Approve by"] == "2026-01-02T00:00:00.000Z"


HOSTILE = "<!channel> see <https://evil.example|the runbook> & [the fix](https://evil.example) **now**"


def hostile_entry():
    entry = failed_entry()
    data = json.loads(entry.data)
    data["reason"] = HOSTILE
    data["error"]["message"] = "<!here> [retry](https://evil.example)"
    return entry.__class__(**{**entry.__dict__, "data": json.dumps(data)})


def test_user_text_in_slack_cannot_mention_or_link():
    message = slack.message(hostile_entry())
    check_slack(message)
    texts = [
        f["text"]
        for b in message["blocks"]
        if b["type"] == "section"
        for f in b.get("fields", [b.get("text")])
    ]
    shown = "\n".join(t for t in texts if t)
    assert "<!channel>" not in shown and "<!here>" not in shown and "<https://evil" not in shown
    assert "&lt;!channel&gt; see &lt;https://evil.example|the runbook&gt; &amp; [the fix]" in shown


def test_user_text_in_teams_cannot_link_or_format():
    message = teams.message(hostile_entry())
    check_teams(message)
    body = message["attachments"][0]["content"]["body"]
    facts = {f["title"]: f["value"] for f in body[1]["facts"]}
    assert facts["Reason"] == (
        r"\<!channel\> see \<https://evil.example\|the runbook\> & "
        r"\[the fix\]\(https://evil.example\) \*\*now\*\*"
    )
    assert r"\[retry\]\(https://evil.example\)" in body[2]["text"]
