import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Store } from '../../src/store/store.js';
import { trainStep } from '../../src/trainer/step.js';
import { loadOnnxWeights, PolicyModelError, saveOnnxPolicy } from '../../src/policy/onnx/store.js';
import { initialWeights, withVersion } from '../../src/policy/onnx/model.js';
import { OnnxPolicy } from '../../src/policy/onnx/runner.js';
import { softmax, TrajectoryFormatError } from '../../src/policy/policy.js';
import { trainLedger } from '../../src/trainer/step.js';
import { featurize } from '../../src/policy/onnx/features.js';
import type { TrajectoryScore } from '../../src/episode/types.js';

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

test("with the injector on its own weights, self-play's solver takes repair-only's step on the same trajectories, and the injector's step is the mean of its own", async () => {
  const store = new Store(mkdtempSync(path.join(tmpdir(), 'ssr-train-')));
  const traj = (group: string, chosen: number) => store.putBlob(JSON.stringify({ decisions: [{ group, options: [{ key: 'a' }, { key: 'b' }, { key: 'c' }], chosen }] }));
  const solvers: TrajectoryScore[] = [];
  // Each bug: the attempt that chose option 0 solved it, those that chose 1 or 2 did not.
  for (let g = 0; g < 3; g++) for (const k of [0, 1, 2, 1]) solvers.push({ trajectoryRef: await traj('solve.repair', k), role: 'solver' as const, reward: k === 0 ? 1 : -1, group: `g${g}` });
  const injections = [{ trajectoryRef: await traj('inject.compose', 0), role: 'injector' as const, reward: 0.4, group: 'e1' }, { trajectoryRef: await traj('inject.compose', 1), role: 'injector' as const, reward: -0.8, group: 'e2' }];
  const step = (campaign: string, ablation: 'self-play' | 'repair-only' | 'injection-only', batch: TrajectoryScore[]) =>
    trainStep(store, { campaignId: campaign, step: 0, fromVersion: `${campaign}@0`, batch, learningRate: 1, ablation, injectorGradient: { reward: 'sampled', samples: 1, trains: 'own' } });
  // One version 0 for all (a version 0 made on first use is seeded by its own name).
  for (const c of ['s', 'r', 'i', 'z']) await saveOnnxPolicy(store, withVersion(initialWeights('v0@0'), `${c}@0`));
  await step('s', 'self-play', [...solvers, ...injections]);
  await step('r', 'repair-only', [...solvers, ...injections]);
  await step('i', 'injection-only', injections);
  // Attempts that all failed carry no advantage: the solver's step leaves the weights as they were.
  await step('z', 'self-play', [...solvers.map((t) => ({ ...t, reward: -1 })), ...injections]);
  const opts = [{ key: 'a' }, { key: 'b' }, { key: 'c' }];
  const scores = async (version: string, group: string) => (await OnnxPolicy.open(store, version)).scores(group, opts);
  assert.deepEqual(await scores('s@1', 'solve.repair'), await scores('r@1', 'solve.repair'), "the solver's step does not shrink with the injections in the batch");
  assert.notDeepEqual(await scores('s@1', 'solve.repair'), await scores('s@0', 'solve.repair'));
  // The injector's step does not shrink with the solver's attempts in the batch.
  assert.deepEqual(await scores('z@1', 'solve.repair'), await scores('z@0', 'solve.repair'));
  assert.deepEqual(await scores('z@1', 'inject.compose'), await scores('i@1', 'inject.compose'));
  assert.ok(softmax(await scores('i@1', 'inject.compose'))[0] > 1 / 3 + 1e-3);
  assert.ok(softmax(await scores('s@1', 'solve.repair'))[0] > 1 / 3 + 1e-3);
});

test('a solver trajectory that stores its decisions as indices into its search trains as the same decisions whole; a bad index names the trajectory', async () => {
  const options = [{ key: 'compare-flip fromlt togt', features: [1, 0, 0.5] }, { key: 'arith-swap fromplus tominus', features: [0, 1, 0.2] }, { key: 'constant-change inc', features: [0.3, 0, 0] }];
  const search = { options, picks: [2, 0], kept: [0], maxPicks: 4 };
  const whole = [{ group: 'solve.repair', options, chosen: 2 }, { group: 'solve.repair', options: [options[0], options[1]], chosen: 0 }];
  const indexed = [{ group: 'solve.repair', of: [0, 1, 2], chosen: 2 }, { group: 'solve.repair', of: [0, 1], chosen: 0 }];
  const stats = async (decisions: unknown[], s: typeof search | null = search) => {
    const store = new Store(mkdtempSync(path.join(tmpdir(), 'ssr-train-')));
    const ref = await store.putBlob(JSON.stringify({ decisions, ...(s ? { search: s } : {}) }));
    const other = await store.putBlob(JSON.stringify({ decisions: [{ group: 'solve.repair', options, chosen: 1 }] }));
    const batch = [{ trajectoryRef: ref, role: 'solver' as const, reward: 1, group: 'g' }, { trajectoryRef: other, role: 'solver' as const, reward: -1, group: 'g' }];
    return { store, ref, out: await trainStep(store, { campaignId: 'c', step: 0, fromVersion: 'c@0', batch, learningRate: 1 }) };
  };
  const a = await stats(whole), b = await stats(indexed);
  assert.equal(b.out.decisions, a.out.decisions);
  assert.equal(b.out.lossBefore, a.out.lossBefore);
  assert.equal(b.out.lossAfter, a.out.lossAfter);
  assert.deepEqual(await loadOnnxWeights(b.store, 'c@1'), { ...(await loadOnnxWeights(a.store, 'c@1')), version: 'c@1' });
  await assert.rejects(stats([{ group: 'solve.repair', of: [0, 7], chosen: 0 }]), (e: Error) => e instanceof TrajectoryFormatError && /option 7/.test(e.message) && /blobs\//.test(e.message));
  await assert.rejects(stats(indexed, null), (e: Error) => e instanceof TrajectoryFormatError && /no search record/.test(e.message));
});
