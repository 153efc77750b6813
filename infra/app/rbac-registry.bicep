// Optional role assignment on the container registry (deployed into the registry's resource group).

param registryName string

@description('Principal id of the Foundry project\'s system-assigned managed identity.')
param projectPrincipalId string

@allowed([
  'ContainerRegistryRepositoryReader'
  'AcrPull'
])
param pullRole string = 'ContainerRegistryRepositoryReader'

// Container Registry Repository Reader b93aa761-3e63-49ed-ac28-beffa264f7ac (the guide's role);
// AcrPull 7f951dda-4ed3-4680-a7ca-43fe172d538d for registries in "RBAC Registry Permissions" mode.
var pullRoleIds = {
  ContainerRegistryRepositoryReader: 'b93aa761-3e63-49ed-ac28-beffa264f7ac'
  AcrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
}
var pullRoleId = pullRoleIds[pullRole]

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

// Container Registry Repository Reader (or AcrPull, see pullRole) for the Foundry project's managed
// identity on the registry, for image pulls: the platform pulls the hosted agent's image with that identity (the guide's "Configure container registry permissions";
// image_pull_failed otherwise). Read-only data-plane access; registry scope because the deployer
// may deploy any configured repository. To narrow it to some repositories, add an ABAC condition
// on the repository name (registries in ABAC mode only).
resource projectImagePull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, projectPrincipalId, pullRoleId)
  scope: registry
  properties: {
    principalId: projectPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', pullRoleId)
    description: 'Foundry project pulls hosted-agent images deployed by agent-deployer'
  }
}
