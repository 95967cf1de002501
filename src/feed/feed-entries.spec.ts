import { decodeActivity, decodeFeedEntry, fieldsOf, isStreamId } from './feed-entries';

describe('feed entries', () => {
  it('decodes a feed entry by field name, whatever the field order', () => {
    const a = decodeFeedEntry([
      '1764590400000-3',
      [
        'ts',
        '1764590399000',
        'targetId',
        '42',
        'zz',
        'ignored',
        'actorId',
        '7',
        'action',
        'post.created',
      ],
    ]);
    expect(a).toEqual({
      id: '1764590400000-3',
      action: 'post.created',
      actorId: 7,
      targetId: 42,
      timestamp: new Date(1764590399000).toISOString(),
    });
  });

  it('never throws on malformed entries: skips those without an action, nulls bad ids, falls back to the id’s time', () => {
    expect(decodeFeedEntry(['1-0', ['targetId', '1']])).toBeNull();
    expect(decodeFeedEntry(['1-0', null])).toBeNull();
    expect(decodeFeedEntry(null)).toBeNull();
    expect(decodeFeedEntry([42, []])).toBeNull();
    expect(decodeFeedEntry(['1-0', ['action', 'bad action!']])).toBeNull();
    expect(
      decodeFeedEntry([
        '5000-0',
        ['action', 'x.new', 'actorId', '-1', 'targetId', '99999999999', 'ts', 'soon', 'odd'],
      ]),
    ).toEqual({
      id: '5000-0',
      action: 'x.new',
      actorId: null,
      targetId: null,
      timestamp: new Date(5000).toISOString(),
    });
  });

  it('keeps the first of a repeated field and ignores a dangling one', () => {
    expect(fieldsOf(['a', '1', 'a', '2', 'b'])).toEqual(new Map([['a', '1']]));
  });

  it('decodes activities strictly: actor, action and target required', () => {
    expect(decodeActivity(['actorId', '1', 'action', 'post.created', 'targetId', '2'])).toEqual({
      actorId: 1,
      action: 'post.created',
      targetId: 2,
    });
    expect(decodeActivity(['action', 'post.created', 'targetId', '2'])).toBeNull();
    expect(decodeActivity(['actorId', '1', 'targetId', '2'])).toBeNull();
    expect(decodeActivity(['actorId', '1', 'action', 'post.created', 'targetId', '0'])).toBeNull();
  });

  it('accepts as a cursor only complete stream ids within 64 bits', () => {
    expect(isStreamId('1764590400000-0')).toBe(true);
    expect(isStreamId('18446744073709551615-18446744073709551615')).toBe(true);
    expect(isStreamId('18446744073709551616-0')).toBe(false);
    for (const bad of ['', '1', '1-', '-1', '1-2-3', 'a-b', ' 1-0', '1-0 ', '+', '-', '1.5-0'])
      expect(isStreamId(bad)).toBe(false);
  });
});
