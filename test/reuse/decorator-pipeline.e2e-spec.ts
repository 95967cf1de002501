import {
  Controller,
  ExecutionContext,
  Get,
  Injectable,
  Logger,
  Module,
  Param,
  Post,
  Scope,
  Type,
} from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { CacheEvict, Cached, CacheInterceptor, CacheModule } from '../../src/cache';
import {
  LockInterceptor,
  LockModule,
  LockService,
  WithLock,
  WithLockOptions,
} from '../../src/lock';
import { RedisModule } from '../../src/redis';
import { http, sharedRedisTopology, testPrefix } from '../support/app';

/**
 * One decorator pipeline: class-level decorators, the same cache-then-evict order on routes and
 * service methods, the cache outside the lock whatever the import order, a warning for
 * request-scoped providers, and protected extension points.
 */
const counts = { list: 0, one: 0, write: 0, both: 0, svcBoth: 0 };

@Controller('catalog')
@Cached({ cache: 'catalog', ttl: 60_000, scope: 'shared' })
@CacheEvict({ cache: 'catalog', keys: ['catalog:list'] })
class CatalogController {
  @Get()
  @Cached({ cache: 'catalog', key: 'catalog:list', ttl: 60_000, scope: 'shared' })
  list() {
    return { n: ++counts.list };
  }

  /** Cached by the class-level @Cached (key from the route). */
  @Get(':id')
  one(@Param('id') id: string) {
    counts.one++;
    return { id };
  }

  /** Evicts catalog:list by the class-level @CacheEvict (not cached: POST). */
  @Post()
  write() {
    return { n: ++counts.write };
  }
}

@Injectable()
class BothService {
  @Cached({ cache: 'both', key: 'svc:{0}', ttl: 60_000 })
  @CacheEvict({ cache: 'both', keys: ['svc:other'] })
  async both(id: string) {
    return { id, n: ++counts.svcBoth };
  }
  @Cached({ cache: 'both', key: 'svc:other', ttl: 60_000 })
  async other() {
    return { n: ++counts.both };
  }
}

@Controller('locked')
@WithLock({ key: 'locked:{id}', ttl: 5_000 })
class LockedController {
  /** Class-level lock, and cached: a hit must not need the lock. */
  @Get(':id')
  @Cached({ cache: 'locked', key: 'locked:{id}', ttl: 60_000, scope: 'shared' })
  get(@Param('id') id: string) {
    return { id };
  }

  @Post(':id')
  write(@Param('id') id: string) {
    return { id };
  }
}

@Controller('svc')
class ServiceController {
  constructor(private readonly svc: BothService) {}

  @Get(':id/both')
  both(@Param('id') id: string) {
    return this.svc.both(id);
  }

  @Get('other')
  other() {
    return this.svc.other();
  }
}

@Injectable({ scope: Scope.REQUEST })
class PerRequest {
  @Cached({ key: 'pr' })
  value() {
    return 1;
  }
}

/** Extension points: the caller is the X-Tenant header; locks are per tenant. */
@Injectable()
class TenantCacheInterceptor extends CacheInterceptor {
  protected override callerIdentity(ctx: ExecutionContext): string | undefined {
    return this.http.header(ctx, 'x-tenant');
  }
}
@Injectable()
class TenantLockInterceptor extends LockInterceptor {
  protected override lockResource(ctx: ExecutionContext, options: WithLockOptions): string {
    return `${this.http.header(ctx, 'x-tenant') ?? 'none'}:${super.lockResource(ctx, options)}`;
  }
}

@Controller('tenant')
class TenantController {
  @Get('me')
  @Cached({ cache: 'tenant', key: 'me', ttl: 60_000 })
  me() {
    return { n: ++counts.one };
  }
  @Post('job')
  @WithLock({ key: 'job', ttl: 5_000 })
  async job() {
    await new Promise((r) => setTimeout(r, 200));
    return { done: true };
  }
}

async function start(imports: unknown[], controllers: Type[], providers: Type[] = []) {
  @Module({ imports: imports as Type[], controllers, providers })
  class AppModule {}
  const ref = await Test.createTestingModule({ imports: [AppModule] }).compile();
  const app = ref.createNestApplication(new FastifyAdapter(), { logger: false });
  await app.listen(0, '127.0.0.1');
  return { app, url: (await app.getUrl()).replace('[::1]', '127.0.0.1') };
}

