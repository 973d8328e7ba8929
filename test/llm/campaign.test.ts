/**
 * A two-step campaign with the LLM policy on the real Temporal server: a scripted OpenAI-compatible model plays
 * recorded conversations (an injector whose artifact passes every check, a solver that fixes it), the gradient step
 * on ssr-gpu runs the minimal external trainer, the model server is told to load each new checkpoint, and the next
 * step's rollouts ask for that checkpoint by name.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { startCampaign } from '../../src/cli/campaign.js';
import { listEpisodes } from '../../src/store/records.js';
import { PROJECT_ROOT } from '../../src/temporal/config.js';
import { parseTrajectories } from '../../src/agents/llm/trajectory.js';
import type { BlobRef } from '../../src/store/store.js';
import { startTestEnv, type TestEnv } from '../helpers/temporal.js';
import { ScriptedServer, textOf } from './scripted-server.js';
import { fixture, tallybook } from './helpers.js';

let env: TestEnv;
let workers: { stop(): Promise<void> };
let model: ScriptedServer;

before(async () => {
  env = await startTestEnv();
  workers = await env.startWorkers();
  const inject = fixture('inject-tallybook');
  const solve = fixture('solve-tallybook');
  // Stateless: each request is answered from its conversation so far, so parallel attempts and retries replay alike.
  model = await ScriptedServer.start([], {
    fallback: (req) => {
      const steps = req.body.messages.some((m) => m.role === 'user' && textOf(m).includes('inject a bug')) ? inject : solve;
      const k = req.body.messages.filter((m) => m.role === 'assistant').length;
      return steps[Math.min(k, steps.length - 1)];
    },
  });
});

after(async () => {
  await model?.close();
  await workers?.stop();
  await env?.stop();
});

test('two steps of an LLM campaign: scripted model, minimal external trainer, each new checkpoint loaded and then used', async () => {
  const id = 't-llm';
  const trainer = path.join(PROJECT_ROOT, 'examples', 'trainer', 'minimal_trainer.py');
  const cfg = parseConfig({
    repos: [{ path: tallybook() }], steps: 2, rounds: 1, solves: 2, higherOrder: { enabled: false }, heartbeatTimeoutSec: 20,
    policy: {
      kind: 'llm', strategies: ['direct'],
      llm: { baseUrl: model.url, model: 'base-model', retryBaseMs: 20, retryMaxMs: 200, commandTimeoutSec: 60 },
      trainer: { command: `python3 ${trainer} --batch {batch} --out {out}` },
      load: { url: `${model.url}/load_lora_adapter` },
    },
  });
  const final = await (await startCampaign(env.client, id, cfg)).result();
  assert.equal(final.step, 2);
  assert.equal(final.policyVersion, `${id}@2`);

  const eps = await listEpisodes(env.runtime.store, id);
  assert.deepEqual(eps.map((e) => e.id), [`${id}/0/0`, `${id}/1/0`]);
  for (const e of eps) {
    assert.equal(e.outcome, 'solved-all', `${e.id}: ${e.reason} ${JSON.stringify(e.checks)}`);
    assert.ok(e.checks.length === 7 && e.checks.every((c) => c.ok), 'the model\'s artifact passed every check');
    const inj = parseTrajectories(await env.runtime.store.getText(e.injectorTrajectoryRef as BlobRef))[0];
    assert.equal(inj.role, 'injector');
    assert.equal(inj.episode_id, e.id);
    assert.equal(inj.policy_version, e.policyVersion);
    assert.ok(inj.messages.some((m) => m.role === 'tool'), 'tool results in OpenAI format');
  }
  // Each step trained once, on that step's batch (OpenAI messages with rewards), and its checkpoint was loaded.
  for (const s of [0, 1]) {
    const batch = readFileSync(env.runtime.store.p(`train/${id}/${s}/batch.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(batch.map((b) => b.role).sort(), ['injector', 'solver', 'solver']);
    assert.deepEqual(batch.filter((b) => b.role === 'solver').map((b) => b.reward), [1, 1]);
    assert.equal(batch.find((b) => b.role === 'injector').reward, -0.8, 'r_inject = -alpha when s = 1');
  }
  assert.equal((await env.runtime.store.list(`train/${id}/ledger`)).length, 2);
  assert.deepEqual(model.loads.map((l) => l.lora_name), [`${id}-step1`, `${id}-step2`]);
  // Step 0's rollouts asked for the base model; step 1's for the checkpoint of step 0, loaded before they began.
  const models = model.requests.map((r) => r.body.model);
  const firstStep1 = models.indexOf(`${id}-step1`);
  assert.ok(firstStep1 > 0, `step 1 asked for ${id}-step1: ${[...new Set(models)].join(', ')}`);
  assert.ok(models.slice(0, firstStep1).every((m) => m === 'base-model'));
  assert.ok(models.slice(firstStep1).every((m) => m === `${id}-step1`));
});
