import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { campaignWorkflow, initialState, pauseSignal, resumeSignal, statusQuery, stopSignal } from '../../workflows/campaign.js';
import { QUEUES } from '../../workflows/queues.js';
import { parseConfig } from '../../src/config/load.js';
import { listEpisodes, listStepMetrics } from '../../src/store/records.js';
import { hasOnnxPolicy } from '../../src/policy/onnx/store.js';
import { startTestEnv, type TestEnv } from '../helpers/temporal.js';
import { exampleRepos } from '../helpers/examples.js';

let env: TestEnv;
let workers: { stop(): Promise<void> };
before(async () => { env = await startTestEnv(); workers = await env.startWorkers(); });
after(async () => { await workers?.stop(); await env?.stop(); });

const small = (extra: Record<string, unknown> = {}) => parseConfig({
  repos: exampleRepos().slice(0, 2).map((r) => ({ path: r.path })), steps: 2, rounds: 2, solves: 2, solverTestRuns: 4,
  injectorCandidates: 4, strategies: ['direct'], higherOrder: { enabled: false }, ...extra,
});

test('continue-as-new every step keeps the campaign state: steps, metrics, policy versions, episodes', async () => {
  const id = 't-can';
  const h = await env.client.workflow.start(campaignWorkflow, { workflowId: id, taskQueue: QUEUES.control, args: [initialState(id, small({ continueAsNewEvery: 1 }))] });
  const final = await h.result();
  assert.equal(final.done, true);
  assert.equal(final.step, 2);
  assert.equal(final.metrics.length, 2, 'metrics of the step before continue-as-new are carried');
  assert.equal(final.policyVersion, `${id}@2`);
  assert.ok(await hasOnnxPolicy(env.runtime.store, `${id}@1`));
  assert.ok(await hasOnnxPolicy(env.runtime.store, `${id}@2`));
  const eps = await listEpisodes(env.runtime.store, id);
  assert.equal(eps.length, 4, 'every round of every step is recorded once');
  assert.deepEqual(eps.map((e) => e.id).sort(), [`${id}/0/0`, `${id}/0/1`, `${id}/1/0`, `${id}/1/1`]);
  assert.equal((await listStepMetrics(env.runtime.store, id)).length, 2);
  // The first run continued as new: the workflow has more than one run.
  const runs = [];
  for await (const w of env.client.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(w.runId);
  assert.ok(runs.length >= 2, `expected continue-as-new runs, saw ${runs.length}`);
});

test('pause holds the next step, resume continues it, stop ends after the running step', async () => {
  const id = 't-signals';
  const h = await env.client.workflow.start(campaignWorkflow, { workflowId: id, taskQueue: QUEUES.control, args: [initialState(id, small({ steps: 4, rounds: 1 }))] });
  await h.signal(pauseSignal);
  // Step 0 may already be running when the pause arrives; the campaign holds before the next one.
  let st = await h.query(statusQuery);
  assert.equal(st.paused, true);
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && st.currentStep !== null) {
    await new Promise((r) => setTimeout(r, 500));
    st = await h.query(statusQuery);
  }
  const held = st.step;
  await new Promise((r) => setTimeout(r, 3000));
  st = await h.query(statusQuery);
  assert.equal(st.step, held, 'no step runs while paused');
  assert.equal(st.currentStep, null);
  await h.signal(resumeSignal);
  while (Date.now() < deadline) {
    st = await h.query(statusQuery);
    if (st.step > held || st.currentStep !== null) break;
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.ok(st.step > held || st.currentStep !== null, 'resume lets the campaign continue');
  await h.signal(stopSignal);
  const final = await h.result();
  assert.ok(final.step < 4, `stop ended the campaign early (at step ${final.step})`);
  assert.equal(final.stopRequested, true);
  assert.equal(final.metrics.length, final.step);
});
