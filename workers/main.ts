/**
 * What every worker entry point runs (`tsx workers/sandbox.ts`, or the CLI's `ssr worker --queue ssr-sandbox`).
 * Address, namespace and TLS come from the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*).
 */
import { createRuntime } from '../src/runtime.js';
import { connectWorker } from '../src/temporal/connect.js';
import { temporalTarget } from '../src/temporal/config.js';
import type { QueueName } from '../workflows/queues.js';
import { createWorkers, runWorkers } from './start.js';

export async function workerMain(queues: QueueName[], opts: { isolation?: 'bwrap' | 'none'; slots?: number; identity?: string } = {}): Promise<void> {
  const target = temporalTarget();
  const runtime = createRuntime({ isolation: opts.isolation });
  const connection = await connectWorker(target);
  const workers = await createWorkers(queues, { connection, namespace: target.namespace, runtime, sandboxSlots: opts.slots, identity: opts.identity });
  console.error(`ssr worker ${queues.join(',')} on ${target.address}/${target.namespace} (pid ${process.pid}, home ${runtime.home})`);
  await runWorkers(workers);
  await connection.close();
}

/** Runs a worker entry file's queues; `--no-isolation` and `--slots N` as for `ssr worker`. */
export function runEntry(queues: QueueName[]): void {
  const i = process.argv.indexOf('--slots');
  workerMain(queues, {
    isolation: process.argv.includes('--no-isolation') ? 'none' : undefined,
    slots: i >= 0 ? Number(process.argv[i + 1]) : undefined,
  }).catch((e) => { console.error(e); process.exit(1); });
}
