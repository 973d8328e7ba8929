/**
 * The gpu worker SIGKILLed in the middle of a gradient step, before and after it wrote the new policy: a fresh gpu
 * worker finishes the step, and no step ever trains twice.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { campaignWorkflow, initialState } from '../../workflows/campaign.js';
import { QUEUES } from '../../workflows/queues.js';
import { trainLedger } from '../../src/trainer/step.js';
import { startTestEnv, type TestEnv } from '../helpers/temporal.js';
import { assertCampaignIntact, completedActivities, exited, killHard, ssr, tinyConfig, waitForFile, type Child } from '../helpers/faults.js';

let env: TestEnv;
let local: { stop(): Promise<void> };
const children: Child[] = [];
before(async () => { env = await startTestEnv(); local = await env.startWorkers([QUEUES.control, QUEUES.sandbox]); });
after(async () => {
  for (const c of children) await killHard(c);
  await local?.stop();
  await env?.stop();
});

/** A gpu worker in its own process, as on a gpu machine; `faults` is its SSR_FAULTS. */
function gpuWorker(faults?: string): Child {
  const { SSR_FAULTS: _, ...base } = env.env;
  const c = ssr(['worker', '--queue', QUEUES.gpu], faults ? { ...base, SSR_FAULTS: faults } : base);
  children.push(c);
  return c;
}

async function stopGracefully(c: Child): Promise<void> {
  c.kill('SIGTERM');
  await exited(c);
}

for (const point of ['pause-gradient-before-save', 'pause-gradient-after-save'] as const) {
  test(`gpu worker SIGKILLed at ${point}: a fresh gpu worker finishes the step, which trains exactly once`, async () => {
    const id = `t-gpu-${point}`;
    const doomed = gpuWorker(`${point}=600000`);
    // Two steps show the versions chaining across a killed step; the second case needs only the retried one.
    const steps = point === 'pause-gradient-before-save' ? 2 : 1;
    const h = await env.client.workflow.start(campaignWorkflow, { workflowId: id, taskQueue: QUEUES.control, args: [initialState(id, tinyConfig({ steps }))] });

    // The doomed worker holds step 0's gradient step at the pause point (heartbeating) until it is killed.
    await waitForFile(path.join(env.home, 'faults', `${point}.${doomed.pid}.reached`));
    const ledgerAtKill = await trainLedger(env.runtime.store, id);
    assert.deepEqual(ledgerAtKill, point === 'pause-gradient-after-save' ? { 0: 1 } : {}, 'the policy was (not) written before the kill');
    await killHard(doomed);
    const rescuer = gpuWorker();

    const final = await h.result();
    assert.equal(final.step, steps);
    await assertCampaignIntact(env.client, env.runtime.store, id, steps, 1);

    const grads = (await completedActivities(env.client, id)).filter((a) => a.type === 'gradientStep');
    const step0 = grads.find((a) => (a.input as { step: number }).step === 0)!;
    assert.ok(step0.attempt >= 2, `step 0's gradient step was retried (attempt ${step0.attempt})`);
    assert.match(step0.identity, new RegExp(`@${rescuer.pid}$`), 'the retry ran on the fresh worker');
    const r0 = step0.result as { alreadyTrained: boolean; version: string };
    assert.equal(r0.version, `${id}@1`);
    // Killed after the save, the retry finds the policy and must not train again; killed before, it trains once.
    assert.equal(r0.alreadyTrained, point === 'pause-gradient-after-save', `alreadyTrained of the retried step: ${JSON.stringify(r0)}`);
    for (const later of grads.filter((a) => (a.input as { step: number }).step > 0)) {
      assert.equal((later.result as { alreadyTrained: boolean }).alreadyTrained, false, 'a later step trains normally');
    }

    // The next case needs its own doomed worker to be the only gpu worker.
    await stopGracefully(rescuer);
  });
}
