// Public face of the queue module.
export * from './list-queue.index';
