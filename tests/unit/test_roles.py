"""The pure part of the runtime-role grant: names, requests, retry decisions and the config check."""

import uuid

import pytest

from deployer.config.parser import ConfigError, parse_config
from deployer.config.settings import Settings, SettingsError
from deployer.domain import roles
from deployer.domain.roles import RETRY_FOR_S, RoleGrant
from tests.unit.conftest import PROJECT_ID

PRINCIPAL = "6f1c3d2e-8a4b-4c5d-9e6f-0a1b2c3d4e5f"
NOW = 1_800_000_000.0


def test_the_assignment_name_is_a_guid_fixed_by_scope_principal_and_role():
    name = roles.assignment_name(PROJECT_ID, PRINCIPAL, roles.AZURE_AI_USER_ROLE_ID)
    assert uuid.UUID(name)
    assert name == roles.assignment_name(PROJECT_ID.upper(), PRINCIPAL.upper(), roles.AZURE_AI_USER_ROLE_ID)
    others = {
        roles.assignment_name(PROJECT_ID + "2", PRINCIPAL, roles.AZURE_AI_USER_ROLE_ID),
        roles.assignment_name(PROJECT_ID, str(uuid.uuid4()), roles.AZURE_AI_USER_ROLE_ID),
        roles.assignment_name(PROJECT_ID, PRINCIPAL, str(uuid.uuid4())),
    }
    assert name not in others and len(others) == 3


def test_the_runtime_assignment_is_azure_ai_user_of_the_projects_subscription_for_a_service_principal():
    assignment = roles.runtime_assignment(PROJECT_ID, PRINCIPAL, agent="support-bot")
    assert assignment.scope == PROJECT_ID and assignment.principal_id == PRINCIPAL
    assert assignment.role_definition_id == (
        "/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Authorization/"
        "roleDefinitions/53ca6127-db72-4b80-b1b0-d745d6d5456d"
    )
    assert assignment.principal_type == "ServicePrincipal" and "support-bot" in (assignment.description or "")


def test_made_now_is_granted_and_found_already_is_already_present():
    assert roles.after_success(PRINCIPAL, None, created=True).status == "granted"
    present = roles.after_success(PRINCIPAL, RoleGrant(status="pending", attempts=2), created=False)
    assert present.status == "already_present" and present.attempts == 3 and present.settled


def test_principal_not_found_is_retried_until_the_retry_window_closes():
    def attempt(previous, now):
        return roles.after_error(
            PRINCIPAL, previous, code="PrincipalNotFound", message="replicating", status_code=400, now=now
        )

    first = attempt(None, NOW)
    second = attempt(first, NOW + 30)
    last = attempt(second, NOW + RETRY_FOR_S)
    assert (first.status, second.status, last.status) == ("pending", "pending", "failed")
    assert second.since == NOW and second.attempts == 2 and last.attempts == 3
    assert last.error_code == "PrincipalNotFound" and not last.settled


@pytest.mark.parametrize(
    ("code", "status_code", "outcome"),
    [
        ("AuthorizationFailed", 403, "failed"),
        ("RoleDefinitionDoesNotExist", 400, "failed"),
        ("InvalidPrincipalId", 400, "failed"),
        ("TooManyRequests", 429, "pending"),
        ("InternalServerError", 500, "pending"),
        ("ServiceUnreachable", None, "pending"),
    ],
)
def test_refusals_fail_at_once_and_throttling_or_outages_are_retried(code, status_code, outcome):
    grant = roles.after_error(PRINCIPAL, None, code=code, message="m", status_code=status_code, now=NOW)
    assert grant.status == outcome and grant.error_code == code


def test_a_version_without_identity_waits_while_creating_and_fails_once_active_for_too_long():
    creating = roles.without_identity(None, version_active=False, now=NOW)
    assert creating == RoleGrant(status="pending")
    active = roles.without_identity(creating, version_active=True, now=NOW + 60)
    assert active.status == "pending" and active.since == NOW + 60
    assert roles.without_identity(active, version_active=True, now=NOW + 61) == active
    expired = roles.without_identity(active, version_active=True, now=NOW + 60 + RETRY_FOR_S)
    assert expired.status == "failed" and expired.error_code == "IdentityMissing"


def test_the_grant_round_trips_through_its_json():
    grant = RoleGrant(
        status="pending", principal_id=PRINCIPAL, attempts=2, since=NOW, error_code="X", error_message="y"
    )
    assert grant.to_json()["error"] == {"code": "X", "message": "y"}
    assert RoleGrant.from_json(grant.to_json()) == grant
    assert RoleGrant.from_json(RoleGrant(status="skipped").to_json()) == RoleGrant(status="skipped")


def _config(top=None, **agent):
    raw = {"registries": ["r.azurecr.io"], **(top or {})}
    raw["agents"] = [{"name": "bot", "repository": "agents/bot", **agent}]
    return parse_config(raw, {})


def test_config_check_refuses_the_grant_without_a_project_resource_id_and_says_where_to_find_it():
    with pytest.raises(ConfigError) as caught:
        _config()
    [problem] = caught.value.problems
    assert problem.startswith("agents[0].project_resource_id: required while grant_runtime_role is on")
    assert (
        "Properties" in problem and "az resource show" in problem and "grant_runtime_role: false" in problem
    )


def test_the_project_resource_id_is_global_or_per_agent_and_the_grant_can_be_turned_off():
    assert _config({"project_resource_id": PROJECT_ID}).agents[0].project_resource_id == PROJECT_ID
    other = PROJECT_ID.replace("/projects/p", "/projects/q")
    assert (
        _config({"project_resource_id": PROJECT_ID}, project_resource_id=other).agents[0].project_resource_id
        == other
    )
    off = _config(grant_runtime_role=False).agents[0]
    assert off.grant_runtime_role is False and off.project_resource_id is None
    assert _config({"grant_runtime_role": False}).agents[0].grant_runtime_role is False
    assert _config({"project_resource_id": PROJECT_ID}).agents[0].grant_runtime_role is True


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "project_resource_id",
            "/subscriptions/x/resourceGroups/rg",
            "is not the Foundry project's ARM resource id",
        ),
        ("grant_runtime_role", "yes", "agents[0].grant_runtime_role: must be true or false"),
    ],
)
def test_a_malformed_runtime_role_field_is_named(field, value, message):
    with pytest.raises(ConfigError) as caught:
        _config({"project_resource_id": PROJECT_ID}, **{field: value})
    assert message in "\n".join(caught.value.problems)


def test_the_arm_endpoint_is_a_setting_with_the_public_cloud_as_default():
    assert Settings.from_env({}).arm_endpoint == "https://management.azure.com"
    assert (
        Settings.from_env({"ARM_ENDPOINT": "https://127.0.0.1:8444/"}).arm_endpoint
        == "https://127.0.0.1:8444"
    )
    with pytest.raises(SettingsError, match="ARM_ENDPOINT must be an https:// URL"):
        Settings.from_env({"ARM_ENDPOINT": "http://127.0.0.1:8444"})
