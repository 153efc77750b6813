"""The timer trigger ``poll_deployments``: one poll tick over the open deployments, then the
notifications it queued."""

from __future__ import annotations

import logging
import os

import azure.functions as func

from deployer.bootstrap import root
from deployer.config.settings import DEFAULT_POLL_SCHEDULE
from deployer.deploy.poll import poll_and_send

log = logging.getLogger(__name__)

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it untyped


# The schedule is read when the host indexes the app (a change of setting restarts it).
@blueprint.timer_trigger(
    arg_name="timer", schedule=os.environ.get("POLL_SCHEDULE") or DEFAULT_POLL_SCHEDULE, use_monitor=False
)
def poll_deployments(timer: func.TimerRequest) -> None:
    """Run one tick within the configured concurrency and time budget."""
    app = root()
    report = poll_and_send(
        app.context,
        app.delivery,
        concurrency=app.settings.poll_concurrency,
        budget_s=app.settings.poll_budget_s,
    )
    if report.due:
        log.info("poll: %d due, %d worked, %d deferred", report.due, report.worked, report.deferred)
