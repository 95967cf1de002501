/**
 * Which commands reach Redis while something runs, split into what clients sent (round trips)
 * and what Lua scripts ran inside Redis, from `MONITOR` on a raw socket of its own (closed at
 * once afterwards, so nothing is left monitoring). MONITOR slows Redis down: never use it
 * during a timed run.
 */
import { Socket } from 'node:net';

export interface MonitorCounts {
  /** per command (lower case): sent by clients */
  sent: Map<string, number>;
  /** per command: run by scripts (MONITOR source `lua`) */
  inScripts: Map<string, number>;
}

/** `+<time> [<db> <source>] "<command>" …` */
const LINE = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] "([^"]*)"/;

/** Runs `fn` with MONITOR on (`redisUrl`: redis://127.0.0.1:<port>) and counts what Redis saw. */
export async function monitorWhile<T>(
  redisUrl: string,
  fn: () => Promise<T>,
  { ignore = ['info', 'ping'] }: { ignore?: string[] } = {},
): Promise<MonitorCounts & { result: T }> {
  const { hostname, port } = new URL(redisUrl);
  if (hostname !== '127.0.0.1') throw new Error('MONITOR goes to 127.0.0.1 only');
  const socket = new Socket();
  let text = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    text += d;
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('MONITOR did not start')), 5_000);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      const ok = () => {
        if (text.startsWith('+OK\r\n')) {
          clearTimeout(timer);
          socket.off('data', ok);
          resolve();
        } else if (text.startsWith('-')) {
          clearTimeout(timer);
          reject(new Error(`MONITOR refused: ${text.split('\r\n')[0]}`));
        }
      };
      socket.on('data', ok);
      socket.connect(Number(port), hostname, () => socket.write('MONITOR\r\n'));
    });
    const result = await fn();
    await new Promise((r) => setTimeout(r, 100)); // the last lines
    const sent = new Map<string, number>();
    const inScripts = new Map<string, number>();
    for (const line of text.split('\r\n').slice(1)) {
      const m = LINE.exec(line);
      if (!m) continue;
      const cmd = m[2].toLowerCase();
      if (ignore.includes(cmd)) continue;
      const into = m[1] === 'lua' ? inScripts : sent;
      into.set(cmd, (into.get(cmd) ?? 0) + 1);
    }
    return { sent, inScripts, result };
  } finally {
    socket.destroy();
  }
}
