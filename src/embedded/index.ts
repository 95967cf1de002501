export {
  EmbeddedServiceBusyError,
  startEmbeddedServices,
  type EmbeddedService,
  type EmbeddedServices,
} from './embedded-services';
export { OwnerElection, readServiceState, type ServiceState } from './owner-election';
