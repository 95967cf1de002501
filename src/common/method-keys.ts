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

/** A placeholder's path (`id`, `0`, `0.id`) made into a reader of the key context. */
function compilePath(path: string): (ctx: KeyContext) => unknown {
  const [head, ...rest] = path.split('.');
  const index = /^\d+$/.test(head) ? Number(head) : -1;
  return (ctx) => {
    let v: unknown =
      index >= 0
        ? ctx.args[index]
        : ctx.on === 'route'
          ? (ctx.params[head] ?? ctx.query[head])
          : undefined;
    for (const p of rest)
      v = v === null || v === undefined ? undefined : (v as Record<string, unknown>)[p];
    return v;
  };
}

/** A placeholder's value as a key part: scalars as text, objects as stable JSON. */
function placeholderText(source: string, name: string, v: unknown): string {
  if (v === undefined) throw new Error(`Key "${source}": no value for {${name}}`);
  return typeof v === 'object' || typeof v === 'function'
    ? stableStringify(v)
    : `${v as string | number | boolean | bigint}`;
}

const PLACEHOLDER = /\{([^}]+)\}/;

/**
 * Fills `{name}` / `{0}` / `{0.id}` placeholders; a placeholder with no value is an error, not an
 * `undefined` key. With no source, the key is `fallback` plus the stable JSON of the params and
 * query (routes) or the arguments (methods).
 */
export function buildKey(source: KeySource | undefined, ctx: KeyContext, fallback = ''): string {
  if (typeof source !== 'string') return compileKey(source)(ctx, () => fallback);
  return source.replace(new RegExp(PLACEHOLDER.source, 'g'), (_m, name: string) =>
    placeholderText(source, name, compilePath(name)(ctx)),
  );
}

/**
 * {@link buildKey} compiled once per source (a route's `@Cached` key): the template is parsed
 * here, not on every call; the keys are the same. `fallback` is called only for a source of
 * `undefined`.
 */
export function compileKey(
  source: KeySource | undefined,
): (ctx: KeyContext, fallback: () => string) => string {
  if (typeof source === 'function') return (ctx) => source(ctx);
  if (source === undefined)
    return (ctx, fallback) =>
      `${fallback()}:${stableStringify(ctx.on === 'route' ? { p: ctx.params, q: ctx.query } : ctx.args)}`;
  // split() with a capture group: literals at even indexes, placeholder names at odd ones.
  const parts = source.split(new RegExp(PLACEHOLDER.source, 'g'));
  if (parts.length === 1) return () => source;
  const names = parts.filter((_, i) => i % 2 === 1);
  const readers = names.map(compilePath);
  const literals = parts.filter((_, i) => i % 2 === 0);
  return (ctx) => {
    let out = literals[0];
    for (let i = 0; i < readers.length; i++)
      out += placeholderText(source, names[i], readers[i](ctx)) + literals[i + 1];
    return out;
  };
}

/** Whether a key or tag template has `{…}` placeholders (else it is the same on every call). */
export function hasPlaceholders(template: string): boolean {
  return PLACEHOLDER.test(template);
}

export function buildTags(
  source: string[] | ((ctx: KeyContext) => string[]) | undefined,
  ctx: KeyContext,
): string[] | undefined {
  if (!source) return undefined;
  return typeof source === 'function' ? source(ctx) : source.map((t) => buildKey(t, ctx));
}
