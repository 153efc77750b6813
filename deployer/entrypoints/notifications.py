"""The timer trigger ``deliver_notifications``: it sends due notifications from the outbox."""

from __future__ import annotations

import logging

import azure.functions as func

from deployer.bootstrap import root
from deployer.config.settings import DEFAULT_NOTIFY_SCHEDULE
from deployer.notify.outbox import deliver_due

log = logging.getLogger(__name__)

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it untyped


@blueprint.timer_trigger(arg_name="timer", schedule=DEFAULT_NOTIFY_SCHEDULE, use_monitor=False)
def deliver_notifications(timer: func.TimerRequest) -> None:
    """One sender tick: every due entry, within the poll's concurrency and time budget."""
    app = root()
    report = deliver_due(
        app.context,
        app.delivery,
        concurrency=app.settings.poll_concurrency,
        budget_s=app.settings.poll_budget_s,
    )
    if report.due:
        log.info(
            "notifications: %d due, %d delivered, %d retrying, %d dead, %d left for later",
            report.due,
            report.delivered,
            report.retrying,
            report.dead,
            report.skipped,
        )
