/**
 * The Temporal dev server SIGKILLed while a round runs and nobody starts it again: the workers' watchdog (what
 * `ssr worker` and `ssr campaign start` run) notices the dark port and starts it from its database on the same port,
 * and the campaign finishes intact with no person involved.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { campaignWorkflow, initialState, type CampaignStatus } from '../../workflows/campaign.js';
import { QUEUES } from '../../workflows/queues.js';
import { superviseDevServer, type DevServerWatchdog } from '../../src/temporal/watchdog.js';
import { killServer, serverPidOf, startTestEnv, type TestEnv } from '../helpers/temporal.js';
import { activityRunning, assertCampaignIntact, tinyConfig, waitFor } from '../helpers/faults.js';

let env: TestEnv;
let workers: { stop(): Promise<void> };
let watchdog: DevServerWatchdog | null = null;
before(async () => { env = await startTestEnv(); workers = await env.startWorkers(); });
after(async () => {
  watchdog?.stop();
  await workers?.stop();
  await env?.stop();
});

test('dev server SIGKILLed mid-round, left dead: the watchdog starts it again and the campaign finishes intact', async () => {
  const logs: string[] = [];
  watchdog = superviseDevServer(env.home, { address: env.address, tls: null }, (m) => logs.push(m), 500);
  assert.ok(watchdog, 'the test server is a dev server of this home');
  assert.equal(superviseDevServer(env.home, { address: 'temporal.example.com:7233', tls: null }, () => {}), null, 'another server is not ours to start');

  const id = 't-server-watchdog';
  const firstPid = env.serverPid;
  await env.client.workflow.start(campaignWorkflow, { workflowId: id, taskQueue: QUEUES.control, args: [initialState(id, tinyConfig({ steps: 2 }))] });
  await waitFor(`an activity of ${id}/0/0 running`, () => activityRunning(env.client, `${id}/0/0`));
  await killServer(env.home, env.port);

  const final = await waitFor<CampaignStatus>('the campaign result', () => env.client.workflow.getHandle(id).result(), 480_000);
  assert.equal(final.step, 2);
  await assertCampaignIntact(env.client, env.runtime.store, id, 2, 1);
  assert.ok(watchdog.restarts >= 1, `the watchdog started the server again: ${logs.join(' | ')}`);
  const pid = serverPidOf(env.home, env.port);
  assert.ok(pid && pid !== firstPid, `a new server process (${firstPid} -> ${pid})`);
  assert.match(logs.join('\n'), /was down; started it again from .*temporal-\d+\.db/);
});
