import {
  CallHandler,
  Controller,
  ExecutionContext,
  Get,
  Header,
  HttpCode,
  INestApplication,
  Injectable,
  Module,
  NestInterceptor,
  Param,
  Redirect,
  StreamableFile,
} from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { map, Observable } from 'rxjs';
import { Cached, CacheModule, CacheService } from '../../src/cache';
import { getRedisToken, RedisClient, RedisModule } from '../../src/redis';
import { http, PLATFORMS, sharedRedisTopology, testPrefix } from '../support/app';
import { describeOnPlatforms } from '../support/platforms';

/**
 * A hit is sent from the stored JSON text when it can be (see CacheInterceptor): whatever path
 * it takes, a hit must answer exactly what the miss answered (status, body bytes, headers), on
 * both platforms, for every kind of return value.
 */
const calls: Record<string, number> = {};
const count = (name: string): number => (calls[name] = (calls[name] ?? 0) + 1);

const shared = { ttl: 60_000, scope: 'shared' as const };

@Controller('test-response')
class ResponseController {
  @Get('obj/:id')
  @Cached({ cache: 'resp', key: 'obj:{id}', ...shared })
  obj(@Param('id') id: string) {
    count('obj');
    return {
      id,
      name: 'héllo "quoted" \\ \n ✓ 😀',
      nested: { list: [1, 2.5, true, null], empty: {} },
      skipped: undefined,
    };
  }

  @Get('list/:id')
  @Cached({ cache: 'resp', key: 'list:{id}', ...shared })
  list(@Param('id') id: string) {
    count('list');
    return [{ id }, 'two', 3];
  }

  @Get('text/:id')
  @Cached({ cache: 'resp', key: 'text:{id}', ...shared })
  text(@Param('id') id: string) {
    count('text');
    return `plain text ${id}`;
  }

  @Get('num/:id')
  @Cached({ cache: 'resp', key: 'num:{id}', ...shared })
  num() {
    count('num');
    return 42;
  }

  @Get('null/:id')
  @Cached({ cache: 'resp', key: 'null:{id}', ...shared })
  nothing() {
    count('null');
    return null;
  }

  @Get('dated/:id')
  @Cached({ cache: 'resp', key: 'dated:{id}', ...shared })
  dated(@Param('id') id: string) {
    count('dated');
    return { id, at: new Date('2025-01-02T03:04:05.678Z') };
  }

  @Get('typed/:id')
  @Cached({ cache: 'resp', key: 'typed:{id}', ...shared })
  @Header('Content-Type', 'application/vnd.test+json')
  typed(@Param('id') id: string) {
    count('typed');
    return { id, typed: true };
  }

  @Get('status/:id')
  @Cached({ cache: 'resp', key: 'status:{id}', ...shared })
  @HttpCode(203)
  @Header('Cache-Control', 'max-age=5')
  status(@Param('id') id: string) {
    count('status');
    return { id };
  }

  @Get('file/:id')
  @Cached({ cache: 'resp', key: 'file:{id}', ...shared })
  file() {
    count('file');
    return new StreamableFile(Buffer.from('file bytes'), { type: 'text/plain' });
  }

  @Get('buffer/:id')
  @Cached({ cache: 'resp', key: 'buffer:{id}', ...shared })
  buffer() {
    count('buffer');
    return Buffer.from('raw bytes');
  }

  @Get('redirect/:id')
  @Cached({ cache: 'resp', key: 'redirect:{id}', ...shared })
  @Redirect('/default', 302)
  redirect(@Param('id') id: string) {
    count('redirect');
    return { url: `/target/${id}` };
  }

  /** A tag from the route: the fetch options are built per request. */
  @Get('tagged/:id')
  @Cached({ cache: 'resp', key: 'tagged:{id}', tags: ['t:{id}'], ...shared })
  tagged(@Param('id') id: string) {
    count('tagged');
    return { id, n: calls.tagged };
  }
}

@Module({ controllers: [ResponseController] })
class ResponseModule {}

/** Routes that return bytes (a StreamableFile, a Buffer): never cached. */
const BYTES = new Set(['file', 'buffer']);

/** Headers that differ between any two responses, whatever the cache does (`RateLimit`: what is left). */
const PER_RESPONSE = new Set([
  'date',
  'x-request-id',
  'x-cache',
  'keep-alive',
  'connection',
  'ratelimit',
]);

async function exchange(url: string, method = 'GET') {
  const res = await fetch(url, { method, redirect: 'manual' });
  const body = Buffer.from(await res.arrayBuffer()).toString('latin1');
  const headers = [...res.headers.entries()].filter(([h]) => !PER_RESPONSE.has(h));
  return { status: res.status, body, headers, xCache: res.headers.get('x-cache') };
}

