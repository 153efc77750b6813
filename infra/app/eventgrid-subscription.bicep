// The Event Grid subscription from the registry's system topic to the `on_image_pushed` function.
//
// A second deployment, run by scripts/post-up.sh (azd postdeploy hook) into the registry's
// resource group once the code is deployed: an AzureFunction destination is validated against the
// function itself, and creating it before the function exists fails with "Destination endpoint not
// found" (Azure/bicep#11656). This is how the azd Flex Consumption + Event Grid quickstart does it
// too. Re-running it is harmless: the deployment PUTs the same subscription.
//
//   az deployment group create -g <registry rg> -f infra/app/eventgrid-subscription.bicep \
//     -p systemTopicName=... subscriptionName=... functionResourceId=... deadLetterStorageAccountId=...

@description('Name of the registry\'s Event Grid system topic (output REGISTRY_EVENTS_TOPIC_NAME).')
param systemTopicName string

@description('Resource id of the function: <function app id>/functions/on_image_pushed.')
param functionResourceId string

@description('Resource id of the storage account holding the dead-letter container.')
param deadLetterStorageAccountId string

param deadLetterContainerName string = 'eventgrid-deadletter'

@minLength(3)
@maxLength(64)
@description('Name of the event subscription, one per azd environment (output EVENTGRID_SUBSCRIPTION_NAME), so that two environments fed by one registry never replace each other\'s. No default on purpose.')
param subscriptionName string

@description('Repositories to deliver events for (exact names, e.g. agents/support). Empty: every repository; the deployer ignores repositories its config does not list. At most 25.')
@maxLength(25)
param repositories array = []

@description('Delivery attempts before an event is dead-lettered. Event Grid retries on its own schedule (10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 3 h, 6 h, then every 12 h); 10 attempts cover about a day, which the TTL below caps anyway.')
@minValue(1)
@maxValue(30)
param maxDeliveryAttempts int = 10

@description('Minutes an event may wait for delivery before it is dead-lettered (Event Grid default and maximum: 1440).')
@minValue(1)
@maxValue(1440)
param eventTimeToLiveInMinutes int = 1440

resource systemTopic 'Microsoft.EventGrid/systemTopics@2025-02-15' existing = {
  name: systemTopicName
}

resource imagePushed 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: systemTopic
  name: subscriptionName
  properties: {
    // AzureFunction rather than WebHook: Event Grid finds the function by resource id and fetches
    // (and follows rotation of) the eventgrid_extension key itself (Azure/azure-cli#10879), so no
    // key is copied into this deployment or its history.
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: functionResourceId
        // One event per request: the host answers 500 for the whole batch when one event raises,
        // and Event Grid would redeliver the events that had succeeded.
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.ContainerRegistry.ImagePushed'
      ]
      // Filter on data.target.repository rather than on the subject: the subject is "repo:tag",
      // and its form for tag-less pushes is not documented, while the repository field is exact.
      // String comparisons in advanced filters are case-insensitive; ACR repository names are
      // lower-case anyway.
      advancedFilters: empty(repositories) ? [] : [
        {
          operatorType: 'StringIn'
          key: 'data.target.repository'
          values: repositories
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: maxDeliveryAttempts
      eventTimeToLiveInMinutes: eventTimeToLiveInMinutes
    }
    // Dead-letter with the system topic's own identity (granted Storage Blob Data Contributor on
    // this container by infra/app/rbac.bicep): the storage account accepts no keys. Some client
    // errors (400, 401, 403, 413 for webhooks) are not retried: those events land here at once.
    deadLetterWithResourceIdentity: {
      identity: {
        type: 'SystemAssigned'
      }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: deadLetterStorageAccountId
          blobContainerName: deadLetterContainerName
        }
      }
    }
  }
}

output subscriptionId string = imagePushed.id
