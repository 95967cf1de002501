// ListQueue, the from-scratch list queue (see list-queue.ts); re-exported by ./index.ts.
export * from './list-queue';
export * from './list-queue.errors';
export * from './list-queue.worker';