describeOnPlatforms('cached responses', { extraModules: [ResponseModule] }, (t, platform) => {
  const routes = [
    'obj',
    'list',
    'text',
    'num',
    'null',
    'dated',
    'typed',
    'status',
    'file',
    'buffer',
    'redirect',
    'tagged',
  ];

  it.each(routes)(
    'a hit on /%s answers what the miss answered: status, body bytes and headers',
    async (route) => {
      const url = `${t.url}/test-response/${route}/${platform}-${Math.random().toString(36).slice(2)}`;
      const before = calls[route] ?? 0;
      const miss = await exchange(url);
      const hit = await exchange(url);
      expect(hit.status).toBe(miss.status);
      expect(hit.body).toBe(miss.body);
      expect(hit.headers).toEqual(miss.headers);
      if (BYTES.has(route)) {
        // Bytes, not data: answered as they are, never stored.
        expect([miss.xCache, hit.xCache]).toEqual(['MISS', 'MISS']);
        expect((calls[route] ?? 0) - before).toBe(2);
      } else {
        expect([miss.xCache, hit.xCache]).toEqual(['MISS', 'HIT']);
        expect((calls[route] ?? 0) - before).toBe(1);
      }
    },
  );

  it('a JSON hit carries the platform’s JSON content type and length', async () => {
    const url = `${t.url}/test-response/obj/${platform}-ct`;
    await exchange(url);
    const res = await fetch(url);
    expect(res.headers.get('x-cache')).toBe('HIT');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(Number(res.headers.get('content-length'))).toBe(bytes.length);
    expect(JSON.parse(bytes.toString('utf8'))).toMatchObject({
      nested: { list: [1, 2.5, true, null] },
    });
  });

  it('HEAD: a hit answers the headers of the miss, without a body', async () => {
    const url = `${t.url}/test-response/obj/${platform}-head`;
    const miss = await exchange(url, 'HEAD');
    const hit = await exchange(url, 'HEAD');
    expect(hit.status).toBe(200);
    expect(hit.body).toBe('');
    expect(hit.headers).toEqual(miss.headers);
    expect(hit.xCache).toBe('HIT');
  });

  it('sends the stored JSON text as it is, without parsing and serialising it again', async () => {
    const cache = t.app.get(CacheService);
    const key = `obj:${platform}-raw`;
    await cache.set(key, { a: 1 }, { cache: 'resp', ttl: 60_000 });
    // Rewrite the stored value with spacing JSON.stringify would never produce: only a body
    // sent as stored keeps it.
    const redis = t.app.get<RedisClient>(getRedisToken('cache'));
    const k = cache.entryKey('resp', key);
    const raw = (await redis.get(k))!;
    await redis.set(k, raw.replace(/\n.*$/s, '\n{ "a" : 1 }'), 'PX', 60_000);
    const res = await http(`${t.url}/test-response/obj/${platform}-raw`);
    expect(res.headers.get('x-cache')).toBe('HIT');
    expect(res.text).toBe('{ "a" : 1 }');
    // The service API still gets the value.
    expect(await cache.get(key, { cache: 'resp' })).toEqual({ a: 1 });
  });

  it('tags taken from the route still void the entry', async () => {
    const id = `${platform}-tag`;
    const url = `${t.url}/test-response/tagged/${id}`;
    const first = await http(url);
    expect((await http(url)).headers.get('x-cache')).toBe('HIT');
    await t.app.get(CacheService).invalidateTags([`t:${id}`], { cache: 'resp' });
    const after = await http(url);
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(after.body.n).toBe(first.body.n + 1);
  });
});

/** A global interceptor registered before the cache's (the Nest docs' TransformInterceptor). */
@Injectable()
class WrapInterceptor implements NestInterceptor {
  intercept(_ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((data) => ({ data })));
  }
}

describe.each(PLATFORMS)('a global interceptor before the cache on %s', (platform) => {
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    const topology = sharedRedisTopology();
    @Module({
      imports: [
        RedisModule.forRoot({ prefix: testPrefix(__filename), state: { topology } }),
        CacheModule.forRoot({}),
        ResponseModule,
      ],
    })
    class AppModule {}
    const ref = await Test.createTestingModule({ imports: [AppModule] }).compile();
    app = ref.createNestApplication(
      platform === 'fastify' ? new FastifyAdapter() : new ExpressAdapter(),
      { logger: false },
    );
    app.useGlobalInterceptors(new WrapInterceptor());
    await app.listen(0, '127.0.0.1');
    url = (await app.getUrl()).replace('[::1]', '127.0.0.1').replace('localhost', '127.0.0.1');
  });
  afterAll(async () => {
    await app?.close();
  });

  it('maps a hit as it maps a miss: it is given the value, not the stored text', async () => {
    const target = `${url}/test-response/obj/${platform}-wrapped`;
    const miss = await exchange(target);
    const hit = await exchange(target);
    expect(hit.xCache).toBe('HIT');
    expect(JSON.parse(hit.body)).toMatchObject({ data: { nested: { empty: {} } } });
    expect(hit.body).toBe(miss.body);
    expect(hit.headers).toEqual(miss.headers);
  });
});
