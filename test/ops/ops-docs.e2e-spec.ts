import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { load } from 'js-yaml';
import { getRedisToken, RedisClient, RedisKeys } from '../../src/redis';
import { eventually, http } from '../support/app';
import { logIn, SEEDED_USERS } from '../support/credentials';
import { describeOnPlatforms } from '../support/platforms';
import { connectSocket, TestSocket } from '../support/sockets';
import { grafanaQueryExpr, metricNames, selectors, Selector } from './promql';

/**
 * docs/ops as code: the alert rules pass `promtool check rules` and their unit tests
 * (`promtool test rules`), the Grafana dashboard is well formed, and every metric name either
 * uses — with the label names of its matchers — exists in the `/metrics` output of the real app
 * after traffic that creates every lazily-labelled series.
 */

const OPS = join(__dirname, '..', '..', 'docs', 'ops');
const ALERTS = join(OPS, 'alerts.yml');
const ALERT_TESTS = join(OPS, 'alerts.test.yml');
const DASHBOARD = join(OPS, 'grafana-dashboard.json');

/** `PROMTOOL_PATH`, else `promtool` on PATH (Debian's `prometheus` package; `.ci/run` installs it). */
function findPromtool(): string | undefined {
  const named = process.env.PROMTOOL_PATH;
  if (named) return named; // a wrong path fails the suite below, it is not a skip
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'promtool');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

const PROMTOOL = findPromtool();
/** Without promtool the suite fails, unless PROMTOOL_OPTIONAL=1 says to skip it. */
const SKIP_PROMTOOL = !PROMTOOL && process.env.PROMTOOL_OPTIONAL === '1';
const NO_PROMTOOL =
  'promtool not found: install the Debian package `prometheus` (.ci/run does), set PROMTOOL_PATH, ' +
  'or set PROMTOOL_OPTIONAL=1 to skip the alert-rule tests';

