// The Function App: Flex Consumption (FC1), Python 3.11, one user-assigned identity, identity-based
// connections only. A plain resource rather than br/public:avm/res/web/site, so that checkov
// (infra/check.sh) sees its settings. Its app settings are split in blocks:
//   * hostSettings:   what the Functions host and the platform read;
//   * appSettings:    exactly the settings agent-deployer's code reads (AZURE_SETTINGS);
//   * configSettings: exactly the values the deployed config refers to as ${NAME} (deployer.yaml);
// plus one Key Vault reference per webhook secret setting. tests/infra/rules.py (run by
// infra/check.sh) compares them with the code and the config so they cannot drift apart.
// Optional App Service Authentication (authsettingsV2) is at the end.

@description('Name of the Function App.')
param name string

param location string = resourceGroup().location
param tags object = {}

@description('azd service name (azure.yaml services.<name>); azd finds the app by this tag.')
param serviceName string = 'deployer'

param appServicePlanId string

@description('Resource id of the user-assigned identity the app runs as.')
param identityId string

@description('Client id of that identity (AZURE_CLIENT_ID, AzureWebJobsStorage__clientId, telemetry auth).')
param identityClientId string

param storageAccountName string

@description('Primary blob endpoint of the storage account (https://<account>.blob.core.windows.net/).')
param storageBlobEndpoint string

@description('Blob container Flex Consumption deploys the code package to.')
param deploymentContainerName string

@description('Application Insights component; its connection string is not a secret on its own: local auth is disabled on it, so ingestion needs the identity.')
param appInsightsName string

param keyVaultName string

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@allowed([
  '3.11'
])
@description('Python version. 3.11 is what the project targets (azure-functions 1.26.x; 2.x needs 3.13).')
param pythonVersion string = '3.11'

param deployerConfigPath string
param foundryProjectEndpoint string
param pollSchedule string
param pollConcurrency int
param pollBudgetSeconds int
param deploymentsTableName string
param webhookSecretSettingNames array = []

@description('REGISTRY_LOGIN_SERVER: the login server of the registry whose pushes the config deploys (<name>.azurecr.io).')
param registryLoginServer string

@description('FOUNDRY_PROJECT_RESOURCE_ID: ARM id of the Foundry project (the config\'s project_resource_id).')
param foundryProjectResourceId string

@description('Client id of the Entra app registration that App Service Authentication accepts tokens for. Empty: no App Service Authentication (function keys only). See infra/README.md, "Signing callers in".')
param authClientId string = ''

@description('App role that callers signed in through App Service Authentication need for the POST routes (DEPLOYER_WRITE_ROLE).')
param writeRole string = 'Deployer.Write'

// What the Functions host and the platform read. Only the blob service is configured for
// AzureWebJobsStorage: HTTP, timer and Event Grid triggers need blobs (host keys, timer singleton
// leases) and nothing else, so the identity needs no queue or table role for the host.
// No FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION: Flex Consumption takes the runtime
// from functionAppConfig and rejects those settings.
var hostSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

// Exactly deployer/config/settings.py AZURE_SETTINGS, nothing more (checked by tests/infra).
var appSettings = {
  DEPLOYER_CONFIG: deployerConfigPath
  FOUNDRY_PROJECT_ENDPOINT: foundryProjectEndpoint
  POLL_SCHEDULE: pollSchedule
  POLL_CONCURRENCY: string(pollConcurrency)
  POLL_BUDGET_S: string(pollBudgetSeconds)
  AZURE_CLIENT_ID: identityClientId
  DEPLOYER_TABLE_ENDPOINT: 'https://${storageAccountName}.table.${environment().suffixes.storage}'
  DEPLOYER_TABLE_NAME: deploymentsTableName
  // Role assignments for the agents' identities go through this cloud's Resource Manager.
  ARM_ENDPOINT: environment().resourceManager
  DEPLOYER_WRITE_ROLE: writeRole
}

// What the deployed config (deployer.yaml) refers to as ${NAME}: the user's registry and Foundry
// project, from the azd environment, so that no file in the package is edited per deployment.
// (The project endpoint is FOUNDRY_PROJECT_ENDPOINT above: the default for agents that name none.)
var configSettings = {
  REGISTRY_LOGIN_SERVER: registryLoginServer
  FOUNDRY_PROJECT_RESOURCE_ID: foundryProjectResourceId
}

// Webhook secrets: one Key Vault reference per setting name, resolved by the platform with the
// user-assigned identity (keyVaultReferenceIdentity below). Secret names cannot hold "_",
// so WEBHOOK_SECRET -> webhook-secret. The object is built through json() because the offline
// parser (pycep-parser) does not understand lambdas such as toObject()/reduce().
var webhookSecretPairs = [for settingName in webhookSecretSettingNames: '"${settingName}":"@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=${toLower(replace(settingName, '_', '-'))})"']
var webhookSecretSettings = json('{${join(webhookSecretPairs, ',')}}')

