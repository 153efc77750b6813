"""Functions dev host: serves a ``func.FunctionApp`` with the HTTP contract of the Azure Functions host.

Azure Functions Core Tools cannot be installed here, so this small pure-Python host stands in for
``func start``: HTTP triggers at ``/api/<route>``, Event Grid triggers at
``/runtime/webhooks/eventgrid?functionName=<name>``, timer triggers on their NCRONTAB schedules, and
``local.settings.json`` values loaded into the environment. Function and system keys are checked as the
host checks them once they are given (``keys``); without keys, as under ``func start``, nothing is
checked. The modules document which host behaviours they reproduce.

Command line: ``python -m localdev.devhost --app function_app:app --port 0 --settings local.settings.json``
(see :mod:`.cli`). In process: ``start_devhost(app, port=0, run_timers=False)`` returns a
:class:`DevHost` with ``.url``, ``.fire_timer(name)`` and ``.shutdown()``.
"""

from .host import DevHost, start_devhost
from .index import IndexingError, load_app
from .ncrontab import CrontabError, CrontabSchedule
from .settings import SettingsError, load_local_settings, resolve_setting_references

__all__ = [
    "CrontabError",
    "CrontabSchedule",
    "DevHost",
    "IndexingError",
    "SettingsError",
    "load_app",
    "load_local_settings",
    "resolve_setting_references",
    "start_devhost",
]
