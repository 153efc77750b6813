"""The dashboard in a real browser: it loads cleanly, follows a push and a canary without a
reload, asks before it acts, shows API text as text, and fits a phone."""

from __future__ import annotations

import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.browser.webdriver import ENTER, TAB

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ROW = "#deployment-rows li[data-agent='{agent}']"
TRAFFIC = "return (document.querySelector('[data-agent=\"canary-bot\"] .traffic') || {dataset: {}}).dataset"


def go(browser, view):
    browser.run("location.hash = arguments[0]", view)
    browser.wait_for(lambda: browser.run(f"return !document.getElementById('view-{view}').hidden"), view)


def rows(browser, agent):
    return browser.run(
        "return [...document.querySelectorAll(arguments[0])].map(r => [r.dataset.id, r.dataset.status])",
        ROW.format(agent=agent),
    )


def test_the_page_loads_without_console_errors_and_keeps_the_key_in_the_tab_only(dashboard, client):
    names = dashboard.run("return [...document.querySelectorAll('[data-agent] h3')].map(h => h.textContent)")
    stored = dashboard.run("return [sessionStorage.length, localStorage.length, location.href]")

    go(dashboard, "notifications")
    empty = "return document.getElementById('notification-rows').textContent"
    dashboard.wait_for(lambda: dashboard.run(empty) == "No dead notifications.", "the notifications")

    assert names == ["web-bot", "canary-bot", "gate-bot"]
    assert dashboard.console_errors() == []
    assert stored[:2] == [1, 0] and client.info.function_key not in stored[2]


def test_a_push_appears_as_a_new_row_and_reaches_active_without_a_reload(dashboard, client):
    go(dashboard, "deployments")
    dashboard.run("window.sameDocument = true")
    assert rows(dashboard, "web-bot") == []

    client.push("web-bot", "1.0.0")
    dashboard.wait_for(lambda: rows(dashboard, "web-bot"), "the new row")
    [(row_id, _)] = dashboard.wait_for(
        lambda: [r for r in rows(dashboard, "web-bot") if r[1] == "active"], "the row to reach active"
    )
    dashboard.run("document.querySelector(arguments[0] + ' summary').focus()", ROW.format(agent="web-bot"))
    dashboard.keys(ENTER)
    timeline = dashboard.run(
        "const steps = document.querySelectorAll(arguments[0] + ' .timeline [data-status]');"
        "return [...steps].map(s => s.dataset.status)",
        ROW.format(agent="web-bot"),
    )

    dashboard.screenshot(SCREENSHOTS / "deployments-1280x800.png")

    assert dashboard.run("return window.sameDocument") is True
    assert client.api("GET", f"deployments/{row_id}")["status"] == "active"
    assert timeline[0] == "pending" and timeline[-1] == "active" and "creating" in timeline
    assert dashboard.console_errors() == []


def test_text_from_the_api_is_shown_as_text(dashboard, client):
    reason = '<img src=x onerror="window.injected=1">'
    started = client.api(
        "POST",
        "deployments",
        {"agent": "web-bot", "image": client.seed("web-bot", "1.0.1"), "reason": reason},
    )
    go(dashboard, "deployments")
    selector = f"#deployment-rows li[data-id='{started['id']}']"
    dashboard.wait_for(
        lambda: dashboard.run("return document.querySelector(arguments[0])", selector), "the row"
    )
    shown = dashboard.run(
        "const r = document.querySelector(arguments[0]); r.querySelector('details').open = true;"
        "return [[...r.querySelectorAll('dd')].map(d => d.textContent), r.querySelectorAll('img').length,"
        " window.injected === undefined]",
        selector,
    )

    assert reason in shown[0] and shown[1] == 0 and shown[2] is True


def test_pausing_asks_first_and_shows_the_result(dashboard, client):
    go(dashboard, "agents")
    settled = "return document.querySelector(\"[data-agent='web-bot'] .last [data-status='active']\")"
    dashboard.wait_for(lambda: dashboard.run(settled), "web-bot's last deployment to be active")
    pause = "[data-agent='web-bot'] button[data-focus='pause']"
    dashboard.click(pause)
    dashboard.wait_for(
        lambda: dashboard.run("return document.getElementById('confirm').open"), "the question"
    )
    dashboard.keys("\ue00c")  # Escape: nothing happens
    assert client.api("GET", "agents/web-bot/holds")["paused"] is False

    dashboard.click(pause)
    dashboard.click("#confirm-ok")
    result = dashboard.wait_for(
        lambda: dashboard.run("return document.getElementById('result').textContent"), "result"
    )
    label = dashboard.wait_for(
        lambda: dashboard.run("return document.querySelector(arguments[0]).textContent == 'Resume'", pause),
        "Resume",
    )

    assert result == "web-bot is paused." and label
    assert client.api("GET", "agents/web-bot/holds")["paused"] is True
    client.api("POST", "agents/web-bot/resume")


