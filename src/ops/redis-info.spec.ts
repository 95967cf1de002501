import { checkServer, parseInfo, parseInfoFields } from './redis-info';

const INFO = [
  '# Server',
  'redis_version:6.2.14',
  'redis_mode:standalone',
  '',
  '# Memory',
  'used_memory:1024',
  'maxmemory:0',
  'maxmemory_policy:noeviction',
  '',
  '# Persistence',
  'aof_enabled:1',
  '',
  '# Replication',
  'role:master',
  'slave0:ip=10.0.0.2,port=6380,state=online,offset=42,lag=1',
  '',
  '# Keyspace',
  'db0:keys=3,expires=1,avg_ttl=100',
].join('\r\n');

describe('redis INFO checks', () => {
  it('parses fields and the key=value lists of replica and database lines', () => {
    const info = parseInfo(INFO);
    expect(info.redis_version).toBe('6.2.14');
    expect(info.maxmemory_policy).toBe('noeviction');
    expect(parseInfoFields(info.slave0)).toMatchObject({ ip: '10.0.0.2', port: '6380', lag: '1' });
    expect(parseInfoFields(info.db0)).toMatchObject({ keys: '3', expires: '1' });
  });

  it('flags a Redis older than 7 on both roles, and nothing else on a sound state server', () => {
    const info = parseInfo(INFO);
    const state = checkServer('state', info);
    expect(state.filter((r) => r.problem).map((r) => r.check)).toEqual(['redis_version']);
    expect(state.find((r) => r.check === 'redis_version')?.problem).toMatch(
      /6\.2\.14 is older than 7/,
    );
    const cache = checkServer('cache', info, false);
    expect(cache.filter((r) => r.problem).map((r) => r.check)).toEqual(['redis_version']);
  });

  it('passes Redis 7 and later', () => {
    for (const v of ['7.0.0', '7.2.4', '8.0.1']) {
      const info = parseInfo(INFO.replace('6.2.14', v));
      expect(
        checkServer('state', info).find((r) => r.check === 'redis_version')?.problem,
      ).toBeUndefined();
    }
  });

  it('on its own server, the cache must evict and be bounded', () => {
    const cache = checkServer('cache', parseInfo(INFO.replace('6.2.14', '7.2.4')), true);
    expect(
      cache
        .filter((r) => r.problem)
        .map((r) => r.check)
        .sort(),
    ).toEqual(['eviction_policy', 'maxmemory_unset']);
  });
});
