"""The ARM emulator against the real azure-mgmt-authorization client (and the deployer's adapter),
trusted only through REQUESTS_CA_BUNDLE."""

from __future__ import annotations

import dataclasses
import json
import signal
import socket
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization.v2022_04_01.models import RoleAssignmentCreateParameters

from deployer.adapters.arm_roles import AzureRoleAssignments
from deployer.adapters.credentials import StaticTokenCredential
from deployer.domain.errors import RoleAssignmentError
from deployer.domain.roles import AZURE_AI_USER_ROLE_ID, runtime_assignment
from localdev.arm_emulator import start_arm_emulator
from localdev.tls import ensure_local_tls

SUBSCRIPTION = "00000000-0000-0000-0000-000000000001"
PROJECT = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/"
    "Microsoft.CognitiveServices/accounts/foundry/projects/p"
)
ROLE = (
    f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{AZURE_AI_USER_ROLE_ID}"
)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return ensure_local_tls(tmp_path_factory.mktemp("arm-tls"))


@pytest.fixture(scope="module")
def arm(tls):
    with start_arm_emulator(tls=tls) as server:
        yield server


@pytest.fixture
def emulator(arm, tls, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_bundle))
    arm.state.reset()
    return arm


@pytest.fixture
def client(emulator):
    return AuthorizationManagementClient(
        StaticTokenCredential("test-token"), SUBSCRIPTION, base_url=emulator.url, retry_total=0
    )


def params(principal, role=ROLE):
    return RoleAssignmentCreateParameters(
        role_definition_id=role, principal_id=principal, principal_type="ServicePrincipal"
    )


def raw(emulator, tls, method, path, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{emulator.url}{path}", data=data, method=method, headers=headers or {})
    context = ssl.create_default_context(cafile=str(tls.ca_bundle))
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None, dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


def test_the_sdk_creates_reads_and_deletes_an_assignment_as_arm_answers(client, emulator):
    principal, name = str(uuid.uuid4()), str(uuid.uuid4())
    made = client.role_assignments.create(PROJECT, name, params(principal))
    assert (made.name, made.principal_id, made.scope, made.role_definition_id) == (
        name,
        principal,
        PROJECT,
        ROLE,
    )
    assert made.id == f"{PROJECT}/providers/Microsoft.Authorization/roleAssignments/{name}"
    assert made.type == "Microsoft.Authorization/roleAssignments" and made.created_on is not None
    assert client.role_assignments.get(PROJECT, name).principal_id == principal
    assert client.role_assignments.delete(PROJECT, name).name == name
    assert client.role_assignments.delete(PROJECT, name) is None  # 204: nothing to delete
    with pytest.raises(ResourceNotFoundError) as caught:
        client.role_assignments.get(PROJECT, name)
    assert caught.value.error.code == "RoleAssignmentNotFound"
    put, *_ = emulator.state.requests()
    assert (put["method"], put["path"], put["query"], put["status"]) == (
        "PUT",
        f"{PROJECT}/providers/Microsoft.Authorization/roleAssignments/{name}",
        {"api-version": "2022-04-01"},
        201,
    )
    assert put["body"] == {
        "properties": {
            "roleDefinitionId": ROLE,
            "principalId": principal,
            "principalType": "ServicePrincipal",
        }
    }
    assert put["headers"]["Authorization"] == "Bearer ***"


def test_the_same_assignment_put_again_under_its_name_succeeds_201_then_200(client, emulator):
    principal, name = str(uuid.uuid4()), str(uuid.uuid4())
    first = client.role_assignments.create(PROJECT, name, params(principal))
    again = client.role_assignments.create(PROJECT, name, params(principal))
    assert (again.name, again.principal_id, again.created_on) == (name, principal, first.created_on)
    assert [r["status"] for r in emulator.state.requests()] == [201, 200]
    assert len(emulator.state.assignments()) == 1


def test_the_same_principal_role_and_scope_under_another_name_is_a_409_role_assignment_exists(client):
    principal, name = str(uuid.uuid4()), str(uuid.uuid4())
    client.role_assignments.create(PROJECT, name, params(principal))
    with pytest.raises(ResourceExistsError) as caught:
        client.role_assignments.create(PROJECT, str(uuid.uuid4()), params(principal))
    assert caught.value.error.code == "RoleAssignmentExists"
    with pytest.raises(ResourceExistsError) as caught:
        client.role_assignments.create(PROJECT, name, params(str(uuid.uuid4())))
    assert caught.value.error.code == "RoleAssignmentUpdateNotPermitted"


@pytest.mark.parametrize(
    ("scope", "code"),
    [
        (PROJECT.replace("projects/p", "projects/q"), "ResourceNotFound"),
        (PROJECT.replace("resourceGroups/rg", "resourceGroups/elsewhere"), "ResourceGroupNotFound"),
        (f"/subscriptions/{uuid.uuid4()}", "SubscriptionNotFound"),
    ],
    ids=["project", "resource-group", "subscription"],
)
def test_a_scope_that_does_not_exist_is_refused_with_404(client, emulator, scope, code):
    emulator.state.update_settings({"scopes": [PROJECT]})
    with pytest.raises(ResourceNotFoundError) as caught:
        client.role_assignments.create(scope, str(uuid.uuid4()), params(str(uuid.uuid4())))
    assert caught.value.error.code == code
    resource_group = PROJECT.split("/providers/", maxsplit=1)[0]
    assert client.role_assignments.create(resource_group, str(uuid.uuid4()), params(str(uuid.uuid4())))
    assert [a["properties"]["scope"] for a in emulator.state.assignments()] == [resource_group]


def test_settings_given_at_start_are_what_reset_goes_back_to(tls):
    with start_arm_emulator(tls=tls, settings={"scopes": [PROJECT]}) as server:
        server.state.update_settings({"scopes": None})
        server.state.reset()
        assert server.state.settings()["scopes"] == [PROJECT]


def test_a_body_nested_a_thousand_deep_is_a_400(emulator, tls):
    path = (
        f"{PROJECT}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}?api-version=2022-04-01"
    )
    url = f"{emulator.url}{path}"
    request = urllib.request.Request(
        url, data=b"[" * 1000 + b"]" * 1000, method="PUT", headers={"Authorization": "Bearer t"}
    )
    context = ssl.create_default_context(cafile=str(tls.ca_bundle))
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, context=context, timeout=10)
    assert caught.value.code == 400
    assert json.loads(caught.value.read())["error"]["code"] == "InvalidRequestContent"


