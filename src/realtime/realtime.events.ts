/**
 * Entries of the event stream `<prefix>:rt:{events}` (flat field/value pairs, decoded by field
 * name, never by position):
 * - `k=emit u=<userId> e=<event> p=<payload JSON> m=<message id>`: an event for every socket of
 *   a user, on every API instance;
 * - `k=disconnect u=<userId> [s=<sessionId,…>] [t=<tokenId>] [f=<family>] [a=1] r=<reason>`:
 *   disconnect the user's sockets that authenticated with one of those sessions, that token or
 *   family, or all of them (`a=1`).
 */
export type StreamEntry =
  | { kind: 'emit'; userId: number; event: string; payload: unknown; messageId: string }
  | ({ kind: 'disconnect' } & DisconnectTarget);

/** Which sockets to disconnect: a user's, narrowed to sessions, a token or a family unless `all`. */
export interface DisconnectTarget {
  userId: number;
  sessionIds?: string[];
  tokenId?: string;
  family?: string;
  all?: boolean;
  /** Sent to the client in the `auth.revoked` event before the disconnect. */
  reason: string;
}

export function encodeEntry(e: StreamEntry): string[] {
  if (e.kind === 'emit') {
    return [
      'k',
      'emit',
      'u',
      String(e.userId),
      'e',
      e.event,
      'p',
      JSON.stringify(e.payload ?? null),
      'm',
      e.messageId,
    ];
  }
  const f = ['k', 'disconnect', 'u', String(e.userId), 'r', e.reason];
  if (e.sessionIds?.length) f.push('s', e.sessionIds.join(','));
  if (e.tokenId) f.push('t', e.tokenId);
  if (e.family) f.push('f', e.family);
  if (e.all) f.push('a', '1');
  return f;
}

/** Decodes an entry's fields; undefined for an entry this version does not understand. */
export function decodeEntry(fields: string[]): StreamEntry | undefined {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(fields[i], fields[i + 1]);
  const userId = Number(m.get('u'));
  if (!Number.isSafeInteger(userId)) return undefined;
  switch (m.get('k')) {
    case 'emit': {
      const event = m.get('e');
      const messageId = m.get('m');
      if (!event || !messageId) return undefined;
      let payload: unknown;
      try {
        payload = JSON.parse(m.get('p') ?? 'null');
      } catch {
        return undefined;
      }
      return { kind: 'emit', userId, event, payload, messageId };
    }
    case 'disconnect':
      return {
        kind: 'disconnect',
        userId,
        reason: m.get('r') ?? 'revoked',
        ...(m.has('s') ? { sessionIds: m.get('s')!.split(',') } : {}),
        ...(m.has('t') ? { tokenId: m.get('t') } : {}),
        ...(m.has('f') ? { family: m.get('f') } : {}),
        ...(m.get('a') === '1' ? { all: true } : {}),
      };
    default:
      return undefined;
  }
}
