/** A workflow of n sequential no-op activities: what Temporal itself costs per activity (for `npm run bench`). */
import { proxyActivities } from '@temporalio/workflow';
import type { ControlActivities } from '../activities/index.js';
import { QUEUES } from './queues.js';

const { ping } = proxyActivities<ControlActivities>({ taskQueue: QUEUES.control, startToCloseTimeout: '10 seconds' });

export async function pingWorkflow(n: number): Promise<number> {
  let s = 0;
  for (let i = 0; i < n; i++) s += await ping(i);
  return s;
}
