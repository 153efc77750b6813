// Key Vault for the webhook signing secrets, RBAC authorization only (no access policies).
//
// A plain resource rather than br/public:avm/res/key-vault/vault, so that checkov (infra/check.sh)
// sees its settings.

param name string
param location string = resourceGroup().location
param tags object = {}

@description('Purge protection; see the keyVaultPurgeProtection parameter of main.bicep.')
param enablePurgeProtection bool = false

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  // checkov:skip=CKV_AZURE_109: no virtual network in this design; Flex Consumption instances have no fixed outbound addresses to allow, and access is RBAC-only (Key Vault Secrets User for the app, Secrets Officer for the operator)
  // checkov:skip=CKV_AZURE_189: public endpoint kept for the same reason as CKV_AZURE_109
  // checkov:skip=CKV_AZURE_110: purge protection is the enablePurgeProtection parameter, off by default: the vault only holds re-issuable webhook secrets, and purge protection blocks azd down --purge and re-provisioning under the same name; turn it on for production
  // checkov:skip=CKV_AZURE_42: soft delete is on (7 days); the purge-protection half of this check is CKV_AZURE_110 (a parameter, see there)
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    // Key Vault refuses an explicit false: leave the property out unless it is turned on.
    enablePurgeProtection: enablePurgeProtection ? true : null
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

output name string = vault.name
output resourceId string = vault.id
output uri string = vault.properties.vaultUri
