/**
 * The Temporal dev server SIGKILLed while a round runs, dark for a few seconds, then restarted from its SQLite file
 * on the same port: the workers (in this process, started before the crash) carry on against the new server and
 * the campaign finishes with nothing lost or doubled.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { campaignWorkflow, initialState, type CampaignStatus } from '../../workflows/campaign.js';
import { QUEUES } from '../../workflows/queues.js';
import { startTestEnv, type TestEnv } from '../helpers/temporal.js';
import { activityRunning, assertCampaignIntact, completedActivities, tinyConfig, waitFor } from '../helpers/faults.js';

let env: TestEnv;
let workers: { stop(): Promise<void> };
before(async () => { env = await startTestEnv(); workers = await env.startWorkers(); });
after(async () => {
  await workers?.stop();
  await env?.stop();
});

test('dev server SIGKILLed mid-round and restarted from its database: workers reconnect, the campaign finishes intact', async () => {
  const id = 't-server-kill';
  const firstPid = env.serverPid;
  await env.client.workflow.start(campaignWorkflow, { workflowId: id, taskQueue: QUEUES.control, args: [initialState(id, tinyConfig({ steps: 2 }))] });
  await waitFor(`an activity of ${id}/0/0 running`, () => activityRunning(env.client, `${id}/0/0`));

  const pid = await env.restartServer({ downMs: 4000 });
  assert.ok(pid && pid !== firstPid, 'a new server process');

  // The client's own calls may fail while its channel reconnects; what matters is the campaign's end.
  const final = await waitFor<CampaignStatus>('the campaign result', () => env.client.workflow.getHandle(id).result(), 480_000);
  assert.equal(final.step, 2);
  await assertCampaignIntact(env.client, env.runtime.store, id, 2, 1);

  // Only this process's workers exist, so work done after the restart proves they survived the outage.
  const step1 = (await completedActivities(env.client, `${id}/1/0`)).map((a) => a.identity);
  assert.ok(step1.length > 0 && step1.every((i) => i.startsWith(`${process.pid}@`)), `step 1 ran on this process's workers: ${step1.join(', ')}`);
});
