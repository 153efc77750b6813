"""Each vocabulary has one definition, and the places that must agree with it do: statuses, rollout
names, the digest pattern and the order of version numbers."""

import json
import re
from typing import get_args

from deployer.cli import base
from deployer.domain import rollout, transitions
from deployer.domain.imageref import DIGEST, is_valid_digest
from deployer.domain.model import OPEN_STATUSES, SERVING_STATUSES, STRATEGIES, Rollout, Status
from deployer.domain.platform import VersionInfo
from deployer.domain.subscribers import MARKS, NOTIFIED_STATUSES
from deployer.entrypoints.http import openapi
from deployer.entrypoints.http.hold_requests import parse_hold_ref


def enums(document: object) -> list[list[str]]:
    return [json.loads(m) for m in re.findall(r'"enum": (\[[^\]]*\])', json.dumps(document))]


def test_open_serving_and_notified_statuses_are_statuses():
    statuses = set(get_args(Status))
    assert statuses >= OPEN_STATUSES | SERVING_STATUSES
    assert set(NOTIFIED_STATUSES) - MARKS <= statuses and not MARKS & statuses
    assert base.OPEN_STATUSES is OPEN_STATUSES  # the CLI's --wait follows the same list


def test_the_api_lists_the_statuses_and_rollouts_the_domain_defines():
    found = enums(openapi.document())
    assert list(get_args(Status)) in found
    assert list(STRATEGIES) in found  # an agent's configured rollout
    assert list(get_args(Rollout)) in found  # a deployment's rollout: a strategy, or instant
    assert set(get_args(Rollout)) - set(STRATEGIES) == {"instant"}


def test_the_digest_pattern_of_images_holds_and_the_api_is_one():
    digest = "sha256:" + "ab" * 32
    assert is_valid_digest(digest) and parse_hold_ref("bot", digest).digest == digest
    assert not is_valid_digest(digest.upper())
    patterns = re.findall(r'"pattern": "([^"]*sha256[^"]*)"', json.dumps(openapi.document()))
    assert patterns and set(patterns) == {f"^{DIGEST.pattern}$"}


def test_retention_keeps_the_version_the_rollout_calls_newest():
    for names in (("2", "10", "draft", "9"), ("draft", "0"), ("0", "draft")):
        versions = [VersionInfo(version=v, status="active", created_at=1.0) for v in names]
        newest = rollout.newest_active(versions)
        deleted = transitions.versions_to_delete(versions, keep=1, active_version=None)
        assert newest is not None
        assert {v.version for v in versions} - {v.version for v in deleted} == {newest.version}
