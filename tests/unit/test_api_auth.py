"""Caller identity from App Service Authentication (deployer.api.auth)."""

from __future__ import annotations

import base64
import json

import pytest

from deployer.config.settings import AZURE_SETTINGS, Settings
from deployer.domain.errors import Refused
from deployer.entrypoints.http.auth import authorize_write, principal_from
from deployer.entrypoints.http.problems import problem_for


def header(claims, **extra) -> str:
    document = {"auth_typ": "aad", "claims": [{"typ": t, "val": v} for t, v in claims], **extra}
    return base64.b64encode(json.dumps(document).encode()).decode()


def test_without_app_service_authentication_a_principal_header_is_ignored():
    forged = header([("preferred_username", "ceo@example.com"), ("roles", "Deployer.Write")])
    for sent in (None, forged, header([("roles", "Reader")]), "%%%"):
        assert authorize_write(sent, role="Deployer.Write", auth_enabled=False) == "function key"


def test_behind_app_service_authentication_a_write_needs_a_principal():
    with pytest.raises(Refused) as refused:
        authorize_write(None, role="Deployer.Write", auth_enabled=True)
    assert problem_for(refused.value).status == 401 and "sign in" in refused.value.detail


def test_roles_and_name_are_read_from_the_claims():
    sent = header([("name", "Ana"), ("preferred_username", "ana@example.com"), ("roles", "Deployer.Write")])
    assert principal_from(sent).roles == {"Deployer.Write"}
    assert authorize_write(sent, role="Deployer.Write", auth_enabled=True) == "ana@example.com"


def test_roles_come_only_from_the_roles_claim_whatever_role_typ_names():
    sent = header([("r", "Deployer.Write"), ("n", "pipeline")], role_typ="r", name_typ="n")
    assert principal_from(sent).roles == frozenset() and principal_from(sent).name == "pipeline"
    with pytest.raises(Refused) as refused:
        authorize_write(sent, role="Deployer.Write", auth_enabled=True)
    assert problem_for(refused.value).status == 403


def test_a_caller_without_the_role_is_refused_with_what_to_do():
    sent = header([("preferred_username", "bob"), ("roles", "Reader")])
    with pytest.raises(Refused) as refused:
        authorize_write(sent, role="Deployer.Write", auth_enabled=True)
    problem = problem_for(refused.value)
    assert problem.status == 403 and problem.extra["required_role"] == "Deployer.Write"
    assert "bob" in problem.detail and "Users and groups" in problem.detail


@pytest.mark.parametrize("bad", ["%%%", base64.b64encode(b"not json").decode(), header([])[:-4] + "AAAA"])
def test_an_unreadable_principal_is_refused(bad):
    with pytest.raises(Refused) as refused:
        principal_from(bad)
    assert problem_for(refused.value).status == 401


def test_the_write_role_is_an_optional_app_setting_that_azure_sets():
    assert Settings.from_env({}).write_role == "Deployer.Write"
    assert Settings.from_env({"DEPLOYER_WRITE_ROLE": " "}).write_role == "Deployer.Write"
    assert Settings.from_env({"DEPLOYER_WRITE_ROLE": "Agents.Deploy"}).write_role == "Agents.Deploy"
    assert "DEPLOYER_WRITE_ROLE" in AZURE_SETTINGS


def test_app_service_authentication_is_known_from_the_platform_setting():
    assert not Settings.from_env({}).auth_enabled
    assert not Settings.from_env({"WEBSITE_AUTH_ENABLED": "False"}).auth_enabled
    assert Settings.from_env({"WEBSITE_AUTH_ENABLED": "True"}).auth_enabled
    assert "WEBSITE_AUTH_ENABLED" not in AZURE_SETTINGS  # the platform sets it, never infra
