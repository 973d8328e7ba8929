/**
 * What every worker entry point runs (`tsx workers/sandbox.ts`, or the CLI's `ssr worker --queue ssr-sandbox`).
 * Address, namespace and TLS come from the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*).
 */
import { createRuntime } from '../src/runtime.js';
import type { Backend } from '../src/sandbox/router.js';
import { connectWorker } from '../src/temporal/connect.js';
import { temporalTarget } from '../src/temporal/config.js';
import type { QueueName } from '../workflows/queues.js';
import { createWorkers, runWorkers } from './start.js';
import { superviseDevServer } from '../src/temporal/watchdog.js';
import { ensureDevServer } from '../src/temporal/server.js';

export async function workerMain(queues: QueueName[], opts: { isolation?: 'bwrap' | 'none'; slots?: number; identity?: string; sandbox?: Backend } = {}): Promise<void> {
  const runtime = createRuntime({ isolation: opts.isolation, sandbox: opts.sandbox });
  // Without an address, the workers serve this home's own embedded server (started here if none runs): never a server
  // another home started on the default port, whose tasks would need that home's store.
  if (!process.env.TEMPORAL_ADDRESS) await ensureDevServer(runtime.home);
  const target = temporalTarget(process.env, runtime.home);
  const connection = await connectWorker(target);
  const workers = await createWorkers(queues, { connection, namespace: target.namespace, runtime, sandboxSlots: opts.slots, identity: opts.identity });
  console.error(`ssr worker ${queues.join(',')} on ${target.address}/${target.namespace} (pid ${process.pid}, home ${runtime.home})`);
  const watchdog = superviseDevServer(runtime.home, target, (m) => console.error(m));
  try {
    await runWorkers(workers);
  } finally {
    watchdog?.stop();
  }
  await connection.close();
}

/** Runs a worker entry file's queues; `--no-isolation`, `--slots N` and `--sandbox local|docker` as for `ssr worker`. */
export function runEntry(queues: QueueName[]): void {
  const arg = (name: string) => { const i = process.argv.indexOf(name); return i >= 0 ? process.argv[i + 1] : undefined; };
  const sandbox = arg('--sandbox');
  if (sandbox !== undefined && sandbox !== 'local' && sandbox !== 'docker') { console.error(`--sandbox must be local or docker, not ${sandbox}`); process.exit(2); }
  workerMain(queues, {
    isolation: process.argv.includes('--no-isolation') ? 'none' : undefined,
    slots: arg('--slots') ? Number(arg('--slots')) : undefined,
    sandbox,
  }).catch((e) => { console.error(e); process.exit(1); });
}