function promtool(...args: string[]): { status: number | null; output: string } {
  const r = spawnSync(PROMTOOL!, args, { cwd: OPS, encoding: 'utf8', timeout: 120_000 });
  if (r.error) throw new Error(`${PROMTOOL} ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
}
interface RuleFile {
  groups: { name: string; rules: AlertRule[] }[];
}
interface RuleTests {
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: { expr: string; refId: string; datasource?: unknown }[];
  panels?: Panel[];
  datasource?: { uid?: string };
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
}

const rules = (): AlertRule[] =>
  (load(readFileSync(ALERTS, 'utf8')) as RuleFile).groups.flatMap((g) => g.rules);
const dashboard = (): Dashboard => JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const allPanels = (panels: Panel[]): Panel[] =>
  panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);

/** Every PromQL expression of the alerts and the dashboard, with where it is used. */
function expressions(): { where: string; expr: string }[] {
  const out = rules().map((r) => ({ where: `alerts.yml ${r.alert ?? r.record}`, expr: r.expr }));
  const d = dashboard();
  for (const p of allPanels(d.panels))
    for (const t of p.targets ?? [])
      out.push({ where: `dashboard "${p.title}" ${t.refId}`, expr: t.expr });
  for (const v of d.templating.list) {
    if (v.type !== 'query' || v.query === undefined) continue;
    const q = typeof v.query === 'string' ? v.query : v.query.query;
    out.push({ where: `dashboard variable $${v.name}`, expr: grafanaQueryExpr(q) });
  }
  return out;
}

describe('PromQL metric-name extraction', () => {
  it.each([
    ['redis_up == 0', ['redis_up']],
    [
      'max by (role, addr) (increase(redis_evicted_keys_total{role="state"}[5m])) > 0',
      ['redis_evicted_keys_total'],
    ],
    [
      'histogram_quantile(0.99, sum by (le, route) (rate(http_request_duration_seconds_bucket{instance=~"$instance"}[$__rate_interval])))',
      ['http_request_duration_seconds_bucket'],
    ],
    [
      'sum(rate(a_total[5m] offset 1d)) without (instance) / on (job) group_left(team) b_info',
      ['a_total', 'b_info'],
    ],
    ['time() - max by (counter) (c_seconds) > 3e2 and d_bytes > 0x1F', ['c_seconds', 'd_bytes']],
    [
      'x_total{msg="by (role) sum(y_total) #", other!~"z_total"} or {__name__="named_metric"}',
      ['named_metric', 'x_total'],
    ],
    ['rate(q_total[5m:1m]) unless bool Inf > nan # comment about not_a_metric', ['q_total']],
    ['label_replace(up_total, "dst", "$1", "src", "(.*)")', ['up_total']],
    [
      'sum(rate(x_total[$__rate_interval])) * ${scale} + job:y_total:rate5m',
      ['x_total', 'job:y_total:rate5m'],
    ],
  ])('%s', (expr, names) => {
    expect(metricNames(expr).sort()).toEqual([...names].sort());
  });

  it('keeps the label names of each selector’s matchers', () => {
    expect(
      selectors('sum by (cache) (rate(c_total{result=~"hit|stale", cache!=""}[5m])) / d{x="1"}'),
    ).toEqual([
      { metric: 'c_total', labels: ['result', 'cache'] },
      { metric: 'd', labels: ['x'] },
    ]);
  });

  it('reads the selector of a Grafana label_values() query, not its label', () => {
    expect(
      metricNames(grafanaQueryExpr('label_values(http_requests_total{a="b"}, route)')),
    ).toEqual(['http_requests_total']);
    expect(metricNames(grafanaQueryExpr('label_values(instance)'))).toEqual([]);
  });
});

(SKIP_PROMTOOL ? describe.skip : describe)(
  `alert rules (docs/ops/alerts.yml) with promtool${SKIP_PROMTOOL ? ' — SKIPPED: no promtool and PROMTOOL_OPTIONAL=1' : ''}`,
  () => {
    beforeAll(() => {
      if (!PROMTOOL) throw new Error(NO_PROMTOOL);
    });

    it('promtool check rules accepts them', () => {
      const r = promtool('check', 'rules', 'alerts.yml');
      expect(r.output).toMatch(/SUCCESS/);
      expect(r.status).toBe(0);
    });

    it('promtool test rules: every unit test in alerts.test.yml passes', () => {
      const r = promtool('test', 'rules', 'alerts.test.yml');
      if (r.status !== 0) throw new Error(r.output);
      expect(r.output).toMatch(/SUCCESS/);
    });
  },
);

describe('alert rule unit tests (docs/ops/alerts.test.yml)', () => {
  it('every alert has a unit test where it fires and one where it stays quiet', () => {
    const cases = (load(readFileSync(ALERT_TESTS, 'utf8')) as RuleTests).tests.flatMap(
      (t) => t.alert_rule_test ?? [],
    );
    const alerts = rules().flatMap((r) => (r.alert ? [r.alert] : []));
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect({ alert, fires: mine.some((c) => c.exp_alerts.length > 0) }).toEqual({
        alert,
        fires: true,
      });
      expect({ alert, quiet: mine.some((c) => c.exp_alerts.length === 0) }).toEqual({
        alert,
        quiet: true,
      });
    }
  });
});

describe('Grafana dashboard (docs/ops/grafana-dashboard.json)', () => {
  it('is a dashboard whose panels have unique ids, a place on the grid and PromQL targets on the datasource variable', () => {
    const d = dashboard();
    expect(d.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(d.templating.list.map((v) => v.name)).toEqual(
      expect.arrayContaining(['datasource', 'instance']),
    );
    const panels = allPanels(d.panels);
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    for (const p of panels) {
      expect(p.gridPos.w).toBeGreaterThan(0);
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      if (p.type === 'row') continue;
      expect({ panel: p.title, uid: p.datasource?.uid }).toEqual({
        panel: p.title,
        uid: '${datasource}',
      });
      expect(p.targets?.length).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(metricNames(t.expr).length).toBeGreaterThan(0);
    }
  });

  it('has the panels the issue asks for', () => {
    const titles = allPanels(dashboard().panels).map((p) => p.title);
    for (const want of [
      /request rate per route/i,
      /p99 latency per route/i,
      /cache hit ratio/i,
      /redis command p99 per command/i,
      /queue depth/i,
      /websocket connections/i,
    ])
      expect(titles).toContainEqual(expect.stringMatching(want));
  });
});

/** Samples of a Prometheus text exposition: metric name → the label names seen on it. */
function exposition(text: string): {
  samples: Map<string, Set<string>>;
  types: Map<string, string>;
} {
  const samples = new Map<string, Set<string>>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) types.set(type[1], type[2]);
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{([^}]*)\})?\s/.exec(line);
    if (!m) throw new Error(`unparsable /metrics line: ${line}`);
    const labels = samples.get(m[1]) ?? new Set<string>();
    for (const l of (m[3] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="/g)) labels.add(l[1]);
    samples.set(m[1], labels);
  }
  return { samples, types };
}

/** Labels Prometheus adds to every series of a scrape target: never in /metrics itself. */
const TARGET_LABELS = new Set(['instance', 'job']);

/** What is wrong with one selector against the exposition (undefined: nothing). */
function problem(s: Selector, where: string, e: ReturnType<typeof exposition>): string | undefined {
  const labels = e.samples.get(s.metric);
  if (!labels) {
    const type = e.types.get(s.metric);
    if (type === 'histogram' || type === 'summary')
      return `${where}: ${s.metric} is a ${type}: select ${s.metric}_bucket, _sum or _count`;
    if (type) return `${where}: ${s.metric} is declared (${type}) but has no sample`;
    const stem = s.metric.split('_').slice(0, 2).join('_');
    const near = [...e.samples.keys()].filter((n) => n.startsWith(stem)).slice(0, 5);
    return `${where}: ${s.metric} is not in /metrics (names starting ${stem}: ${near.join(', ') || 'none'})`;
  }
  const missing = s.labels.filter((l) => !labels.has(l) && !TARGET_LABELS.has(l));
  if (missing.length > 0)
    return `${where}: ${s.metric} has no label ${missing.join(', ')} (it has ${[...labels].join(', ')})`;
  return undefined;
}

describeOnPlatforms(
  'every metric in the alerts and the dashboard exists in /metrics',
  // Flushes every 200 ms, a short report job: the traffic below creates every series quickly.
  { env: { COUNTER_FLUSH_MS: '200', REPORT_JOB_WORK_MS: '20' } },
  (t) => {
    let socket: TestSocket | undefined;
    let metrics = '';

    beforeAll(async () => {
      // A cached GET twice (a miss, then a hit) through the rate-limit guard.
      for (let i = 0; i < 2; i++) expect((await http(`${t.url}/api/users/1`)).status).toBe(200);
      // A page view, counted in Redis and flushed by this process (role `all`).
      expect((await http(`${t.url}/api/pages/1`)).status).toBe(200);
      // A report job (locked per user), processed by this process's worker.
      const alan = { cookie: await logIn(t.url, SEEDED_USERS.alan.email) };
      const queued = await http(`${t.url}/api/reports`, { method: 'POST', headers: alan });
      expect(queued.status).toBe(202);
      const done = await eventually(
        () => http(`${t.url}/api/jobs/report/${queued.body.jobId as string}`, { headers: alan }),
        (r) => r.body?.state === 'completed',
      );
      expect(done.body.state).toBe('completed');
      // An open WebSocket.
      socket = await connectSocket(t.url, alan);
      // A Redis command that fails (WRONGTYPE), so the error counter has a series.
      const state = t.app.get<RedisClient>(getRedisToken('state'));
      const key = t.app.get(RedisKeys).namespace('ops-docs-test').key('wrongtype');
      await state.set(key, 'a string', 'PX', 60_000);
      await expect(state.lpush(key, 'x')).rejects.toThrow(/WRONGTYPE/);
      await state.del(key);
      // Wait for a completed counter flush, then keep that scrape.
      const scraped = await eventually(
        async () => (await http(`${t.url}/metrics`)).text,
        (text) => /^counter_flush_total\{[^}]*result="ok"/m.test(text),
      );
      metrics = scraped;
    });
    afterAll(() => socket?.close());

    it('every metric name (and matcher label) used by a rule, a panel or a variable has a sample', () => {
      const e = exposition(metrics);
      const used = expressions();
      expect(used.length).toBeGreaterThan(20);
      const problems = used.flatMap(({ where, expr }) =>
        selectors(expr).flatMap((s) => problem(s, where, e) ?? []),
      );
      expect(problems).toEqual([]);
    });
  },
);
