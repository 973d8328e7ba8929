/** A real Temporal dev server per test file, on a free port, with its database in a temporary home. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { Client } from '@temporalio/client';
import { ensureDevServer, freePort, portOpen } from '../../src/temporal/server.js';
import { connectClient, connectWorker, ensureSearchAttributes } from '../../src/temporal/connect.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import type { SandboxLimits } from '../../src/sandbox/types.js';
import { createWorkers } from '../../workers/start.js';
import { QUEUES, type QueueName } from '../../workflows/queues.js';

export interface TestEnv {
  home: string;
  address: string;
  port: number;
  serverPid: number | null;
  client: Client;
  runtime: Runtime;
  env: NodeJS.ProcessEnv;
  /** `sandboxSlots`: sandbox activities at once (the worker's default, 2, otherwise). */
  startWorkers(queues?: QueueName[], opts?: { sandboxSlots?: number }): Promise<{ stop(): Promise<void> }>;
  /**
   * SIGKILLs the dev server, leaves the port dark for `downMs`, then starts it again from its database file on the
   * same port (as `ensureDevServer` does after a crash). Returns the new server's pid.
   */
  restartServer(opts?: { downMs?: number }): Promise<number | null>;
  stop(): Promise<void>;
}

/** The pid of the server that serves `port` now: whoever (re)started it last wrote it to the pid file. */
export function serverPidOf(home: string, port: number): number | null {
  const f = path.join(home, 'temporal', `server-${port}.pid`);
  return existsSync(f) ? Number(readFileSync(f, 'utf8')) || null : null;
}

/** Kills the dev server of `port` with SIGKILL and waits until nothing listens there. */
export async function killServer(home: string, port: number): Promise<void> {
  const pid = serverPidOf(home, port);
  if (pid) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }
  const deadline = Date.now() + 30_000;
  while (await portOpen(port)) {
    if (Date.now() > deadline) throw new Error(`the dev server on port ${port} (pid ${pid}) still listens after SIGKILL`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * `keepHome`: leave the home (server database, store, logs) on disk after stop(), for a caller that reports paths in
 * it; SSR_KEEP_TEST_HOMES=1 keeps every home, to inspect a failed run. Otherwise stop() removes it: a CI run starts
 * dozens of these, and nothing else would ever delete them.
 */
export async function startTestEnv(opts: { limits?: Partial<SandboxLimits>; keepHome?: boolean } = {}): Promise<TestEnv> {
  const home = mkdtempSync(path.join(tmpdir(), 'ssr-test-'));
  const port = await freePort();
  const uiPort = await freePort();
  const srv = await ensureDevServer(home, { port, uiPort });
  const env = { ...process.env, TEMPORAL_ADDRESS: srv.address, TEMPORAL_NAMESPACE: 'default', SSR_HOME: home };
  const target = { address: srv.address, namespace: 'default', tls: null, apiKey: null };
  const client = await connectClient(target);
  await ensureSearchAttributes(client, 'default');
  const runtime = createRuntime({ home, limits: opts.limits });
  const self: TestEnv = {
    home, address: srv.address, port, serverPid: srv.pid, client, runtime, env,
    async startWorkers(queues = Object.values(QUEUES) as QueueName[], opts = {}) {
      const connection = await connectWorker(target);
      const workers: Worker[] = await createWorkers(queues, { connection, namespace: 'default', runtime, sandboxSlots: opts.sandboxSlots ?? 2 });
      const running = Promise.all(workers.map((w) => w.run()));
      return {
        async stop() {
          for (const w of workers) w.shutdown();
          await running;
          await connection.close();
        },
      };
    },
    async restartServer(opts = {}) {
      await killServer(home, port);
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      const again = await ensureDevServer(home, { port, uiPort });
      self.serverPid = again.pid;
      return again.pid;
    },
    async stop() {
      await client.connection.close();
      // A server restarted since (by restartServer, or by an `ssr` child) has another pid than the first one.
      const pid = serverPidOf(home, port) ?? srv.pid;
      if (pid) { try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ } }
      if (opts.keepHome || process.env.SSR_KEEP_TEST_HOMES === '1') return;
      // The server writes its database here until it is gone.
      const deadline = Date.now() + 10_000;
      while (await portOpen(port) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      try { rmSync(home, { recursive: true, force: true, maxRetries: 3 }); } catch { /* best effort: a leftover home harms nothing */ }
    },
  };
  return self;
}
