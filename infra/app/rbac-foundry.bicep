// Role assignment on the Foundry project (deployed into the Foundry account's resource group).

@description('Principal id of the Function App\'s user-assigned identity.')
param appPrincipalId string

param foundryAccountName string
param foundryProjectName string

@description('Role definition id of Azure AI Project Manager (Foundry Project Manager).')
param projectManagerRoleId string

resource foundryAccount 'Microsoft.CognitiveServices/accounts@2025-06-01' existing = {
  name: foundryAccountName
}

resource foundryProject 'Microsoft.CognitiveServices/accounts/projects@2025-06-01' existing = {
  parent: foundryAccount
  name: foundryProjectName
}

// Azure AI Project Manager for the app identity on the Foundry project (not the account): the
// deploy-a-hosted-agent guide requires it at project scope to create hosted-agent versions, and it
// is the role that may grant Azure AI User to the agent identity the platform creates for each
// version (a condition in the role limits the grants it can make to that role). Azure AI User
// alone could create agents but not give their identities access, so the agents would fail at
// runtime.
resource appProjectManager 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(foundryProject.id, appPrincipalId, projectManagerRoleId)
  scope: foundryProject
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', projectManagerRoleId)
    description: 'agent-deployer: create hosted-agent versions and grant their identities Azure AI User'
  }
}
