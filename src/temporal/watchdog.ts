/**
 * Keeps this state directory's embedded dev server up under long-running workers. The workers' connections ride out
 * a dead server by retrying, but nothing would start it again until someone ran an `ssr` command: a campaign left
 * running overnight would stall at the first server crash. A server of any other address is not ours to start.
 */
import type { TemporalTarget } from './config.js';
import { ensureDevServer, localDevServerPort, portOpen } from './server.js';

export interface DevServerWatchdog {
  /** Times it started the server again. */
  readonly restarts: number;
  stop(): void;
}

/**
 * Checks the port every `intervalMs`; after two dark checks in a row (a server that is merely slow to answer once is
 * left alone) it starts the server again from its database on the same port. Null when the target is not a dev
 * server whose database is under `home`.
 */
export function superviseDevServer(home: string, target: Pick<TemporalTarget, 'address' | 'tls'>, log: (m: string) => void, intervalMs = 5000): DevServerWatchdog | null {
  const { address } = target;
  // The embedded server never speaks TLS: a TLS target is someone else's server.
  const port = target.tls ? null : localDevServerPort(address, home);
  if (port === null) return null;
  let dark = 0, busy = false, restarts = 0;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      try {
        if (await portOpen(port, '127.0.0.1', 2000)) { dark = 0; return; }
        if (++dark < 2) return;
        const srv = await ensureDevServer(home, { port });
        dark = 0;
        if (!srv.reused) {
          restarts++;
          log(`temporal: the dev server at ${address} was down; started it again from ${srv.dbFile} (pid ${srv.pid ?? '?'})`);
        }
      } catch (e) {
        // Tried again at the next tick; the workers keep retrying their connections meanwhile.
        log(`temporal: the dev server at ${address} is down and could not be started again: ${(e as Error).message}`);
      } finally {
        busy = false;
      }
    })();
  }, intervalMs);
  timer.unref();
  return { get restarts() { return restarts; }, stop: () => clearInterval(timer) };
}
