/**
 * Keys from a method call, shared by the cache and lock decorators. On a controller method:
 * route params by name (`'user:{id}'`), or a function of `{ params, query, args }`. On a service
 * method: arguments by position (`'user:{0}'`, `'{0.id}'`) or a function of `{ args }`.
 */
export type KeySource = string | ((ctx: KeyContext) => string);
export interface KeyContext {
  args: unknown[];
  params: Record<string, string>;
  query: Record<string, unknown>;
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

function lookup(ctx: KeyContext, path: string, http: boolean): unknown {
  const [head, ...rest] = path.split('.');
  let v: unknown = /^\d+$/.test(head)
    ? ctx.args[Number(head)]
    : http
      ? (ctx.params[head] ?? ctx.query[head])
      : undefined;
  for (const p of rest)
    v = v === null || v === undefined ? undefined : (v as Record<string, unknown>)[p];
  return v;
}

/** Fills `{name}` / `{0}` / `{0.id}` placeholders; a placeholder with no value is an error, not an `undefined` key. */
export function buildKey(
  source: KeySource | undefined,
  ctx: KeyContext,
  fallback: string,
  http: boolean,
): string {
  if (typeof source === 'function') return source(ctx);
  if (source === undefined)
    return `${fallback}:${stableStringify(http ? { p: ctx.params, q: ctx.query } : ctx.args)}`;
  return source.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    const v = lookup(ctx, name, http);
    if (v === undefined) throw new Error(`Cache key "${source}": no value for {${name}}`);
    return typeof v === 'object' || typeof v === 'function'
      ? stableStringify(v)
      : `${v as string | number | boolean | bigint}`;
  });
}

export function buildTags(
  source: string[] | ((ctx: KeyContext) => string[]) | undefined,
  ctx: KeyContext,
  http: boolean,
): string[] | undefined {
  if (!source) return undefined;
  const tags =
    typeof source === 'function' ? source(ctx) : source.map((t) => buildKey(t, ctx, '', http));
  return tags;
}
