import { decodeEntry, encodeEntry, StreamEntry } from './realtime.events';

describe('event stream entries', () => {
  it('round-trips emit and disconnect entries, decoded by field name', () => {
    const entries: StreamEntry[] = [
      {
        kind: 'emit',
        userId: 7,
        event: 'notification',
        payload: { a: [1, 'x'] },
        messageId: 'm-1',
      },
      { kind: 'emit', userId: 7, event: 'ping', payload: null, messageId: 'm-2' },
      { kind: 'disconnect', userId: 3, reason: 'the session ended', sessionIds: ['s1', 's2'] },
      { kind: 'disconnect', userId: 3, reason: 'revoked', tokenId: 'j', family: 'f' },
      { kind: 'disconnect', userId: 3, reason: 'everywhere', all: true },
    ];
    for (const e of entries) expect(decodeEntry(encodeEntry(e))).toEqual(e);
  });

  it('reads fields in any order', () => {
    expect(decodeEntry(['m', 'x', 'p', '{"n":1}', 'e', 'ev', 'u', '5', 'k', 'emit'])).toEqual({
      kind: 'emit',
      userId: 5,
      event: 'ev',
      payload: { n: 1 },
      messageId: 'x',
    });
  });

  it('skips entries it does not understand instead of throwing', () => {
    expect(decodeEntry([])).toBeUndefined();
    expect(decodeEntry(['k', 'emit', 'u', 'seven', 'e', 'x', 'm', 'y'])).toBeUndefined();
    expect(
      decodeEntry(['k', 'emit', 'u', '1', 'e', 'x', 'm', 'y', 'p', '{broken']),
    ).toBeUndefined();
    expect(decodeEntry(['k', 'future-kind', 'u', '1'])).toBeUndefined();
    expect(decodeEntry(['k', 'emit', 'u', '1'])).toBeUndefined();
  });
});
