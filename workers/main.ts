/**
 * Process entry point of a worker: `tsx workers/main.ts --queue ssr-sandbox` (the CLI's `ssr worker` is the same).
 * Address, namespace and TLS come from the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*).
 */
import { createRuntime } from '../src/runtime.js';
import { connectWorker } from '../src/temporal/connect.js';
import { temporalTarget } from '../src/temporal/config.js';
import { QUEUES, type QueueName } from '../workflows/queues.js';
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

const isMain = process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\/workers\//, '/workers/'));
if (isMain) {
  const i = process.argv.indexOf('--queue');
  const q = (i >= 0 ? process.argv[i + 1] : 'all') ?? 'all';
  const all = Object.values(QUEUES) as QueueName[];
  const queues = q === 'all' ? all : q.split(',') as QueueName[];
  for (const x of queues) if (!all.includes(x)) { console.error(`unknown queue ${x}; one of ${all.join(', ')}, all`); process.exit(2); }
  workerMain(queues, { isolation: process.argv.includes('--no-isolation') ? 'none' : undefined }).catch((e) => { console.error(e); process.exit(1); });
}