describe('the decorator pipeline', () => {
  const prefix = testPrefix(__filename);
  // Lock module imported BEFORE the cache module: the order must not matter.
  const modules = () => [
    RedisModule.forRoot({ prefix, state: { topology: sharedRedisTopology() } }),
    LockModule.forRoot({}),
    CacheModule.forRoot({}),
  ];
  let app: Awaited<ReturnType<typeof start>>['app'];
  let url: string;
  beforeAll(async () => {
    ({ app, url } = await start(
      modules(),
      [CatalogController, LockedController, ServiceController],
      [BothService],
    ));
  });
  afterAll(async () => {
    await app?.close();
  });

  it('class-level @Cached applies to every route of the controller (a route’s own wins)', async () => {
    expect((await http(`${url}/catalog/a`)).headers.get('x-cache')).toBe('MISS');
    expect((await http(`${url}/catalog/a`)).headers.get('x-cache')).toBe('HIT');
    expect(counts.one).toBe(1);
  });

  it('class-level @CacheEvict applies to the controller’s writes: a POST evicts the cached list (its GETs do not)', async () => {
    const first = await http(`${url}/catalog`);
    expect((await http(`${url}/catalog`)).body).toEqual(first.body);
    expect((await http(`${url}/catalog`, { method: 'POST' })).status).toBe(201);
    const after = await http(`${url}/catalog`);
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(after.body.n).toBe(first.body.n + 1);
  });

  it('@Cached with @CacheEvict on one service method: cached, then the eviction follows (as on routes)', async () => {
    const other1 = await http(`${url}/svc/other`);
    expect((await http(`${url}/svc/other`)).body).toEqual(other1.body); // cached
    const both1 = await http(`${url}/svc/x/both`);
    const both2 = await http(`${url}/svc/x/both`);
    expect(both2.body).toEqual(both1.body); // the call itself is cached
    const other2 = await http(`${url}/svc/other`);
    expect(other2.body.n).toBe(other1.body.n + 1); // and svc:other was evicted
  });

  it('the cache runs outside the lock: a cache hit is served while the lock is held, a miss waits for it (409)', async () => {
    expect((await http(`${url}/locked/7`)).status).toBe(200); // MISS under the lock, stored
    const held = await app.get(LockService).acquire('locked:7', { ttl: 10_000 });
    try {
      const hit = await http(`${url}/locked/7`);
      expect(hit.status).toBe(200);
      expect(hit.headers.get('x-cache')).toBe('HIT');
      expect((await http(`${url}/locked/8`)).status).toBe(200); // other resource
      expect((await http(`${url}/locked/7`, { method: 'POST' })).status).toBe(409); // class-level lock
    } finally {
      await held.release();
    }
  });

  it('warns at start-up when a request-scoped provider carries a decorator', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn');
    try {
      const { app: scoped } = await start(modules(), [], [PerRequest]);
      await scoped.close();
      expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(
        /PerRequest\.value carries cache:cached but its provider is request-scoped/,
      );
    } finally {
      warn.mockRestore();
    }
  });

  it('extension points: a CacheInterceptor and a LockInterceptor subclass given to forRoot', async () => {
    const { app: tenantApp, url: t } = await start(
      [
        RedisModule.forRoot({ prefix: `${prefix}-t`, state: { topology: sharedRedisTopology() } }),
        CacheModule.forRoot({ interceptor: TenantCacheInterceptor }),
        LockModule.forRoot({ interceptor: TenantLockInterceptor }),
      ],
      [TenantController],
    );
    try {
      const a1 = await http(`${t}/tenant/me`, { headers: { 'x-tenant': 'a' } });
      const b1 = await http(`${t}/tenant/me`, { headers: { 'x-tenant': 'b' } });
      expect(b1.body.n).not.toBe(a1.body.n); // one entry per tenant
      expect((await http(`${t}/tenant/me`, { headers: { 'x-tenant': 'a' } })).body).toEqual(
        a1.body,
      );
      // Two tenants run their job at once; the same tenant twice → 409.
      const jobs = await Promise.all([
        http(`${t}/tenant/job`, { method: 'POST', headers: { 'x-tenant': 'a' } }),
        http(`${t}/tenant/job`, { method: 'POST', headers: { 'x-tenant': 'b' } }),
        http(`${t}/tenant/job`, { method: 'POST', headers: { 'x-tenant': 'a' } }),
      ]);
      expect(jobs.map((r) => r.status).sort()).toEqual([201, 201, 409]);
    } finally {
      await tenantApp.close();
    }
  });
});