def test_the_canary_bar_moves_10_50_100_and_the_agents_view_fits_a_desktop_and_a_phone(dashboard, client):
    go(dashboard, "agents")
    client.push("canary-bot", "1.0.0")
    serving = {"version": "1", "share": "100"}
    dashboard.wait_for(lambda: dashboard.run(TRAFFIC) == serving, "version 1 serving", timeout_s=60)
    dashboard.run(RECORD_SHARES)

    client.push("canary-bot", "2.0.0")
    dashboard.wait_for(lambda: 50 in dashboard.run("return window.shares"), "version 2 at 50%", timeout_s=60)
    widths = screenshots(dashboard)
    dashboard.wait_for(
        lambda: 100 in dashboard.run("return window.shares"), "version 2 at 100%", timeout_s=60
    )

    assert dashboard.run("return window.shares") == [10, 50, 100]
    assert widths == {1280: 1280, 390: 390}
    assert dashboard.console_errors() == []


def test_approving_from_the_page_with_the_keyboard_starts_the_deployment(dashboard, client):
    go(dashboard, "agents")
    client.push("gate-bot", "1.0.0")
    approve = "[data-agent='gate-bot'] .approval button[data-focus='approve']"
    dashboard.wait_for(
        lambda: dashboard.run("return document.querySelector(arguments[0])", approve), "Approve"
    )
    [waiting] = client.api("GET", "deployments?agent=gate-bot&status=awaiting_approval")["items"]
    assert waiting["version"] is None
    dashboard.screenshot(SCREENSHOTS / "approval-1280x800.png")

    dashboard.run("document.querySelector(arguments[0]).focus()", approve)
    dashboard.keys(ENTER)  # the question, Cancel focused: Tab to Confirm, Enter
    dashboard.wait_for(
        lambda: dashboard.run("return document.getElementById('confirm').open"), "the question"
    )
    dashboard.keys(TAB + ENTER)
    shown = "return document.getElementById('result').textContent"
    result = dashboard.wait_for(lambda: "Approved" in dashboard.run(shown) and dashboard.run(shown), "result")
    done = dashboard.wait_for(
        lambda: (d := client.api("GET", f"deployments/{waiting['id']}"))["status"] == "active" and d, "active"
    )

    assert result.startswith(f"Approved: gate-bot deployment {waiting['id']} is ")
    assert done["approval"]["by"] == "function key" and done["version"]
    assert dashboard.run("return document.querySelector(arguments[0])", approve) is None
    assert dashboard.console_errors() == []


def test_rejecting_from_the_page_asks_for_a_reason_and_records_it(dashboard, client):
    go(dashboard, "agents")
    client.push("gate-bot", "1.0.1")
    reject = "[data-agent='gate-bot'] .approval button[data-focus='reject']"
    dashboard.wait_for(lambda: dashboard.run("return document.querySelector(arguments[0])", reject), "Reject")
    [waiting] = client.api("GET", "deployments?agent=gate-bot&status=awaiting_approval")["items"]

    dashboard.click(reject)
    focused = dashboard.wait_for(lambda: dashboard.run("return document.activeElement.id"), "the reason")
    dashboard.keys(ENTER)  # no reason yet: the question stays open
    still_open = dashboard.run("return document.getElementById('confirm').open")
    dashboard.keys("<b>not during the freeze</b>" + ENTER)
    done = dashboard.wait_for(
        lambda: (d := client.api("GET", f"deployments/{waiting['id']}"))["status"] == "rejected" and d,
        "rejected",
    )

    assert focused == "confirm-reason" and still_open is True
    assert done["approval"]["comment"] == "<b>not during the freeze</b>" and done["version"] is None
    assert dashboard.console_errors() == []


#: Every share of version 2 the page shows on canary-bot's bar, in order, as the page renders it
#: (however quickly the test looks).
RECORD_SHARES = """
window.shares = [];
const record = () => {
  const bar = document.querySelector('[data-agent="canary-bot"] .traffic');
  const share = bar && bar.dataset.version === "2" ? Number(bar.dataset.share) : null;
  if (share !== null && window.shares[window.shares.length - 1] !== share) window.shares.push(share);
};
const cards = document.getElementById("agent-cards");
new MutationObserver(record).observe(cards, {childList: true, subtree: true});
"""


def screenshots(browser) -> dict[int, int]:
    """The agents view at 1280x800 and 390x844; the widths the page took (no sideways scroll)."""
    widths = {}
    for width, height in ((390, 844), (1280, 800)):
        browser.viewport(width, height)
        widths[width] = browser.run("return document.documentElement.scrollWidth")
        browser.screenshot(SCREENSHOTS / f"agents-{width}x{height}.png")
    return widths
