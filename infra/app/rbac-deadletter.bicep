// Role assignment for Event Grid dead-lettering (deployed into the deployer's resource group by
// infra/external.bicep, right after the system topic and its identity exist).
//
// Built-in role definition id: Storage Blob Data Contributor ba92f5b4-2d11-453d-a403-e96b0029c9fe

param storageAccountName string
param deadLetterContainerName string

@description('Principal id of the registry system topic\'s system-assigned identity.')
param systemTopicPrincipalId string

var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storageAccount 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' existing = {
  parent: storageAccount
  name: 'default'
}

resource deadLetterContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = {
  parent: blobService
  name: deadLetterContainerName
}

// Storage Blob Data Contributor for the registry system topic's identity on the dead-letter
// container only: Event Grid writes undeliverable events there (deadLetterWithResourceIdentity),
// and the account accepts no keys. Contributor, not Owner: it only writes blobs.
resource systemTopicDeadLetterWriter 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(deadLetterContainer.id, systemTopicPrincipalId, storageBlobDataContributor)
  scope: deadLetterContainer
  properties: {
    principalId: systemTopicPrincipalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    description: 'Event Grid dead-lettering of undeliverable registry events'
  }
}
