"""Hand-written stand-ins for the CLI's API client and clock (shared by the CLI's unit tests)."""

from __future__ import annotations

import io
from types import SimpleNamespace

from deployer.cli.client import ApiError


class ScriptedClient:
    """Answers GET /api/deployments/{id} with the next item of a script (a deployment, or an
    ApiError to raise), repeating the last; GET /api/agents with ``agents``."""

    def __init__(self, *states, agents=()):
        self.states = list(states)
        self.agents = list(agents)
        self.gets = 0

    def send(self, method, path, body=None, headers=None, *, retry=True):
        assert (method, path.startswith("/api/deployments/")) == ("GET", True), path
        self.gets += 1
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        if isinstance(state, ApiError):
            raise state
        return SimpleNamespace(status=200, headers={}, body=state)

    def get(self, path, **query):
        assert path == "/api/agents", path
        return {"items": self.agents}


class FakeTime:
    """A monotonic clock that only sleeping moves; records the sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class Terminal(io.StringIO):
    """Output that says it is a terminal (its width comes from COLUMNS)."""

    def isatty(self) -> bool:
        return True
