import { RedisKeys } from '../redis';

/**
 * Every key of the feed (namespace `feed`, state role):
 * - `feed:{<userId>}` (stream): a user's feed, trimmed by `XADD … MAXLEN ~ maxLen`;
 * - `feed:{<userId>}:src` (sorted set): source activity ids already in that feed (fan-out
 *   dedupe), same hash slot as the feed, trimmed to 2 × maxLen;
 * - `feed:activity` (stream): every activity once, read by the fan-out consumer group;
 * - `feed:dead` (stream): activities the fan-out gave up on.
 * Each user's keys are in their own slot: no script ever touches two users.
 */
export class FeedKeys {
  private readonly keys: RedisKeys;

  constructor(root: RedisKeys) {
    this.keys = root.namespace('feed');
  }

  feed(userId: number): string {
    return this.keys.tagged(String(userId));
  }

  sources(userId: number): string {
    return this.keys.tagged(String(userId), 'src');
  }

  get activity(): string {
    return this.keys.key('activity');
  }

  get dead(): string {
    return this.keys.key('dead');
  }
}
