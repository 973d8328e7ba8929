/** A real Temporal dev server per test file, on a free port, with its database in a temporary home. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { Client } from '@temporalio/client';
import { ensureDevServer, freePort } from '../../src/temporal/server.js';
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
  startWorkers(queues?: QueueName[]): Promise<{ stop(): Promise<void> }>;
  stop(): Promise<void>;
}

export async function startTestEnv(opts: { limits?: Partial<SandboxLimits> } = {}): Promise<TestEnv> {
  const home = mkdtempSync(path.join(tmpdir(), 'ssr-test-'));
  const port = await freePort();
  const srv = await ensureDevServer(home, { port, uiPort: await freePort() });
  const env = { ...process.env, TEMPORAL_ADDRESS: srv.address, TEMPORAL_NAMESPACE: 'default', SSR_HOME: home };
  const target = { address: srv.address, namespace: 'default', tls: null, apiKey: null };
  const client = await connectClient(target);
  await ensureSearchAttributes(client, 'default');
  const runtime = createRuntime({ home, limits: opts.limits });
  return {
    home, address: srv.address, port, serverPid: srv.pid, client, runtime, env,
    async startWorkers(queues = Object.values(QUEUES) as QueueName[]) {
      const connection = await connectWorker(target);
      const workers: Worker[] = await createWorkers(queues, { connection, namespace: 'default', runtime, sandboxSlots: 2 });
      const running = Promise.all(workers.map((w) => w.run()));
      return {
        async stop() {
          for (const w of workers) w.shutdown();
          await running;
          await connection.close();
        },
      };
    },
    async stop() {
      await client.connection.close();
      if (srv.pid) { try { process.kill(srv.pid, 'SIGTERM'); } catch { /* already gone */ } }
    },
  };
}
