import { Cluster, Redis } from 'ioredis';
import type { RedisClient } from './redis.constants';

export interface ScanOptions {
  /** A glob pattern for `SCAN MATCH` (build it with `RedisKeys.pattern()`). */
  match: string;
  /** Hint for keys examined per SCAN call; bigger is fewer round trips, longer each. */
  count?: number;
  type?: string;
}

/**
 * Iterates every key matching a pattern with SCAN (never KEYS, which blocks Redis for O(n)).
 * On a Cluster it scans every master. Keys may be yielded more than once (SCAN's guarantee),
 * so callers must be idempotent; yields batches to keep round trips low.
 *
 * @example
 * for await (const batch of scanKeys(redis, { match: keys.pattern() })) await redis.unlink(...batch);
 */
export async function* scanKeys(
  client: RedisClient,
  options: ScanOptions,
): AsyncGenerator<string[]> {
  const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const args: (string | number)[] = ['MATCH', options.match, 'COUNT', options.count ?? 500];
      if (options.type) args.push('TYPE', options.type);
      const [next, keys] = (await node.call('SCAN', cursor, ...args)) as [string, string[]];
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

/**
 * Deletes every key matching a pattern (UNLINK, batched, per node on a Cluster since keys of
 * one batch may sit in different slots). Returns the number of keys removed.
 */
export async function deleteByPattern(client: RedisClient, match: string): Promise<number> {
  let removed = 0;
  for await (const batch of scanKeys(client, { match })) {
    if (client instanceof Cluster) {
      const results = await Promise.all(batch.map((k) => client.unlink(k)));
      removed += results.reduce((a, b) => a + b, 0);
    } else {
      removed += await client.unlink(...batch);
    }
  }
  return removed;
}
