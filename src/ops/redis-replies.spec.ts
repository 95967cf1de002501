import {
  configNumber,
  exactNumber,
  parseInfoSections,
  parseLatencyRow,
  parseMemoryStats,
  parseSlowlogEntry,
} from './redis-replies';

describe('redis replies', () => {
  it('turns a text into a number only when nothing is lost', () => {
    expect(exactNumber('10')).toBe(10);
    expect(exactNumber('-3')).toBe(-3);
    expect(exactNumber('1.0804140567779541')).toBeCloseTo(1.0804, 4);
    expect(exactNumber('0.5')).toBe(0.5);
    // Identifiers and texts stay texts.
    expect(exactNumber('00000000')).toBe('00000000');
    expect(exactNumber('007')).toBe('007');
    expect(exactNumber('01.5')).toBe('01.5');
    expect(exactNumber('1e3')).toBe('1e3');
    expect(exactNumber(' 1')).toBe(' 1');
    expect(exactNumber('')).toBe('');
    expect(exactNumber('-0')).toBe('-0');
    expect(exactNumber('7.0.15')).toBe('7.0.15');
    // Past 2^53 a counter would change: kept as text.
    expect(exactNumber('9007199254740993')).toBe('9007199254740993');
  });

  it('parses INFO into sections of typed fields, k=v lists as objects', () => {
    const text = [
      '# Server',
      'redis_version:7.0.15',
      'redis_git_sha1:00000000',
      'os:Linux 6.1.0 x86_64',
      'executable:/usr/bin/redis-server',
      'config_file:',
      '',
      '# Memory',
      'used_memory:1249784',
      'mem_fragmentation_ratio:7.57',
      'maxmemory_policy:noeviction',
      '',
      '# Replication',
      'role:master',
      'slave0:ip=127.0.0.1,port=6380,state=online,offset=42,lag=0',
      '',
      '# Keyspace',
      'db0:keys=3,expires=1,avg_ttl=3000',
      '# Commandstats',
      'cmdstat_get:calls=2,usec=10,usec_per_call=5.00,rejected_calls=0,failed_calls=0',
      '__proto__:polluted',
      '',
    ].join('\r\n');
    const info = parseInfoSections(text);
    expect(Object.keys(info)).toEqual([
      'server',
      'memory',
      'replication',
      'keyspace',
      'commandstats',
    ]);
    expect(info.server).toEqual({
      redis_version: '7.0.15',
      redis_git_sha1: '00000000',
      os: 'Linux 6.1.0 x86_64',
      executable: '/usr/bin/redis-server',
      config_file: '',
    });
    expect(info.memory).toEqual({
      used_memory: 1249784,
      mem_fragmentation_ratio: 7.57,
      maxmemory_policy: 'noeviction',
    });
    expect(info.replication.slave0).toEqual({
      ip: '127.0.0.1',
      port: 6380,
      state: 'online',
      offset: 42,
      lag: 0,
    });
    expect(info.keyspace.db0).toEqual({ keys: 3, expires: 1, avg_ttl: 3000 });
    expect(info.commandstats.cmdstat_get).toMatchObject({ calls: 2, usec_per_call: 5 });
    // A field named __proto__ is data, not the object's prototype.
    expect(Object.getPrototypeOf(info.commandstats)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(info.commandstats, '__proto__')?.value).toBe('polluted');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('parses MEMORY STATS, nested db.<n> arrays included', () => {
    const stats = parseMemoryStats([
      'peak.allocated',
      1270376,
      'db.0',
      ['overhead.hashtable.main', 72, 'overhead.hashtable.expires', 0],
      'dataset.percentage',
      '99.927154541015625',
      'odd',
      null,
    ]);
    expect(stats).toEqual({
      'peak.allocated': 1270376,
      'db.0': { 'overhead.hashtable.main': 72, 'overhead.hashtable.expires': 0 },
      'dataset.percentage': 99.927154541015625,
      odd: null,
    });
    expect(parseMemoryStats('not an array')).toEqual({});
  });

  it('names the fields of SLOWLOG and LATENCY rows', () => {
    expect(
      parseSlowlogEntry([
        7,
        1764590400,
        43878,
        ['DEBUG', 'SLEEP', '0.03'],
        '127.0.0.1:44698',
        'nrp:state',
      ]),
    ).toEqual({
      id: 7,
      at: '2025-12-01T12:00:00.000Z',
      durationMicros: 43878,
      command: ['DEBUG', 'SLEEP', '0.03'],
      client: '127.0.0.1:44698',
      clientName: 'nrp:state',
    });
    expect(parseLatencyRow(['command', 1764590400, 43, 120])).toEqual({
      event: 'command',
      at: '2025-12-01T12:00:00.000Z',
      latestMs: 43,
      maxMs: 120,
    });
    expect(configNumber(['slowlog-log-slower-than', '10000'])).toBe(10000);
    expect(configNumber([])).toBeNull();
    expect(configNumber(['x', 'yes'])).toBeNull();
  });
});
