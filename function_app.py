"""agent-deployer's Azure Functions app: wiring only; the logic lives in the ``deployer`` package."""

import os

import azure.functions as func

from deployer.bootstrap import check_at_startup, quiet_sdk_logging
from deployer.config.settings import DEFAULT_NOTIFY_SCHEDULE, DEFAULT_POLL_SCHEDULE
from deployer.entrypoints import dashboard, eventgrid, notifications, polling
from deployer.entrypoints.http import fallback, routes

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
quiet_sdk_logging()
check_at_startup()


@app.function_name("on_image_pushed")
@app.event_grid_trigger(arg_name="event")
def on_image_pushed(event: func.EventGridEvent) -> None:
    eventgrid.on_image_pushed(event)


@app.function_name("poll_deployments")
@app.timer_trigger(
    arg_name="timer", schedule=os.environ.get("POLL_SCHEDULE") or DEFAULT_POLL_SCHEDULE, use_monitor=False
)
def poll_deployments(timer: func.TimerRequest) -> None:
    polling.poll_deployments(timer)


@app.function_name("deliver_notifications")
@app.timer_trigger(arg_name="timer", schedule=DEFAULT_NOTIFY_SCHEDULE, use_monitor=False)
def deliver_notifications(timer: func.TimerRequest) -> None:
    notifications.deliver_notifications(timer)


app.register_functions(routes.blueprint)
app.register_functions(dashboard.blueprint)
# Last: the catch-all answers what no route above takes (404 / 405 problems).
app.register_functions(fallback.blueprint)