resource appInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: appInsightsName
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  // checkov:skip=CKV_AZURE_222: Event Grid delivers ImagePushed events to the public endpoint and people call the HTTP API; requests need the eventgrid_extension system key or a function key (and, with authClientId, an Entra ID token)
  // checkov:skip=CKV_AZURE_17: client certificates cannot work here: Event Grid presents none; the HTTP API is protected by function keys and, with authClientId, App Service Authentication
  // checkov:skip=CKV_AZURE_212: Flex Consumption scales to zero on purpose; always-ready instances would be billed around the clock, and a cold start is absorbed by Event Grid retries
  // checkov:skip=CKV_AZURE_78: Flex Consumption rejects siteConfig.ftpsState (the site PUT fails and azd up stops); FTP publishing is off through the ftp basicPublishingCredentialsPolicies below, which forbids it
  // checkov:skip=CKV_AZURE_213: no health-check path: /api/health needs a function key (FUNCTION auth level), which the platform's probe does not send, and health-check eviction is for fixed instance pools, while Flex instances come and go on demand
  name: name
  location: location
  tags: union(tags, {
    'azd-service-name': serviceName
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: appServicePlanId
    httpsOnly: true
    clientAffinityEnabled: false
    // Key Vault references resolve with the user-assigned identity (there is no system identity).
    keyVaultReferenceIdentity: identityId
    // Event Grid delivers to the public endpoint; the HTTP API is protected by function keys.
    publicNetworkAccess: 'Enabled'
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'python'
        version: pythonVersion
      }
    }
    // No ftpsState, linuxFxVersion, alwaysOn and the like: Flex Consumption rejects them (the
    // runtime is functionAppConfig's; FTP publishing is off below). tests/infra/rules.py enforces it.
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      http20Enabled: true
    }
  }
}

// The whole app-settings collection (this resource replaces it on every provision).
resource functionAppSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  // checkov:skip=CKV_AZURE_13: checkov applies this check to every sites/config resource; App Service Authentication is the authsettingsV2 resource below, on when authClientId is given (off by default: function keys only, FUNCTION auth level)
  // checkov:skip=CKV_AZURE_222: this is the appsettings config; public network access is decided on the site (see there)
  // checkov:skip=CKV_AZURE_63: false positive: a web-config check applied to the appsettings config; web-server HTTP logs do not exist on Flex Consumption, telemetry goes to Application Insights
  // checkov:skip=CKV_AZURE_65: false positive: a web-config check applied to the appsettings config; errors are logged to Application Insights
  // checkov:skip=CKV_AZURE_66: false positive: a web-config check applied to the appsettings config; requests are traced in Application Insights
  // checkov:skip=CKV_AZURE_80: false positive: a .NET version check applied to the appsettings config of a Python app
  // checkov:skip=CKV_AZURE_88: false positive: a web-config check applied to the appsettings config; Flex Consumption has no Azure Files content share by design
  parent: functionApp
  name: 'appsettings'
  properties: union(hostSettings, appSettings, configSettings, webhookSecretSettings)
}

// App Service Authentication (Easy Auth), on when authClientId is given (infra/README.md, "Signing
// callers in"). Every request then needs an Entra ID access token for that app registration (401
// without one), and the platform hands the app the caller and its app roles in
// x-ms-client-principal, from which the POST routes require DEPLOYER_WRITE_ROLE (Deployer.Write).
// Tokens are only validated: no login redirect, no client secret, no token store. Function keys are
// still required on /api/* (FUNCTION auth level). /runtime/webhooks/eventgrid is excluded: Event
// Grid sends the eventgrid_extension system key there, never a token.
resource authSettings 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(authClientId)) {
  // checkov:skip=CKV_AZURE_13: false positive: the check reads the legacy authsettings shape (properties.enabled); authsettingsV2 turns authentication on with platform.enabled and requireAuthentication below
  // checkov:skip=CKV_AZURE_222: this is the authentication config; public network access is decided on the site (see there)
  // checkov:skip=CKV_AZURE_63: false positive: a web-config check applied to the authsettingsV2 config; telemetry goes to Application Insights
  // checkov:skip=CKV_AZURE_65: false positive: a web-config check applied to the authsettingsV2 config; errors are logged to Application Insights
  // checkov:skip=CKV_AZURE_66: false positive: a web-config check applied to the authsettingsV2 config; requests are traced in Application Insights
  // checkov:skip=CKV_AZURE_80: false positive: a .NET version check applied to the authsettingsV2 config of a Python app
  // checkov:skip=CKV_AZURE_88: false positive: a web-config check applied to the authsettingsV2 config; Flex Consumption has no Azure Files content share by design
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: true
      unauthenticatedClientAction: 'Return401'
      excludedPaths: [
        '/runtime/webhooks/eventgrid'
      ]
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: authClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
        validation: {
          // v2.0 tokens carry the client id, v1.0 tokens the Application ID URI.
          allowedAudiences: [
            authClientId
            'api://${authClientId}'
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

// No basic-auth publishing (FTP or SCM): azd and `func` deploy with Entra ID tokens.
resource ftpBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmBasicAuth 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output resourceId string = functionApp.id
output defaultHostname string = functionApp.properties.defaultHostName
