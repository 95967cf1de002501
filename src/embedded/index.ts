export {
  EmbeddedServiceBusyError,
  startEmbeddedServices,
  type EmbeddedService,
  type EmbeddedServices,
  type EmbeddedStart,
} from './embedded-services';
export { OwnerElection, readServiceState, type ServiceState } from './owner-election';
