// Public face of the feed module.
export * from './feed.types';
export * from './feed.keys';
export * from './feed.module-definition';
export * from './feed.service';
export * from './feed.module';
export { decodeFeedEntry, isStreamId } from './feed-entries';
export { FeedFanout } from './feed-fanout';
