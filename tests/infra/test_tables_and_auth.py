"""The table the app uses exists before the app runs, and App Service Authentication is an option
that leaves Event Grid's system key path alone and names the app role the code requires."""

from __future__ import annotations

import ast
import json
import re

from tests.infra.bicep_text import INFRA, block_after, params
from tests.infra.rules import Layout

DEPLOYER = INFRA / "app" / "deployer.bicep"
MAIN = INFRA / "main.bicep"
CODE = {path: ast.parse(path.read_text()) for path in Layout.repository().code}
_TABLE_CALLS = {
    "create_table",
    "create_table_if_not_exists",
    "get_table_client",
    "TableClient",
    "from_table_url",
}


def _calls(name_set: set[str]) -> list[tuple[str, ast.Call]]:
    found = []
    for path, tree in CODE.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in name_set:
                    found.append((f"{path.name}:{node.lineno}", node))
    return found


def test_the_app_names_no_table_but_the_one_in_its_settings() -> None:
    # Every table the code opens comes from DEPLOYER_TABLE_NAME (deployments and the outbox share
    # it): a literal table name would be a table infra does not create.
    for where, call in _calls(_TABLE_CALLS):
        literal = [a for a in call.args[:1] if isinstance(a, ast.Constant)]
        assert not literal, f"{where}: table named in code; take it from the settings"


def test_infra_creates_the_table_the_app_setting_names_and_scopes_the_role_to_it() -> None:
    storage = (INFRA / "app" / "storage.bicep").read_text()
    assert re.search(
        r"resource deploymentsTable 'Microsoft\.Storage/storageAccounts/tableServices/tables@", storage
    )
    assert "name: deploymentsTableName" in storage
    assert "DEPLOYER_TABLE_NAME: deploymentsTableName" in DEPLOYER.read_text()
    main = MAIN.read_text()
    # The same parameter feeds the table, the setting and the table-scoped role.
    assert main.count("deploymentsTableName: deploymentsTableName") == 3
    assert "scope: deploymentsTable" in (INFRA / "app" / "rbac.bicep").read_text()


def test_the_app_never_creates_tables() -> None:
    assert [where for where, _ in _calls({"create_table", "create_table_if_not_exists"})] == []


def _auth_block() -> str:
    return block_after(DEPLOYER.read_text(), r"^resource authSettings ").body


def test_app_service_authentication_is_off_unless_a_client_id_is_given() -> None:
    text = DEPLOYER.read_text()
    assert "resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(authClientId))" in text
    assert params(text)["authClientId"] and params(MAIN.read_text())["authClientId"]
    assert "authClientId: authClientId" in MAIN.read_text()
    given = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert given["authClientId"]["value"] == "${AUTH_CLIENT_ID=}"


def test_app_service_authentication_requires_a_token_except_for_event_grid() -> None:
    body = _auth_block()
    assert "name: 'authsettingsV2'" in body
    assert "requireAuthentication: true" in body
    assert "unauthenticatedClientAction: 'Return401'" in body
    excluded = block_after(body, r"excludedPaths\s*:").body
    assert re.findall(r"'([^']+)'", excluded) == ["/runtime/webhooks/eventgrid"]
    assert "clientId: authClientId" in body
    assert "'api://${authClientId}'" in body


def test_the_app_role_is_the_one_the_code_requires() -> None:
    defaults = [
        node.value.value
        for tree in CODE.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "DEFAULT_WRITE_ROLE" for t in node.targets)
        and isinstance(node.value, ast.Constant)
    ]
    assert defaults == ["Deployer.Write"]
    roles = json.loads((INFRA / "auth" / "app-roles.json").read_text())
    assert [role["value"] for role in roles] == defaults
    assert "param writeRole string = 'Deployer.Write'" in DEPLOYER.read_text()


def test_the_checkov_auth_skip_points_at_the_option() -> None:
    text = DEPLOYER.read_text()
    skip = re.search(
        r"checkov:skip=CKV_AZURE_13:(.*)", block_after(text, r"^resource functionAppSettings ").body
    )
    assert skip and "authsettingsV2" in skip.group(1) and "authClientId" in skip.group(1)
