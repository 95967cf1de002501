/** The queues of the app: the seed's three job types. */
export const QUEUE_NAMES = ['email', 'notification', 'report'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export function isQueueName(name: unknown): name is QueueName {
  return typeof name === 'string' && (QUEUE_NAMES as readonly string[]).includes(name);
}

/**
 * BullMQ's key prefix of one queue: `{<app prefix>:<queue>}`. Every key BullMQ writes for the
 * queue (`{nrp:email}:email:wait`, `…:events`, `…:<id>`) then shares one hash tag, so its Lua
 * scripts work on a Redis Cluster, each queue on its own slot; the app's prefix keeps fleets
 * (and test files) sharing a Redis apart. Never an ioredis `keyPrefix`: BullMQ builds its own keys.
 */
export function queuePrefix(appPrefix: string, queue: string): string {
  return `{${appPrefix}:${queue}}`;
}
