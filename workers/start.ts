/** Starts the workers of one or more task queues in this process, against any Temporal server. */
import path from 'node:path';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { createControlActivities, createGpuActivities, createSandboxActivities } from '../activities/index.js';
import type { Runtime } from '../src/runtime.js';
import { QUEUES, type QueueName } from '../workflows/queues.js';
import { workflowBundle } from './bundle.js';
import { startReaper } from '../src/sandbox/docker/reaper.js';

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  runtime: Runtime;
  /** Sandbox activities run at once on this worker (each runs test suites: about one per core). */
  sandboxSlots?: number;
  identity?: string;
}

export async function createWorkers(queues: QueueName[], o: WorkerOptions): Promise<Worker[]> {
  const workers: Worker[] = [];
  for (const q of queues) {
    if (q === QUEUES.control) {
      workers.push(await Worker.create({
        connection: o.connection, namespace: o.namespace, taskQueue: q, ...(o.identity ? { identity: o.identity } : {}),
        workflowBundle: await workflowBundle(path.join(o.runtime.home, 'cache')),
        activities: createControlActivities(o.runtime),
        maxConcurrentWorkflowTaskExecutions: 20,
      }));
    } else if (q === QUEUES.sandbox) {
      // Containers a crashed worker of this machine left behind are removed now and every few minutes.
      startReaper();
      workers.push(await Worker.create({
        connection: o.connection, namespace: o.namespace, taskQueue: q, ...(o.identity ? { identity: o.identity } : {}),
        activities: createSandboxActivities(o.runtime),
        maxConcurrentActivityTaskExecutions: o.sandboxSlots ?? 2,
      }));
    } else {
      workers.push(await Worker.create({
        connection: o.connection, namespace: o.namespace, taskQueue: q, ...(o.identity ? { identity: o.identity } : {}),
        activities: createGpuActivities(o.runtime),
        maxConcurrentActivityTaskExecutions: 1,
      }));
    }
  }
  return workers;
}

/** Runs workers until the process is told to stop (SIGINT/SIGTERM) or `until` settles. */
export async function runWorkers(workers: Worker[], until?: Promise<unknown>): Promise<void> {
  const stop = () => workers.forEach((w) => { try { w.shutdown(); } catch { /* already stopping */ } });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const running = Promise.all(workers.map((w) => w.run()));
  if (until) {
    try { await until; } finally { stop(); }
  }
  await running;
}
