"""Semver ranges as people write them, against the cases of node-semver's own range tests
(tests/fixtures/semver_ranges.json: the cases without options), and tags with a ``v`` or
partial versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deployer.domain.semver import Range, SemverError, Version, parse_version
from deployer.domain.tag_policy import TagPolicy

CASES = json.loads((Path(__file__).parents[1] / "fixtures" / "semver_ranges.json").read_text())
#: Where the deployer differs on purpose: an empty range is a mistake in a config, not "any".
EMPTY = {"", "||"}


def satisfies(range_text: str, version_text: str) -> bool:
    version = parse_version(version_text)
    return version is not None and Range.parse(range_text).contains(version)


@pytest.mark.parametrize(("range_text", "version"), [c for c in CASES["include"] if c[0] not in EMPTY])
def test_node_semver_includes(range_text, version):
    assert satisfies(range_text, version)


@pytest.mark.parametrize(("range_text", "version"), CASES["exclude"])
def test_node_semver_excludes(range_text, version):
    assert not satisfies(range_text, version)


@pytest.mark.parametrize("range_text", sorted(EMPTY))
def test_an_empty_range_is_an_error(range_text):
    with pytest.raises(SemverError):
        Range.parse(range_text)


@pytest.mark.parametrize(
    ("tag", "version"),
    [
        ("1.5", Version(1, 5, 0)),
        ("v1.5", Version(1, 5, 0)),
        ("v2", Version(2, 0, 0)),
        ("1.5.0", Version(1, 5, 0)),
    ],
)
def test_tags_with_a_v_or_partial_versions_count(tag, version):
    assert parse_version(tag) == version


@pytest.mark.parametrize("tag", ["latest", "1.5-rc1", "01.2.3", "1.2.3.4", "v", "1.x"])
def test_tags_that_name_no_version(tag):
    assert parse_version(tag) is None


def test_a_partial_version_as_a_range_means_every_version_it_starts():
    policy = TagPolicy.parse("semver:1.2")
    assert [t for t in ("1.2.0", "v1.2.9", "1.2", "1.3.0", "1.1.9", "1.2.1-rc.1") if policy.accepts(t)] == [
        "1.2.0",
        "v1.2.9",
        "1.2",
    ]


@pytest.mark.parametrize(
    ("range_text", "accepted"),
    [
        (">=1.0.0 <2.0.0", ["1.0.0", "1.5", "v1.9.9"]),
        ("^1.2", ["1.5", "v1.9.9"]),
        ("~1.2", []),
        ("1.x || >=3", ["1.0.0", "1.5", "v1.9.9", "3.0.1", "v4"]),
        ("1.5 - 3", ["1.5", "v1.9.9", "3.0.1"]),
        ("*", ["0.9.0", "1.0.0", "1.5", "v1.9.9", "3.0.1", "v4"]),
    ],
)
def test_tag_policies_take_ranges_as_people_write_them(range_text, accepted):
    tags = ["0.9.0", "1.0.0", "1.5", "v1.9.9", "2.0.0-rc.1", "3.0.1", "v4", "latest"]
    policy = TagPolicy.parse(f"semver:{range_text}")
    assert [t for t in tags if policy.accepts(t)] == accepted
