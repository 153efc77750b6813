"""What to do about a platform error: the remediation column of the platform guide's
troubleshooting table, keyed by error code. Pure."""

from __future__ import annotations

#: The platform error code of a project endpoint whose project does not exist.
PROJECT_NOT_FOUND = "ProjectNotFound"

HINTS: dict[str, str] = {
    "image_pull_failed": (
        "Verify the image URI is correct and the project managed identity has Container Registry "
        "Repository Reader on the ACR."
    ),
    "SubscriptionIsNotRegistered": "Register the subscription provider.",
    "InvalidAcrPullCredentials": "Fix managed identity or registry RBAC.",
    "UnauthorizedAcrPull": "Provide correct credentials or identity.",
    "AcrImageNotFound": "Correct image name/tag or publish image.",
    "RegistryNotFound": "Fix registry DNS or network reachability.",
    "registry_unauthorized": (
        "Give the deployer's managed identity AcrPull on the registry (infra/ assigns it on the "
        "registry it is deployed with), or set registry_check: false for this agent."
    ),
    "runtime_role_failed": (
        "The version's agent identity needs Azure AI User on the Foundry project, and the deployer's "
        "identity must be allowed to assign it: give the deployer Azure AI Project Manager (or Owner / "
        "User Access Administrator) on the project, and check project_resource_id; then deploy again."
    ),
    PROJECT_NOT_FOUND: (
        "The project endpoint names a project that does not exist: copy the endpoint from the "
        "project's overview in the Foundry portal (https://<resource>.services.ai.azure.com/api/"
        "projects/<project>) into FOUNDRY_PROJECT_ENDPOINT or the agent's project_endpoint."
    ),
    "timed_out": (
        "The version did not leave 'creating' within the agent's timeout_s. Provisioning usually "
        "takes under a minute: check the image size, that it is linux/amd64, and the version's "
        "logs in the Foundry portal."
    ),
}


#: Foundry refused the deployer itself (401/403) for longer than a role takes to propagate.
REFUSED_HINT = (
    "Foundry refused the deployer's identity for several minutes: give it Azure AI Project Manager "
    "on the Foundry project (see 'Configuration' in the README; infra/ assigns it) and check its "
    "credential, then deploy again."
)


def hint_for(code: str, status_code: int | None = None) -> str | None:
    """The remediation for ``code``; 401/403 name the deployer's role; 5xx errors go to
    Microsoft support, as the guide says."""
    if code in HINTS:
        return HINTS[code]
    if status_code in (401, 403):
        return REFUSED_HINT
    if status_code is not None and status_code >= 500:
        return "The service failed (5xx): retry later, and contact Microsoft support if it persists."
    return None