def test_a_new_principal_is_not_found_for_the_configured_number_of_tries(client, emulator):
    emulator.state.update_settings({"principal_not_found": 2})
    principal, name = str(uuid.uuid4()), str(uuid.uuid4())
    for _ in range(2):
        with pytest.raises(HttpResponseError) as caught:
            client.role_assignments.create(PROJECT, name, params(principal))
        assert caught.value.status_code == 400 and caught.value.error.code == "PrincipalNotFound"
        assert "replication delay" in caught.value.error.message
    assert client.role_assignments.create(PROJECT, name, params(principal)).principal_id == principal
    assert [r["status"] for r in emulator.state.requests()] == [400, 400, 201]


def test_a_forbidden_caller_gets_authorization_failed(client, emulator):
    emulator.state.update_settings({"forbidden": True})
    with pytest.raises(HttpResponseError) as caught:
        client.role_assignments.create(PROJECT, str(uuid.uuid4()), params(str(uuid.uuid4())))
    assert caught.value.status_code == 403 and caught.value.error.code == "AuthorizationFailed"
    assert "Microsoft.Authorization/roleAssignments/write" in caught.value.error.message
    assert emulator.state.assignments() == []


@pytest.mark.parametrize(
    ("name", "role", "principal", "code"),
    [
        ("not-a-guid", ROLE, str(uuid.uuid4()), "InvalidRoleAssignmentId"),
        (
            str(uuid.uuid4()),
            ROLE.replace(AZURE_AI_USER_ROLE_ID, str(uuid.uuid4())),
            str(uuid.uuid4()),
            "RoleDefinitionDoesNotExist",
        ),
        (str(uuid.uuid4()), "Azure AI User", str(uuid.uuid4()), "InvalidRoleDefinitionId"),
        (
            str(uuid.uuid4()),
            ROLE.replace(SUBSCRIPTION, str(uuid.uuid4())),
            str(uuid.uuid4()),
            "InvalidRoleDefinitionId",
        ),
        (str(uuid.uuid4()), ROLE, "someone", "InvalidPrincipalId"),
    ],
    ids=[
        "name-not-a-guid",
        "unknown-role",
        "role-by-name",
        "role-of-another-subscription",
        "principal-not-a-guid",
    ],
)
def test_the_request_body_is_checked_as_arm_does(client, name, role, principal, code):
    with pytest.raises(HttpResponseError) as caught:
        client.role_assignments.create(PROJECT, name, params(principal, role))
    assert caught.value.status_code == 400 and caught.value.error.code == code


