import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where the page's files live: `src/demo/public` (tests) or `dist/demo/public` (copied there as
 * they are by nest-cli.json assets; tsconfig.json excludes the folder, so neither tsc nor the SWC
 * build of `npm start` compiles the browser script).
 */
export const DEMO_PUBLIC_DIR = join(__dirname, 'public');

/** The page's files, by URL path. A fixed list: nothing else under these paths is ever read from disk. */
export const DEMO_FILES = {
  '/': 'index.html',
  '/demo/app.js': 'app.js',
  '/demo/app.css': 'app.css',
} as const;

export type DemoPath = keyof typeof DEMO_FILES;

/**
 * The page's Content-Security-Policy: its own scripts and styles only (no inline code, no other
 * origin); `connect-src 'self'` covers the API and the same-origin WebSocket (`ws:`/`wss:` of
 * this host, CSP Level 3).
 */
export const DEMO_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Reads every demo file once, as text (served from memory; a string, because Nest's Express
 * adapter would send a Buffer as JSON). A missing file is a start-up error naming it: a broken
 * build, not a 404 later.
 */
export function loadDemoAssets(dir = DEMO_PUBLIC_DIR): Map<DemoPath, string> {
  const assets = new Map<DemoPath, string>();
  for (const [path, file] of Object.entries(DEMO_FILES) as [DemoPath, string][]) {
    assets.set(path, readFileSync(join(dir, file), 'utf8'));
  }
  return assets;
}
