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


def test_no_header_means_no_caller_to_check():
    assert principal_from(None) is None
    assert authorize_write(None, "Deployer.Write") is None


def test_roles_and_name_are_read_from_the_claims():
    principal = principal_from(
        header([("name", "Ana"), ("preferred_username", "ana@example.com"), ("roles", "Deployer.Write")])
    )
    assert principal.roles == {"Deployer.Write"}
    assert authorize_write(principal, "Deployer.Write") == "ana@example.com"


def test_the_role_and_name_claim_types_named_by_the_principal_are_used():
    principal = principal_from(header([("r", "Ops"), ("n", "pipeline")], role_typ="r", name_typ="n"))
    assert principal.roles == {"Ops"} and principal.name == "pipeline"


def test_a_caller_without_the_role_is_refused_with_what_to_do():
    principal = principal_from(header([("preferred_username", "bob"), ("roles", "Reader")]))
    with pytest.raises(Refused) as refused:
        authorize_write(principal, "Deployer.Write")
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
