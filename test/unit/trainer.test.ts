import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Store } from '../../src/store/store.js';
import { trainStep } from '../../src/trainer/step.js';
import { loadOnnxWeights, PolicyModelError } from '../../src/policy/onnx/store.js';
import { OnnxPolicy } from '../../src/policy/onnx/runner.js';
import { softmax } from '../../src/policy/policy.js';
import { trainLedger } from '../../src/trainer/step.js';
import { featurize } from '../../src/policy/onnx/features.js';

test('the gradient step is idempotent per (campaign, step): a retry returns the same version and trains nothing', async () => {
  const store = new Store(mkdtempSync(path.join(tmpdir(), 'ssr-train-')));
  const traj = (chosen: number) => store.putBlob(JSON.stringify({ decisions: [{ group: 'solve.repair', options: [{ key: 'a' }, { key: 'b' }], chosen }] }));
  const batch = [
    { trajectoryRef: await traj(0), role: 'solver' as const, reward: 1, group: 'g' },
    { trajectoryRef: await traj(1), role: 'solver' as const, reward: -1, group: 'g' },
  ];
  const first = await trainStep(store, { campaignId: 'c', step: 0, fromVersion: 'c@0', batch, learningRate: 1 });
  assert.equal(first.version, 'c@1');
  assert.equal(first.alreadyTrained, false);
  assert.ok(first.lossAfter! < first.lossBefore!, `loss ${first.lossBefore} -> ${first.lossAfter}`);
  const opts = [{ key: 'a' }, { key: 'b' }];
  const p = softmax(await (await OnnxPolicy.open(store, 'c@1')).scores('solve.repair', opts));
  assert.ok(p[0] > 0.5 && p[1] < 0.5, `the rewarded option gained probability: ${p}`);
  const p1 = await loadOnnxWeights(store, 'c@1');
  const again = await trainStep(store, { campaignId: 'c', step: 0, fromVersion: 'c@0', batch: [...batch, ...batch], learningRate: 5 });
  assert.equal(again.alreadyTrained, true);
  assert.deepEqual(await loadOnnxWeights(store, 'c@1'), p1);
  assert.deepEqual(await trainLedger(store, 'c'), { 0: 1 });
  await assert.rejects(loadOnnxWeights(store, 'c@7'), (e: Error) => e instanceof PolicyModelError && e.problem === 'missing' && /c@7/.test(e.message));
});

test('ablations: injection-only trains on the injector\'s trajectories only, repair-only on the solver\'s', async () => {
  const store = new Store(mkdtempSync(path.join(tmpdir(), 'ssr-train-')));
  const traj = (group: string, chosen: number) => store.putBlob(JSON.stringify({ decisions: [{ group, options: [{ key: 'a' }, { key: 'b' }], chosen }] }));
  const batch = [
    { trajectoryRef: await traj('solve.repair', 0), role: 'solver' as const, reward: 1, group: 'g' },
    { trajectoryRef: await traj('solve.repair', 1), role: 'solver' as const, reward: -1, group: 'g' },
    { trajectoryRef: await traj('inject.strategy', 0), role: 'injector' as const, reward: 0.2, group: 'e1' },
    { trajectoryRef: await traj('inject.strategy', 1), role: 'injector' as const, reward: -0.8, group: 'e2' },
  ];
  const opts = [{ key: 'a' }, { key: 'b' }];
  const probs = async (campaign: string, group: string) => softmax(await (await OnnxPolicy.open(store, `${campaign}@1`)).scores(group, opts))[0];
  for (const [campaign, ablation, roles] of [['s', 'self-play', ['injector', 'solver']], ['i', 'injection-only', ['injector']], ['r', 'repair-only', ['solver']]] as const) {
    const out = await trainStep(store, { campaignId: campaign, step: 0, fromVersion: `${campaign}@0`, batch, learningRate: 1, ablation });
    assert.equal(out.trajectories, roles.length * 2, ablation);
    assert.deepEqual((await store.getJson<{ roles: string[] }>(`train/${campaign}/0.json`))!.roles, roles);
    // The trained roles' rewarded option gains. (The other role's scores may drift too: the weights are shared.)
    if ((roles as readonly string[]).includes('solver')) assert.ok((await probs(campaign, 'solve.repair')) > 0.5 + 1e-6, `${ablation}: solver`);
    if ((roles as readonly string[]).includes('injector')) assert.ok((await probs(campaign, 'inject.strategy')) > 0.5 + 1e-6, `${ablation}: injector`);
  }
  // Only the injector trained: the solver-only gradient pieces (its group's skip weights) are untouched.
  const v0 = await loadOnnxWeights(store, 'i@0'), v1 = await loadOnnxWeights(store, 'i@1');
  const solverSlot = featurize('solve.repair', { key: 'a' }).findIndex((v, i) => v !== 0 && featurize('inject.strategy', { key: 'a' })[i] === 0);
  assert.equal(v1.skip[solverSlot], v0.skip[solverSlot]);
});
