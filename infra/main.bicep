// agent-deployer: what `azd up` provisions.
//
// Subscription scope, like the azd Flex Consumption templates. This deployment creates resources in
// the deployer's own resource group ONLY: `azd down` deletes every resource group the azd deployment
// put anything into (Azure/azure-dev#2916), and the registry's and the Foundry project's groups
// must never be among them. What lives elsewhere is deployed by the azd hooks as separate
// deployments that azd does not track:
//   * infra/external.bicep (postprovision, scripts/post-provision.sh): the registry's Event Grid
//     system topic, the Azure AI Project Manager grant on the Foundry project, the optional image-pull
//     grant on the registry, and the system topic's dead-letter role;
//   * infra/app/eventgrid-subscription.bicep (postdeploy, scripts/post-up.sh): the event
//     subscription to `on_image_pushed`, which can only be validated once the code is deployed.
//
// Azure Verified Modules (br/public:avm/...) are used, pinned, where nothing security-relevant is
// configured (identity, plan, Log Analytics, Application Insights; the system topic in
// external.bicep). `az bicep build` and `azd provision` fetch them from mcr.microsoft.com; the
// offline checks (infra/check.sh) parse the files without fetching anything. The storage account, Key Vault and Function App are plain
// resources in infra/app/ so that checkov, which cannot look inside registry modules, checks them.

targetScope = 'subscription'

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; used to derive a short unique token for resource names.')
param environmentName string

@minLength(1)
@description('Region for the deployer\'s resources. Must offer the Flex Consumption plan.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Name of the resource group to create. Empty: rg-<environmentName>.')
param resourceGroupName string = ''

@description('Object id of the person (or CI principal) running azd; granted Key Vault Secrets Officer so the postprovision hook can create the webhook secrets. Empty: no grant.')
param principalId string = ''

