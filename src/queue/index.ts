// Public face of the queue module.
export * from './queue.constants';
export * from './queue.errors';
export * from './queue.module-definition';
export * from './queue.module';
export * from './queue.service';
export { QueueWorkers } from './queue-workers';
export * from './job-events';
// What a processor needs, so domain code imports queues from one place.
export { InjectQueue, OnWorkerEvent, Processor, WorkerHost, getQueueToken } from '@nestjs/bullmq';
export { Job, Queue, UnrecoverableError } from 'bullmq';
// ListQueue, the from-scratch list queue next to BullMQ (list-queue.ts).
export * from './list-queue.index';
