import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { FeedPublisher } from './feed.types';

/**
 * Options of {@link FeedModule}. Times in ms.
 *
 * @example
 * FeedModule.forRootAsync({
 *   imports: [FollowersGraphModule],
 *   inject: [FollowersService],
 *   useFactory: (followers: FollowersService) => ({
 *     followersOf: (userId) => followers.list(userId),
 *     fanout: true,
 *   }),
 *   controllers: true,
 *   isGlobal: true,
 * })
 */
export interface FeedModuleOptions {
  /** Who receives a user's activities besides the user: their followers' ids. */
  followersOf: (userId: number) => Promise<number[]>;
  /** Run the fan-out consumer in this process (the worker role). Default false. */
  fanout?: boolean;
  /** Entries kept per feed (`XADD … MAXLEN ~`): at least this many, at most one macro node more. Default 1000. */
  maxLen?: number;
  /** Entries kept in the activity stream the fan-out reads (`MAXLEN ~`). Default 100,000. */
  activityMaxLen?: number;
  /** Entries kept in the dead-letter stream (`MAXLEN ~`). Default 10,000. */
  deadMaxLen?: number;
  /** Entries one consumer reads (and claims) at a time. Default 100. */
  batch?: number;
  /** How long an entry stays pending with a consumer before another claims it (XAUTOCLAIM). Default 30 s. */
  claimIdleMs?: number;
  /** Deliveries (processing attempts) before an entry goes to the dead-letter stream. Default 5. */
  maxDeliveries?: number;
  /** XREADGROUP BLOCK time; also the longest a shutdown waits for a read to return. Default 1000. */
  blockMs?: number;
  /** Consumer group name. Default `fanout`. */
  group?: string;
  /** Pushes new entries to connected clients (`feed` events); none by default. */
  publisher?: FeedPublisher;
}

export const FEED_DEFAULTS = {
  maxLen: 1000,
  activityMaxLen: 100_000,
  deadMaxLen: 10_000,
  batch: 100,
  claimIdleMs: 30_000,
  maxDeliveries: 5,
  blockMs: 1000,
  group: 'fanout',
} satisfies Partial<FeedModuleOptions>;

export type ResolvedFeedOptions = FeedModuleOptions & typeof FEED_DEFAULTS;

export function resolveFeedOptions(o: FeedModuleOptions): ResolvedFeedOptions {
  const defined = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return { ...FEED_DEFAULTS, ...defined } as ResolvedFeedOptions;
}

export const {
  ConfigurableModuleClass: FeedConfigurableModule,
  MODULE_OPTIONS_TOKEN: FEED_MODULE_OPTIONS,
  OPTIONS_TYPE: FEED_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: FEED_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<FeedModuleOptions>({ moduleName: 'Feed' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: false, controllers: false }, (definition, extras) => ({
    ...definition,
    global: extras.isGlobal,
  }))
  .build();
