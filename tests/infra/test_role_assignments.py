"""Every role assignment is commented with why, uses a known built-in role, and none is broad."""

from __future__ import annotations

import re

import pytest

from tests.infra.bicep_text import INFRA, bicep_files, resources

# Built-in role definition ids used by infra/ (the same in every subscription).
KNOWN_ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "Storage Blob Data Contributor",
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "Storage Table Data Contributor",
    "3913510d-42f4-4e42-8a64-420c390055eb": "Monitoring Metrics Publisher",
    "4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
    "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": "Key Vault Secrets Officer",
    "eadc314b-1a2d-4efa-be10-5d325db5065e": "Azure AI Project Manager",
    "b93aa761-3e63-49ed-ac28-beffa264f7ac": "Container Registry Repository Reader",
    "7f951dda-4ed3-4680-a7ca-43fe172d538d": "AcrPull",
}
# Roles no identity here should ever get.
BROAD_ROLES = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168": "Role Based Access Control Administrator",
    "00482a5a-887f-4fb3-b363-3b7fe8e74483": "Key Vault Administrator",
}
GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

ASSIGNMENTS = [
    (path, symbol, line)
    for path in bicep_files()
    for symbol, line in resources(path.read_text(), "Microsoft.Authorization/roleAssignments@")
]


def test_there_are_role_assignments() -> None:
    names = {symbol for _, symbol, _ in ASSIGNMENTS}
    assert {
        "appBlobDataOwner",
        "appTableDataContributor",
        "appMetricsPublisher",
        "appKeyVaultSecretsUser",
        "appProjectManager",
        "systemTopicDeadLetterWriter",
    } <= names


@pytest.mark.parametrize(("path", "symbol", "line"), ASSIGNMENTS, ids=lambda v: getattr(v, "name", str(v)))
def test_each_role_assignment_is_commented(path, symbol, line) -> None:
    lines = path.read_text().splitlines()
    comment: list[str] = []
    i = line - 2
    while i >= 0 and lines[i].lstrip().startswith("//"):
        comment.insert(0, lines[i].lstrip()[2:].strip())
        i -= 1
    text = " ".join(comment)
    where = f"{path.relative_to(INFRA)}:{line} {symbol}"
    assert len(text) >= 80, f"{where}: needs a comment saying which role, for whom and why"
    assert any(name in text for name in KNOWN_ROLES.values()), f"{where}: the comment names no role"
    assert re.search(r"\b(on|for)\b", text), f"{where}: say for whom and on what scope"


def test_role_ids_are_known_built_in_roles_named_where_used() -> None:
    for path in bicep_files():
        text = path.read_text()
        for guid in set(GUID.findall(text)):
            assert guid not in BROAD_ROLES, f"{path.name}: {BROAD_ROLES[guid]} is never needed here"
            assert guid in KNOWN_ROLES, f"{path.name}: unknown role id {guid}"
            assert KNOWN_ROLES[guid] in text, f"{path.name}: {guid} should be named ({KNOWN_ROLES[guid]})"


def test_assignments_are_made_only_in_the_commented_rbac_modules() -> None:
    # Role assignments hidden in module parameters (AVM roleAssignments) would escape the comments.
    for path in bicep_files():
        assert not re.search(r"^\s*roleAssignments\s*:", path.read_text(), re.M), path.name
    assert {path.name for path, _, _ in ASSIGNMENTS} <= {
        "rbac.bicep",
        "rbac-deadletter.bicep",
        "rbac-foundry.bicep",
        "rbac-registry.bicep",
    }


def test_assignments_name_principal_type_and_stable_names() -> None:
    for path in {p for p, _, _ in ASSIGNMENTS}:
        text = path.read_text()
        count = len(resources(text, "Microsoft.Authorization/roleAssignments@"))
        assert len(re.findall(r"^\s+principalType:", text, re.M)) >= count, path.name
        assert len(re.findall(r"^\s+name: guid\(", text, re.M)) >= count, path.name
