// Role assignments inside the deployer's resource group made by the azd deployment (main.bicep).
// Each one says why it exists and why it is scoped where it is; none is wider than the resource
// that needs it. The system topic's dead-letter role is in rbac-deadletter.bicep (deployed with
// infra/external.bicep, once the topic and its identity exist).
//
// Built-in role definition ids (the same in every subscription):
//   Storage Blob Data Owner         b7e6dc6d-f1e8-4753-8033-0f276bb0955b
//   Storage Table Data Contributor  0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3
//   Monitoring Metrics Publisher    3913510d-42f4-4e42-8a64-420c390055eb
//   Key Vault Secrets User          4633458b-17de-408a-b874-0445c86b69e6
//   Key Vault Secrets Officer       b86a8fe4-44ce-4948-aee5-eccb2c155cd7
// Not assigned, on purpose: Storage Queue Data Contributor (974c5e8b-...): no queue trigger or
// queue binding, and AzureWebJobsStorage is configured for blobs only.

@description('Principal id of the Function App\'s user-assigned identity.')
param appPrincipalId string

param storageAccountName string
param deploymentsTableName string

param appInsightsName string
param keyVaultName string

@description('Principal that may write the webhook secrets (the person or CI running azd). Empty: no grant.')
param secretsOfficerPrincipalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param secretsOfficerPrincipalType string = 'User'

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
}

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' existing = {
  parent: storageAccount
  name: 'default'
}

resource deploymentsTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' existing = {
  parent: tableService
  name: deploymentsTableName
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

// Storage Blob Data Owner for the app identity on the storage account: the Functions host's
// identity-based AzureWebJobsStorage (keys, timer schedule status, singleton blob leases) is
// documented to need Blob Data Owner, the role the azd Flex Consumption templates grant too; Flex
// Consumption also reads the code package from the deployment container with this identity.
// Account scope because the host creates its own containers (azure-webjobs-hosts,
// azure-webjobs-secrets) at first start.
resource appBlobDataOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storageAccount.id, appPrincipalId, roles.storageBlobDataOwner)
  scope: storageAccount
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    description: 'agent-deployer host storage (AzureWebJobsStorage) and Flex Consumption code package'
  }
}

// Storage Table Data Contributor for the app identity on the deployments table only (not the
// account): the deployer reads and writes its own entities there (DEPLOYER_TABLE_ENDPOINT /
// DEPLOYER_TABLE_NAME) and needs no other table.
resource appTableDataContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deploymentsTable.id, appPrincipalId, roles.storageTableDataContributor)
  scope: deploymentsTable
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    description: 'agent-deployer deployment tracking table'
  }
}

// Monitoring Metrics Publisher for the app identity on the Application Insights component: local
// auth is disabled there, so telemetry is accepted only from Entra principals with this role
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING names the identity). Component scope, not workspace.
resource appMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, appPrincipalId, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    description: 'agent-deployer telemetry with Entra ID auth'
  }
}

// Key Vault Secrets User for the app identity on the vault: the platform resolves the webhook
// secret app settings (@Microsoft.KeyVault references) with this identity. Read-only, secrets only
// (no keys or certificates); vault scope because the vault holds nothing else.
resource appKeyVaultSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, appPrincipalId, roles.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    description: 'agent-deployer webhook secret references'
  }
}

// Key Vault Secrets Officer for the person (or CI principal) running azd, on the vault: the
// postprovision hook creates missing webhook secrets and people rotate them. Secrets only, no
// access to keys/certificates or to role assignments. Skipped when principalId is empty.
resource operatorKeyVaultSecretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(secretsOfficerPrincipalId)) {
  name: guid(keyVault.id, secretsOfficerPrincipalId, roles.keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    principalId: secretsOfficerPrincipalId
    principalType: secretsOfficerPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    description: 'agent-deployer operator: create and rotate webhook secrets'
  }
}
