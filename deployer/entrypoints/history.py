"""The timer trigger ``prune_history``: history retention (``deployer.deploy.history``), one
bounded run an hour."""

from __future__ import annotations

import logging

import azure.functions as func

from deployer.bootstrap import root
from deployer.config.settings import DEFAULT_HISTORY_SCHEDULE
from deployer.deploy.history import prune

log = logging.getLogger(__name__)

blueprint = func.Blueprint()  # type: ignore[no-untyped-call]  # azure-functions leaves it untyped


@blueprint.timer_trigger(arg_name="timer", schedule=DEFAULT_HISTORY_SCHEDULE, use_monitor=False)
def prune_history(timer: func.TimerRequest) -> None:
    """Delete what is past retention within the poll's time budget; the rest waits an hour."""
    app = root()
    report = prune(app.context, budget_s=app.settings.poll_budget_s)
    if report.more:
        log.info("history: %d passes within the budget, more left for the next run", report.passes)