@description('Type of principalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

// ---------------------------------------------------------------------------------------------
// Existing resources the deployer works with
// ---------------------------------------------------------------------------------------------

@minLength(5)
@maxLength(50)
@description('Name of the existing Azure Container Registry whose ImagePushed events drive deployments.')
param registryName string

@minLength(1)
@description('Resource group of the container registry (same subscription).')
param registryResourceGroupName string

@description('Name of the registry\'s Event Grid system topic. A resource has at most one system topic: if the registry already has one, give its name here and it is adopted (a system-assigned identity is added for dead-lettering). Empty: evgt-<registryName>.')
param registrySystemTopicName string = ''

@minLength(1)
@description('Resource group of the Foundry (AI Services) account that holds the project (same subscription).')
param foundryResourceGroupName string

@minLength(2)
@description('Name of the Foundry (AI Services) account.')
param foundryAccountName string

@minLength(1)
@description('Name of the Foundry project the deployer creates hosted-agent versions in.')
param foundryProjectName string

@description('Project endpoint override. Empty: https://<account custom subdomain>.services.ai.azure.com/api/projects/<project>.')
param foundryProjectEndpoint string = ''

@description('Role definition id of "Azure AI Project Manager" (now also named "Foundry Project Manager"). The deploy-a-hosted-agent guide names the role but not its id; this value is the one used across public samples. Check it with: az role definition list --name "Azure AI Project Manager" --query [].name')
param azureAiProjectManagerRoleId string = 'eadc314b-1a2d-4efa-be10-5d325db5065e'

@description('Grant the Foundry project\'s managed identity image-pull rights on the registry (the guide\'s "Configure container registry permissions" step). Off by default: whoever ran the project setup may already have done it, and the grant needs Owner/RBAC Administrator on the registry.')
param grantProjectRegistryPull bool = false

@description('Client id of an Entra app registration with the Deployer.Write app role: turns on App Service Authentication in front of the app (infra/README.md, "Signing callers in"). Empty: off, function keys only.')
param authClientId string = ''

@description('Pull role for the project identity. ContainerRegistryRepositoryReader is the guide\'s choice and the only one honoured by registries in "RBAC Registry + ABAC Repository Permissions" mode; AcrPull is for registries still in "RBAC Registry Permissions" mode.')
@allowed([
  'ContainerRegistryRepositoryReader'
  'AcrPull'
])
param projectRegistryPullRole string = 'ContainerRegistryRepositoryReader'

@description('Grant the app identity image read on the registry: the image check before each version (registry_check) resolves tags and reads manifests with it. Needs Role Based Access Control Administrator or Owner on the registry; off: grant it by hand, or set registry_check: false.')
param grantDeployerRegistryPull bool = true

@description('Image read role for the app identity: AcrPull, or ContainerRegistryRepositoryReader for a registry in "RBAC Registry + ABAC Repository Permissions" mode.')
@allowed([
  'ContainerRegistryRepositoryReader'
  'AcrPull'
])
param deployerRegistryPullRole string = 'AcrPull'

// ---------------------------------------------------------------------------------------------
// The app's own settings (deployer/config/settings.py AZURE_SETTINGS)
// ---------------------------------------------------------------------------------------------

@description('DEPLOYER_CONFIG: path of the deployer config file inside the deployed package.')
param deployerConfigPath string = 'deployer.yaml'

@description('POLL_SCHEDULE: NCRONTAB (6 fields, seconds first) of the poll_deployments timer. Every 30 s by default in Azure: hosted-agent versions usually become active within a minute, and a tighter schedule keeps a Flex instance busy (and billed) around the clock.')
param pollSchedule string = '*/30 * * * * *'

@minValue(1)
@maxValue(64)
@description('POLL_CONCURRENCY: how many deployments one timer run checks at once.')
param pollConcurrency int = 8

@minValue(1)
@maxValue(600)
@description('POLL_BUDGET_S: seconds one timer run may spend; keep it below the schedule interval.')
param pollBudgetSeconds int = 20

@minLength(3)
@maxLength(63)
@description('DEPLOYER_TABLE_NAME: the Table Storage table that tracks deployments (letters and digits only).')
param deploymentsTableName string = 'deployments'

@description('Names of the app settings that hold webhook signing secrets (the \${NAME} references in the deployer config). Each becomes a Key Vault reference to the secret named like the setting, lower-case, "_" as "-" (WEBHOOK_SECRET -> webhook-secret). Setting names: letters, digits and "_".')
param webhookSecretSettingNames array = [
  'WEBHOOK_SECRET'
]

// ---------------------------------------------------------------------------------------------
// Flex Consumption sizing
// ---------------------------------------------------------------------------------------------

@description('Instance memory (MB). 2048 (1 vCPU) rather than 512 (0.25 vCPU): the Python worker imports azure-ai-projects and azure-identity on a cold start, and Event Grid gives the webhook 30 s to answer; the work itself is I/O-bound and small, so 4096 buys nothing.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Upper bound on instances (platform default 100). The deployer handles one event per image push, an HTTP API for people and a singleton timer, so 40 leaves room for a burst of pushes (Python runs one HTTP request per instance by default) while bounding cost and the fan-out onto the Foundry API and the table.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Key Vault purge protection. Off by default: the vault only holds webhook signing secrets that can be re-issued, and purge protection blocks `azd down --purge` and re-provisioning under the same name for the retention period. Turn on for production.')
param keyVaultPurgeProtection bool = false

@minValue(30)
@maxValue(730)
@description('Log Analytics retention (days).')
param logRetentionDays int = 30

@description('Storage redundancy. LRS: available in every Flex Consumption region and the cheapest; the account holds the code package (re-deployable), the dead letters and the deployments table. Choose ZRS or GZRS where the region offers it and the table\'s history matters to you.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSkuName string = 'Standard_LRS'

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}deployer-${resourceToken}'
var storageAccountName = '${abbrs.storageStorageAccounts}${resourceToken}'
var keyVaultName = '${abbrs.keyVaultVaults}${resourceToken}'
// Flex Consumption reads the code package from this container with the app's identity.
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
// Events Event Grid gives up on (after the retry policy of the subscription) land here.
var deadLetterContainerName = 'eventgrid-deadletter'
var systemTopicName = !empty(registrySystemTopicName) ? registrySystemTopicName : '${abbrs.eventGridSystemTopics}${registryName}'
var projectEndpoint = !empty(foundryProjectEndpoint) ? foundryProjectEndpoint : 'https://${foundryAccount.properties.customSubDomainName}.services.ai.azure.com/api/projects/${foundryProjectName}'

// ---------------------------------------------------------------------------------------------
// Existing resources (read, never deployed to: the endpoint, the project id and the login server)
// ---------------------------------------------------------------------------------------------

resource foundryAccount 'Microsoft.CognitiveServices/accounts@2025-06-01' existing = {
  scope: resourceGroup(foundryResourceGroupName)
  name: foundryAccountName
}

// Its id goes into the app settings (FOUNDRY_PROJECT_RESOURCE_ID, the config's project_resource_id).
resource foundryProject 'Microsoft.CognitiveServices/accounts/projects@2025-06-01' existing = {
  parent: foundryAccount
  name: foundryProjectName
}

// Its login server goes into the app settings (REGISTRY_LOGIN_SERVER, the config's registries).
resource registry 'Microsoft.ContainerRegistry/registries@2023-07-01' existing = {
  scope: resourceGroup(registryResourceGroupName)
  name: registryName
}

// ---------------------------------------------------------------------------------------------
// The deployer's resource group
// ---------------------------------------------------------------------------------------------

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// The one identity the app runs as: host storage, the deployments table, telemetry, Key Vault
// references and the Foundry project. User-assigned so its role assignments exist before the app.
module identity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}deployer-${resourceToken}'
    location: location
    tags: tags
  }
}

