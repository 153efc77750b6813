// Role assignments on the container registry (deployed into the registry's resource group): image
// pull for the deployer's own identity (the image check before each version) and, optionally, for
// the Foundry project's identity (the platform's image pulls). An empty principal id: no grant.

param registryName string

@description('Principal id of the Function App\'s user-assigned identity; empty: no grant for it.')
param appPrincipalId string = ''

@description('Principal id of the Foundry project\'s system-assigned managed identity; empty: no grant for it.')
param projectPrincipalId string = ''

@allowed([
  'ContainerRegistryRepositoryReader'
  'AcrPull'
])
param appPullRole string = 'AcrPull'

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
var appPullRoleId = pullRoleIds[appPullRole]

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  name: registryName
}

// AcrPull (or Container Registry Repository Reader, see appPullRole) for the deployer's own identity
// on the registry: before each version is created it resolves the image's tag to a digest and reads
// its manifest (registry_check), so a missing image fails at once instead of in provisioning.
// Read-only data-plane access; registry scope because the deployer may deploy any repository.
resource appImageRead 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(appPrincipalId)) {
  name: guid(registry.id, appPrincipalId, appPullRoleId)
  scope: registry
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', appPullRoleId)
    description: 'agent-deployer checks images (tag to digest, manifest platforms) before deploying'
  }
}

// Container Registry Repository Reader (or AcrPull, see pullRole) for the Foundry project's managed
// identity on the registry, for image pulls: the platform pulls the hosted agent's image with that identity (the guide's "Configure container registry permissions";
// image_pull_failed otherwise). Read-only data-plane access; registry scope because the deployer
// may deploy any configured repository. To narrow it to some repositories, add an ABAC condition
// on the repository name (registries in ABAC mode only).
resource projectImagePull 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(projectPrincipalId)) {
  name: guid(registry.id, projectPrincipalId, pullRoleId)
  scope: registry
  properties: {
    principalId: projectPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', pullRoleId)
    description: 'Foundry project pulls hosted-agent images deployed by agent-deployer'
  }
}
