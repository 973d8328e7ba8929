import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { campaignWorkflow, initialState } from '../../workflows/campaign.js';
import { QUEUES } from '../../workflows/queues.js';
import { parseConfig } from '../../src/config/load.js';
import { listEpisodes } from '../../src/store/records.js';
import { PROJECT_ROOT } from '../../src/temporal/config.js';
import { startTestEnv, type TestEnv } from '../helpers/temporal.js';
import { exampleRepos } from '../helpers/examples.js';

let env: TestEnv;
let local: { stop(): Promise<void> };
const children: ChildProcess[] = [];
before(async () => { env = await startTestEnv(); local = await env.startWorkers([QUEUES.control, QUEUES.gpu]); });
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await local?.stop();
  await env?.stop();
});

/** A sandbox worker in its own process, as `ssr worker --queue ssr-sandbox` runs it on another machine. */
function sandboxWorker(name: string): ChildProcess {
  const c = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--queue', QUEUES.sandbox, '--slots', '2'], {
    cwd: PROJECT_ROOT, env: { ...env.env, SSR_WORKER_NAME: name }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  c.stderr!.on('data', () => { /* drained so the child never blocks on a full pipe */ });
  children.push(c);
  return c;
}

async function historyIdentities(workflowId: string): Promise<{ identities: Set<string>; started: number }> {
  const h = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const identities = new Set<string>();
  let started = 0;
  for (const e of h.events ?? []) {
    const a = e.activityTaskStartedEventAttributes;
    if (a) { started++; if (a.identity) identities.add(a.identity); }
  }
  return { identities, started };
}

const cfg = (extra: Record<string, unknown>) => parseConfig({
  repos: exampleRepos().map((r) => ({ path: r.path })), steps: 1, solves: 2, solverTestRuns: 4, injectorCandidates: 4,
  strategies: ['direct'], higherOrder: { enabled: false }, heartbeatTimeoutSec: 8, ...extra,
});

test('two sandbox worker processes share the rounds of one campaign', async () => {
  sandboxWorker('a');
  sandboxWorker('b');
  const id = 't-two-workers';
  const h = await env.client.workflow.start(campaignWorkflow, { workflowId: id, taskQueue: QUEUES.control, args: [initialState(id, cfg({ rounds: 3, maxParallelRounds: 3 }))] });
  const final = await h.result();
  assert.equal(final.step, 1);
  const all = new Set<string>();
  for (let r = 0; r < 3; r++) for (const i of (await historyIdentities(`${id}/0/${r}`)).identities) all.add(i);
  assert.ok(all.size >= 2, `activities ran on ${all.size} worker(s): ${[...all].join(', ')}`);
  for (const c of children.splice(0)) c.kill('SIGTERM');
});

test('a sandbox worker SIGKILLed mid-activity: the activity is retried on another worker and the campaign finishes', async () => {
  const first = sandboxWorker('doomed');
  const id = 't-kill-worker';
  const h = await env.client.workflow.start(campaignWorkflow, { workflowId: id, taskQueue: QUEUES.control, args: [initialState(id, cfg({ rounds: 1, repos: [{ path: exampleRepos()[0].path }] }))] });
  // Wait until an activity of the round is running on the doomed worker, then kill it without warning.
  const deadline = Date.now() + 120_000;
  let running = false;
  while (!running && Date.now() < deadline) {
    try {
      const d = await env.client.workflow.getHandle(`${id}/0/0`).describe();
      running = (d.raw.pendingActivities ?? []).some((a) => String(a.state).includes('STARTED') || a.state === 2);
    } catch { /* the round has not started yet */ }
    if (!running) await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(running, 'an activity started');
  first.kill('SIGKILL');
  sandboxWorker('rescuer');
  const final = await h.result();
  assert.equal(final.step, 1);
  const eps = await listEpisodes(env.runtime.store, id);
  assert.equal(eps.length, 1, 'the episode is recorded exactly once');
  assert.notEqual(eps[0].outcome, 'infra-error', eps[0].reason);
  const { identities } = await historyIdentities(`${id}/0/0`);
  assert.ok(identities.size >= 2, 'the round saw both workers');
});
