/**
 * Keys from a method call, shared by the cache and lock decorators. On a route (`on: 'route'`):
 * route params and query values by name (`'user:{id}'`), argument positions too. On a provider
 * method (`on: 'method'`): arguments by position (`'user:{0}'`, `'{0.id}'`). Or a function of the
 * whole context.
 */
export type KeySource = string | ((ctx: KeyContext) => string);

export interface KeyContext {
  /** Where the call comes from: a route handler (params and query by name) or a provider method. */
  on: 'route' | 'method';
  args: unknown[];
  params: Record<string, string>;
  query: Record<string, unknown>;
}

/** The key context of a provider-method call (no route params or query). */
export function methodKeyContext(args: unknown[]): KeyContext {
  return { on: 'method', args, params: {}, query: {} };
}

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` make the same key. */
export function stableStringify(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : v,
  );
}

function lookup(ctx: KeyContext, path: string): unknown {
  const [head, ...rest] = path.split('.');
  let v: unknown = /^\d+$/.test(head)
    ? ctx.args[Number(head)]
    : ctx.on === 'route'
      ? (ctx.params[head] ?? ctx.query[head])
      : undefined;
  for (const p of rest)
    v = v === null || v === undefined ? undefined : (v as Record<string, unknown>)[p];
  return v;
}

/**
 * Fills `{name}` / `{0}` / `{0.id}` placeholders; a placeholder with no value is an error, not an
 * `undefined` key. With no source, the key is `fallback` plus the stable JSON of the params and
 * query (routes) or the arguments (methods).
 */
export function buildKey(source: KeySource | undefined, ctx: KeyContext, fallback = ''): string {
  if (typeof source === 'function') return source(ctx);
  if (source === undefined)
    return `${fallback}:${stableStringify(ctx.on === 'route' ? { p: ctx.params, q: ctx.query } : ctx.args)}`;
  return source.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = lookup(ctx, name);
    if (v === undefined) throw new Error(`Key "${source}": no value for {${name}}`);
    return typeof v === 'object' || typeof v === 'function'
      ? stableStringify(v)
      : `${v as string | number | boolean | bigint}`;
  });
}

export function buildTags(
  source: string[] | ((ctx: KeyContext) => string[]) | undefined,
  ctx: KeyContext,
): string[] | undefined {
  if (!source) return undefined;
  return typeof source === 'function' ? source(ctx) : source.map((t) => buildKey(t, ctx));
}