def test_a_bearer_token_and_an_api_version_are_required(emulator, tls):
    path = f"{PROJECT}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}"
    status, body, headers = raw(emulator, tls, "GET", f"{path}?api-version=2022-04-01")
    assert status == 401 and body["error"]["code"] == "AuthenticationFailed"
    assert headers["WWW-Authenticate"].startswith("Bearer ")
    status, body, _ = raw(emulator, tls, "GET", path, headers={"Authorization": "Bearer t"})
    assert status == 400 and body["error"]["code"] == "MissingApiVersionParameter"


def test_the_admin_api_sets_lists_and_resets(emulator, tls):
    status, settings, _ = raw(emulator, tls, "PUT", "/_emulator/settings", {"principal_not_found": 3})
    assert status == 200 and settings == {"principal_not_found": 3, "forbidden": False, "scopes": None}
    status, body, _ = raw(emulator, tls, "PUT", "/_emulator/settings", {"colour": "blue"})
    assert status == 400 and "colour" in body["error"]["message"]
    assert raw(emulator, tls, "POST", "/_emulator/reset")[0] == 200
    assert raw(emulator, tls, "GET", "/_emulator/settings")[1] == {
        "principal_not_found": 0,
        "forbidden": False,
        "scopes": None,
    }
    assert raw(emulator, tls, "GET", "/_emulator/requests")[1] == {"requests": []}
    assert raw(emulator, tls, "GET", "/_emulator/assignments")[1] == {"assignments": []}


def test_the_adapter_reports_made_already_there_and_refused(emulator):
    roles = AzureRoleAssignments(StaticTokenCredential("t"), endpoint=emulator.url, retry_total=0)
    principal = str(uuid.uuid4())
    assignment = runtime_assignment(PROJECT, principal, agent="bot")
    assert roles.assign(assignment) is True
    # ARM answers the same PUT again with 200, which the SDK does not tell apart from a 201.
    assert roles.assign(assignment) is True
    assert roles.assign(dataclasses.replace(assignment, name=str(uuid.uuid4()))) is False
    assert [r["status"] for r in emulator.state.requests()] == [201, 200, 409]
    [held] = emulator.state.assignments()
    assert held["name"] == assignment.name and held["properties"]["description"] == assignment.description
    emulator.state.update_settings({"forbidden": True})
    with pytest.raises(RoleAssignmentError) as caught:
        roles.assign(runtime_assignment(PROJECT, str(uuid.uuid4()), agent="bot"))
    assert (caught.value.code, caught.value.status_code) == ("AuthorizationFailed", 403)


def test_the_adapter_reports_an_unreachable_arm_as_retryable(tls, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_bundle))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    roles = AzureRoleAssignments(
        StaticTokenCredential("t"), endpoint=f"https://127.0.0.1:{port}", retry_total=0
    )
    with pytest.raises(RoleAssignmentError) as caught:
        roles.assign(runtime_assignment(PROJECT, str(uuid.uuid4()), agent="bot"))
    assert (caught.value.code, caught.value.status_code) == ("ServiceUnreachable", None)


def test_the_command_line_prints_ready_and_stops_on_sigterm(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "localdev.arm_emulator", "--port", "0", "--tls-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("READY https://127.0.0.1:")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
