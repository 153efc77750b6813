"""The short forms of the CLI's arguments, resolved against a hand-written client: digest
prefixes for ``unhold``; and ``simulate-push`` of something that is no image; the ``agents`` table
with pauses and holds."""

from __future__ import annotations

import pytest

from deployer.cli import main as cli
from deployer.cli import resolve, text

A = "sha256:" + "4f1c2a9b7e3d" + "0" * 52
B = "sha256:" + "4f1c2a9b7e3e" + "1" * 52


class Holds:
    """GET /api/agents/{agent}/holds: the digests held."""

    def __init__(self, *digests):
        self.digests = digests
        self.gets = 0

    def get(self, path, **query):
        assert path == "/api/agents/bot/holds"
        self.gets += 1
        return {"paused": False, "items": [{"digest": d, "reason": "rollback"} for d in self.digests]}


@pytest.mark.parametrize(
    "typed", ["4f1c2a9b7e3d", "4F1C2A9B7E3D0", "sha256:4f1c2a9b7e3d", "SHA256:4f1c2a9b7e3d00"]
)
def test_a_unique_prefix_of_12_or_more_hex_names_the_held_digest(typed):
    assert resolve.held_digest(Holds(A, B), "bot", typed) == A


def test_a_whole_digest_is_taken_as_it_is_without_asking():
    client = Holds()
    assert resolve.held_digest(client, "bot", A.upper().replace("SHA256:", "")) == A
    assert client.gets == 0


@pytest.mark.parametrize(
    ("typed", "message", "code"),
    [
        ("4f1c2a9b7e3", "at least its first 12 hex digits", cli.EXIT_ERROR),
        ("sha256:zzzzzzzzzzzzzz", "at least its first 12 hex digits", cli.EXIT_ERROR),
        ("4f1c2a9b7e", "at least its first 12 hex digits", cli.EXIT_ERROR),
        ("4f1c2a9b7e3f", "no held digest starts with 4f1c2a9b7e3f", cli.EXIT_REFUSED),
    ],
)
def test_a_prefix_that_names_no_single_held_digest_is_refused(typed, message, code):
    with pytest.raises(resolve.CommandError) as refused:
        resolve.held_digest(Holds(A, B), "bot", typed)
    assert message in str(refused.value) and refused.value.code == code


def test_an_ambiguous_prefix_lists_the_digests_it_starts():
    with pytest.raises(resolve.CommandError) as refused:
        resolve.held_digest(Holds(A, A.replace("0", "2")), "bot", "4f1c2a9b7e3d")
    assert "is the start of 2 held digests" in str(refused.value) and A in str(refused.value)


def test_simulating_a_push_of_something_that_is_no_image_is_a_clear_usage_error(capsys):
    assert cli.main(["--url", "http://127.0.0.1:9", "simulate-push", "notanimage"]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("error: 'notanimage' is not an image reference") and "Traceback" not in err


def test_the_agents_table_shows_pauses_and_held_digests():
    items = [
        {"name": "bot", "repository": "agents/bot", "tags": "semver:^1", "paused": True, "active": None},
        {"name": "echo", "repository": "agents/echo", "tags": "v*", "paused": False, "active": None},
    ]
    rows = text.agents(items, {"bot": [A, B]}).splitlines()
    assert rows[0].split()[:5] == ["AGENT", "REPOSITORY", "TAGS", "PAUSED", "HELD"]
    assert "paused" in rows[1] and "4f1c2a9b7e3d, 4f1c2a9b7e3e" in rows[1]
    assert rows[2].split()[3:5] == ["-", "-"]
