/**
 * The metric names (and the label names of their matchers) a PromQL expression selects, for the
 * check that every name in docs/ops/alerts.yml and docs/ops/grafana-dashboard.json exists in a
 * real `/metrics` output. Not a PromQL parser: it removes what cannot be a metric name (strings,
 * comments, Grafana variables, durations and numbers, label lists of `by`/`without`/`on`/
 * `ignoring`/`group_left`/`group_right`) and keeps identifiers that are neither keywords nor
 * followed by `(` (functions and aggregations).
 */
export interface Selector {
  metric: string;
  /** Label names in the selector's matchers (`{result=~"hit|stale"}` → `result`). */
  labels: string[];
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'offset',
  'bool',
  'inf',
  'nan',
]);

const LABEL_LIST = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)/gi;
const STRING = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;

/** Label names of a matcher block's inside (`a="x", b=~"y"` → `a`, `b`), strings removed first. */
function matcherLabels(inside: string): string[] {
  return [...inside.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]);
}

export function selectors(expr: string): Selector[] {
  const out: Selector[] = [];
  // `{__name__="x"}` names a metric in a string: read it before strings go.
  for (const m of expr.matchAll(/__name__\s*=\s*"([^"]+)"/g))
    out.push({ metric: m[1], labels: [] });
  let s = expr
    .replace(STRING, '""')
    .replace(/#[^\n]*/g, ' ')
    .replace(/\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(LABEL_LIST, ' ');
  // Matcher blocks: remember their labels, keyed by the identifier before them (if any).
  const blocks: string[][] = [];
  s = s.replace(/\{([^}]*)\}/g, (_m, inside: string) => {
    blocks.push(matcherLabels(inside).filter((l) => l !== '__name__'));
    return ` ⟨${blocks.length - 1}⟩ `;
  });
  const token = /\d[\w.]*|\.\d[\w.]*|[A-Za-z_:][A-Za-z0-9_:]*|⟨(\d+)⟩/g;
  let m: RegExpExecArray | null;
  let last: Selector | undefined;
  while ((m = token.exec(s))) {
    const t = m[0];
    if (m[1] !== undefined) {
      // a matcher block: it belongs to the metric just before it, if that was the previous token
      if (last) last.labels.push(...blocks[Number(m[1])]);
      last = undefined;
      continue;
    }
    last = undefined;
    if (/^[\d.]/.test(t)) continue; // numbers, durations, hex
    if (KEYWORDS.has(t.toLowerCase())) continue;
    if (/^\s*\(/.test(s.slice(token.lastIndex))) continue; // a function or an aggregation
    last = { metric: t, labels: [] };
    out.push(last);
  }
  return out;
}

/** The metric names of an expression, each once. */
export function metricNames(expr: string): string[] {
  return [...new Set(selectors(expr).map((s) => s.metric))];
}

/**
 * The expression inside a Grafana template query: `label_values(metric{…}, label)` → its
 * selector (the label is a name, not a metric); `query_result(expr)` → expr; else the query.
 */
export function grafanaQueryExpr(query: string): string {
  const lv = /^\s*label_values\s*\(\s*(.*?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$/s.exec(query);
  if (lv) return lv[1];
  if (/^\s*label_values\s*\(\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$/.test(query)) return ''; // a label name only
  const qr = /^\s*query_result\s*\((.*)\)\s*$/s.exec(query);
  return qr ? qr[1] : query;
}
