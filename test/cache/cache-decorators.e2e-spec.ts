import { Controller, Get, Injectable, Module, Param, Post } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import { CacheEvict, Cached, CacheService, parseEnvelope } from '../../src/cache';
import { ParseIdPipe } from '../../src/http';
import { getRedisToken, RedisClient } from '../../src/redis';
import { http } from '../support/app';
import { describeOnPlatforms, PlatformAppOptions } from '../support/platforms';

const calls = { profile: 0, post: 0, item: 0 };

@Injectable()
class ItemsService {
  @Cached({ cache: 'items', key: 'item:{0}', ttl: 60_000 })
  async find(id: number): Promise<{ id: number; version: number }> {
    calls.item += 1;
    return { id, version: calls.item };
  }

  @CacheEvict({ cache: 'items', keys: ['item:{0}'] })
  async touch(id: number): Promise<number> {
    return id;
  }

  @CacheEvict({ cache: 'items', keys: ['item:{0}'] })
  async failToTouch(_id: number): Promise<never> {
    throw new Error('write failed');
  }
}

class ProfileDto {
  id: number;
}

@Controller('test-cache')
class TestCacheController {
  constructor(private readonly items: ItemsService) {}

  /** Default scope: a caller with credentials gets a key of their own. */
  @Get('profile/:id')
  @Cached({ cache: 'profiles', key: 'profile:{id}' })
  @ApiOkResponse({ type: ProfileDto, description: 'the profile' })
  profile(@Param('id', ParseIdPipe) id: number): { id: number; call: number } {
    calls.profile += 1;
    return { id, call: calls.profile };
  }

  /** @Cached on an unsafe method is ignored: POST is never cached. */
  @Post('things')
  @Cached({ cache: 'things', key: 'all' })
  create(): { call: number } {
    calls.post += 1;
    return { call: calls.post };
  }

  @Get('items/:id')
  item(@Param('id', ParseIdPipe) id: number) {
    return this.items.find(id);
  }
}

@Module({ controllers: [TestCacheController], providers: [ItemsService] })
class TestCacheModule {}

const appOptions: PlatformAppOptions = {
  extraModules: [TestCacheModule],
  env: { CACHE_COMPRESS_THRESHOLD_BYTES: '200' },
};

describeOnPlatforms('@Cached / @CacheEvict', appOptions, (t, platform) => {
  let items: ItemsService;

  beforeAll(async () => {
    items = t.app.get(ItemsService);
  });

  it("never serves one caller's response to another by default", async () => {
    const before = calls.profile;
    const alice = { authorization: 'Bearer alice' };
    const bob = { authorization: 'Bearer bob' };
    expect(
      (await http(`${t.url}/test-cache/profile/5`, { headers: alice })).headers.get('x-cache'),
    ).toBe('MISS');
    expect(
      (await http(`${t.url}/test-cache/profile/5`, { headers: alice })).headers.get('x-cache'),
    ).toBe('HIT');
    expect(
      (await http(`${t.url}/test-cache/profile/5`, { headers: bob })).headers.get('x-cache'),
    ).toBe('MISS');
    expect((await http(`${t.url}/test-cache/profile/5`)).headers.get('x-cache')).toBe('MISS');
    expect((await http(`${t.url}/test-cache/profile/5`)).headers.get('x-cache')).toBe('HIT');
    expect(calls.profile - before).toBe(3);
  });

  it('does not cache unsafe methods even when decorated', async () => {
    const a = await http(`${t.url}/test-cache/things`, { method: 'POST' });
    const b = await http(`${t.url}/test-cache/things`, { method: 'POST' });
    expect(b.body.call).toBe(a.body.call + 1);
    expect(b.headers.get('x-cache')).toBeNull();
  });

  it('keeps route pipes and OpenAPI metadata of decorated handlers', async () => {
    expect((await http(`${t.url}/test-cache/profile/abc`)).status).toBe(400);
    const doc = (await http(`${t.url}/docs/json`)).body;
    const op = doc.paths['/test-cache/profile/{id}'].get;
    expect(op.responses['200'].description).toBe('the profile');
  });

  it('caches service methods by argument and evicts them after a successful call only', async () => {
    const id = Math.floor(Math.random() * 1e6);
    const first = await items.find(id);
    expect(await items.find(id)).toEqual(first);
    expect((await http(`${t.url}/test-cache/items/${id}`)).body).toEqual(first);

    await expect(items.failToTouch(id)).rejects.toThrow('write failed');
    expect(await items.find(id)).toEqual(first);

    await items.touch(id);
    const after = await items.find(id);
    expect(after.version).toBeGreaterThan(first.version);
  });

  it('compresses values over CACHE_COMPRESS_THRESHOLD_BYTES and reads them back intact', async () => {
    const cache = t.app.get(CacheService);
    const big = { text: 'redis '.repeat(500), list: Array.from({ length: 50 }, (_, i) => ({ i })) };
    const key = `big:${platform}`;
    await cache.set(key, big, { cache: 'blobs' });
    const raw = await t.app
      .get<RedisClient>(getRedisToken('cache'))
      .get(cache.entryKey('blobs', key));
    const envelope = parseEnvelope(raw!);
    expect(envelope.z).toBe(1);
    expect(envelope.v.length).toBeLessThan(JSON.stringify(big).length / 4);
    expect(await cache.get(key, { cache: 'blobs' })).toEqual(big);
    const small = `small:${platform}`;
    await cache.set(small, { a: 1 }, { cache: 'blobs' });
    expect(
      parseEnvelope(
        (await t.app.get<RedisClient>(getRedisToken('cache')).get(cache.entryKey('blobs', small)))!,
      ).z,
    ).toBeUndefined();
  });
});
