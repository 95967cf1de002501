/** What happened: the domain events that write activities. */
export const FEED_ACTIONS = ['post.created', 'user.followed', 'profile.updated'] as const;
export type FeedAction = (typeof FEED_ACTIONS)[number];

/** An activity as the domain records it: who did what to which target. */
export interface Activity {
  /** The user who acted (the feed owner for their own activities). */
  actorId: number;
  action: FeedAction;
  /** The post created, the user followed, the profile updated. */
  targetId: number;
}

/** One entry of a user's feed, decoded by field name. */
export interface FeedEntry {
  /** The entry's stream id in this feed: the paging cursor (`before`). */
  id: string;
  /** The action as stored: one of {@link FEED_ACTIONS}, or a newer action an older reader does not know. */
  action: string;
  actorId: number | null;
  targetId: number | null;
  /** When the activity happened (ISO 8601): its time in the activity stream, not the fan-out time. */
  timestamp: string;
}

/** A page of a feed, newest first; `next` is the `before` cursor of the next page, or null at the end. */
export interface FeedPage {
  entries: FeedEntry[];
  next: string | null;
}

/**
 * The seam to push new entries to connected clients (`feed` events). The composition root wires
 * it, e.g. to `RealtimeService.toUser(userId, 'feed', entry)`. Called once per entry and feed it
 * newly reached (never for a duplicate delivery); failures are logged, the feed is the record.
 */
export interface FeedPublisher {
  publish(userId: number, entry: FeedEntry): void | Promise<void>;
}
