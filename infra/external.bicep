// What agent-deployer needs OUTSIDE its own resource group: deployed by the azd postprovision hook
// (scripts/post-provision.sh) as a separate subscription deployment, never by main.bicep, because
// `azd down` deletes every resource group the azd deployment put anything into
// (Azure/azure-dev#2916): the registry's and the Foundry project's resource groups must not be
// among them. Re-running it is harmless (every resource is a PUT of the same state).
//
//   * the registry's Event Grid system topic (in the registry's resource group and region), with a
//     system-assigned identity for dead-lettering;
//   * Storage Blob Data Contributor for that identity on the dead-letter container (in the
//     deployer's group, so it goes with `azd down`);
//   * Azure AI Project Manager for the app identity on the Foundry project;
//   * image read for the app identity on the registry (the image check; on by default), and
//     optionally image pull for the project's identity.
//
// Every value comes from the azd environment (outputs of main.bicep); by hand:
//   az deployment sub create -l <region> -f infra/external.bicep -p appResourceGroupName=... ...

targetScope = 'subscription'

@description('The deployer\'s resource group (output AZURE_RESOURCE_GROUP).')
param appResourceGroupName string

@description('Principal id of the Function App\'s user-assigned identity (output AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID).')
param appPrincipalId string

param storageAccountName string
param deadLetterContainerName string = 'eventgrid-deadletter'

param registryName string
param registryResourceGroupName string

@description('Name of the registry\'s system topic (output REGISTRY_EVENTS_TOPIC_NAME).')
param systemTopicName string

param foundryResourceGroupName string
param foundryAccountName string
param foundryProjectName string

@description('Role definition id of Azure AI Project Manager (see main.bicep).')
param projectManagerRoleId string = 'eadc314b-1a2d-4efa-be10-5d325db5065e'

param grantProjectRegistryPull bool = false

@description('Grant the app identity image read on the registry (the image check before each version, registry_check).')
param grantDeployerRegistryPull bool = true

@allowed([
  'ContainerRegistryRepositoryReader'
  'AcrPull'
])
param deployerRegistryPullRole string = 'AcrPull'

@allowed([
  'ContainerRegistryRepositoryReader'
  'AcrPull'
])
param projectRegistryPullRole string = 'ContainerRegistryRepositoryReader'

@description('Tags for the system topic; never azd\'s own environment tag, so that azd never takes the topic for one of its resources, and no environment name either: several azd environments may share the topic.')
param tags object = {}

var token = take(uniqueString(subscription().id, appResourceGroupName), 8)

resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  scope: resourceGroup(registryResourceGroupName)
  name: registryName
}

resource foundryAccount 'Microsoft.CognitiveServices/accounts@2025-06-01' existing = {
  scope: resourceGroup(foundryResourceGroupName)
  name: foundryAccountName
}

resource foundryProject 'Microsoft.CognitiveServices/accounts/projects@2025-06-01' existing = {
  parent: foundryAccount
  name: foundryProjectName
}

// The registry's system topic. A system topic must live in its source's resource group and region,
// and a resource has at most one: an existing one is adopted when its name is given.
module registryEvents 'br/public:avm/res/event-grid/system-topic:0.6.1' = {
  name: 'agent-deployer-topic-${token}'
  scope: resourceGroup(registryResourceGroupName)
  params: {
    name: systemTopicName
    location: registry.location
    tags: tags
    source: registry.id
    topicType: 'Microsoft.ContainerRegistry.Registries'
    managedIdentities: {
      systemAssigned: true
    }
  }
}

module rbacDeadLetter 'app/rbac-deadletter.bicep' = {
  name: 'agent-deployer-deadletter-${token}'
  scope: resourceGroup(appResourceGroupName)
  params: {
    storageAccountName: storageAccountName
    deadLetterContainerName: deadLetterContainerName
    systemTopicPrincipalId: registryEvents.outputs.?systemAssignedMIPrincipalId ?? ''
  }
}

module rbacFoundry 'app/rbac-foundry.bicep' = {
  name: 'agent-deployer-foundry-${token}'
  scope: resourceGroup(foundryResourceGroupName)
  params: {
    appPrincipalId: appPrincipalId
    foundryAccountName: foundryAccountName
    foundryProjectName: foundryProjectName
    projectManagerRoleId: projectManagerRoleId
  }
}

module rbacRegistry 'app/rbac-registry.bicep' = if (grantProjectRegistryPull || grantDeployerRegistryPull) {
  name: 'agent-deployer-pull-${token}'
  scope: resourceGroup(registryResourceGroupName)
  params: {
    registryName: registryName
    appPrincipalId: grantDeployerRegistryPull ? appPrincipalId : ''
    appPullRole: deployerRegistryPullRole
    projectPrincipalId: grantProjectRegistryPull ? foundryProject.identity.principalId : ''
    pullRole: projectRegistryPullRole
  }
}

output systemTopicName string = registryEvents.outputs.name
