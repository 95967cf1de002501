import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Names of the Chromium executable looked up on PATH (Debian's package is `chromium`). */
const CHROMIUM_NAMES = ['chromium', 'chromium-browser'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Chromium that browser suites drive through playwright-core's `executablePath`:
 * `CHROMIUM_PATH` when set (a path that is not executable is an error, not a skip), else the
 * first `chromium` / `chromium-browser` on PATH, else undefined (the suite skips, saying why).
 * `.ci/run` installs the Debian `chromium` package when none is found.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const override = env.CHROMIUM_PATH;
  if (override) {
    if (!executable(override))
      throw new Error(`CHROMIUM_PATH=${override} is not an executable file`);
    return override;
  }
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const name of CHROMIUM_NAMES) {
      const candidate = join(dir, name);
      if (executable(candidate)) return candidate;
    }
  }
  return undefined;
}

/** Why a browser suite is skipped, for its title and the log. */
export const NO_BROWSER_MESSAGE =
  'SKIPPED: no Chromium found (set CHROMIUM_PATH, or install the Debian package `chromium`: .ci/run does)';
