"""agent-deployer's Azure Functions app: it composes the triggers' blueprints; the logic lives in
the ``deployer`` package.

The Functions host imports this module to index the functions before any of them runs, so it
reads no configuration and builds no client: the composition root (``deployer.bootstrap``) does
that on the first invocation, which reports an invalid configuration (log and ``/api/health``).
"""

import azure.functions as func

from deployer.bootstrap import quiet_sdk_logging
from deployer.entrypoints import dashboard, eventgrid, history, notifications, polling
from deployer.entrypoints.http import fallback, routes

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
quiet_sdk_logging()

for trigger in (eventgrid, polling, notifications, history, routes, dashboard):
    app.register_functions(trigger.blueprint)
# Last: the catch-all answers what no route above takes (404 / 405 problems).
app.register_functions(fallback.blueprint)