module appServicePlan 'br/public:avm/res/web/serverfarm:0.1.1' = {
  name: 'appserviceplan'
  scope: rg
  params: {
    name: '${abbrs.webServerFarms}${resourceToken}'
    sku: {
      name: 'FC1'
      tier: 'FlexConsumption'
    }
    reserved: true
    location: location
    tags: tags
  }
}

// Host storage (blobs), the code package, the deployments table and the dead-letter container.
module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: storageAccountName
    location: location
    tags: tags
    skuName: storageSkuName
    deploymentContainerName: deploymentContainerName
    deadLetterContainerName: deadLetterContainerName
    deploymentsTableName: deploymentsTableName
  }
}

module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.11.1' = {
  name: 'loganalytics'
  scope: rg
  params: {
    name: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    location: location
    tags: tags
    dataRetention: logRetentionDays
  }
}

// Local (instrumentation key) auth is off: the app sends telemetry with its identity
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING) and the Monitoring Metrics Publisher role.
module monitoring 'br/public:avm/res/insights/component:0.6.0' = {
  name: 'appinsights'
  scope: rg
  params: {
    name: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    workspaceResourceId: logAnalytics.outputs.resourceId
    disableLocalAuth: true
  }
}

// Webhook signing secrets.
module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: keyVaultName
    location: location
    tags: tags
    enablePurgeProtection: keyVaultPurgeProtection
  }
}

module deployer 'app/deployer.bicep' = {
  name: 'deployer'
  scope: rg
  params: {
    name: functionAppName
    location: location
    tags: tags
    serviceName: 'deployer'
    appServicePlanId: appServicePlan.outputs.resourceId
    identityId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.primaryBlobEndpoint
    deploymentContainerName: deploymentContainerName
    appInsightsName: monitoring.outputs.name
    keyVaultName: keyVault.outputs.name
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    deployerConfigPath: deployerConfigPath
    foundryProjectEndpoint: projectEndpoint
    pollSchedule: pollSchedule
    pollConcurrency: pollConcurrency
    pollBudgetSeconds: pollBudgetSeconds
    deploymentsTableName: deploymentsTableName
    webhookSecretSettingNames: webhookSecretSettingNames
    registryLoginServer: registry.properties.loginServer
    foundryProjectResourceId: foundryProject.id
    authClientId: authClientId
  }
}

// ---------------------------------------------------------------------------------------------
// Role assignments in this resource group (each commented where it is made)
// ---------------------------------------------------------------------------------------------

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    appPrincipalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    deploymentsTableName: deploymentsTableName
    appInsightsName: monitoring.outputs.name
    keyVaultName: keyVault.outputs.name
    secretsOfficerPrincipalId: principalId
    secretsOfficerPrincipalType: principalType
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs (azd stores them in the environment; the hooks read them)
// ---------------------------------------------------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = deployer.outputs.name
output AZURE_FUNCTION_APP_ID string = deployer.outputs.resourceId
output DEPLOYER_URL string = 'https://${deployer.outputs.defaultHostname}'
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_ACCOUNT_ID string = storage.outputs.resourceId
output DEADLETTER_CONTAINER_NAME string = deadLetterContainerName
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output WEBHOOK_SECRET_SETTING_NAMES string = join(webhookSecretSettingNames, ',')
output FOUNDRY_PROJECT_ENDPOINT string = projectEndpoint
// Read by the hooks (infra/external.bicep, infra/app/eventgrid-subscription.bicep).
output AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output REGISTRY_NAME string = registryName
output REGISTRY_RESOURCE_GROUP string = registryResourceGroupName
output REGISTRY_EVENTS_TOPIC_NAME string = systemTopicName
output FOUNDRY_RESOURCE_GROUP string = foundryResourceGroupName
output FOUNDRY_ACCOUNT_NAME string = foundryAccountName
output FOUNDRY_PROJECT_NAME string = foundryProjectName
output AZURE_AI_PROJECT_MANAGER_ROLE_ID string = azureAiProjectManagerRoleId
output GRANT_PROJECT_REGISTRY_PULL bool = grantProjectRegistryPull
output PROJECT_REGISTRY_PULL_ROLE string = projectRegistryPullRole
output GRANT_DEPLOYER_REGISTRY_PULL bool = grantDeployerRegistryPull
output DEPLOYER_REGISTRY_PULL_ROLE string = deployerRegistryPullRole
output EVENTGRID_FUNCTION_NAME string = 'on_image_pushed'
// One event subscription per azd environment, so that two environments fed by one registry do not
// replace each other's (the hooks create it after deploy and delete it before `azd down`).
output EVENTGRID_SUBSCRIPTION_NAME string = 'agent-deployer-${resourceToken}'
// What the deployed config refers to (app settings of the same names).
output REGISTRY_LOGIN_SERVER string = registry.properties.loginServer
output FOUNDRY_PROJECT_RESOURCE_ID string = foundryProject.id
output AUTH_CLIENT_ID string = authClientId
