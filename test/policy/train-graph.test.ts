import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import op from 'onnx-proto';
import type { Option } from '../../src/policy/policy.js';
import { Rng } from '../../src/policy/rng.js';
import type { ScoredTrajectory } from '../../src/trainer/gradient.js';
import { initialWeights, type MlpWeights } from '../../src/policy/onnx/model.js';
import { groupSlot, NUMERIC, OFF_GROUP_NUMERIC } from '../../src/policy/onnx/features.js';
import { onnxPolicyGradientStep, prepareBatch, skipBlockMask, type OnnxStepStats } from '../../src/policy/onnx/train.js';
import { chunkDecisions, encodeTrainGraph, runFloats, trainStepOnnx } from '../../src/policy/onnx/trainGraph.js';

const KINDS = ['binary-operator', 'if-condition', 'numberLiteral', 'comparison', 'return-value', 'call argument', 'removal', 'history'];
const SOLVER_GROUPS = ['solve.repair', 'solve.order'];
// 'rank' says no role in its name: its decisions take the trajectory's role, as the runner records them.
const INJECTOR_GROUPS = ['inject.strategy', 'inject.file', 'inject.mutation', 'rank'];

function randomOptions(rng: Rng, n: number): Option[] {
  return Array.from({ length: n }, () => ({
    key: rng.pick(KINDS),
    features: Array.from({ length: rng.int(6) }, () => (rng.next() < 0.3 ? rng.int(2) : rng.next())),
  }));
}

/** Both roles, several attempts per bug (so solver advantages are non-zero), 1-4 decisions of 2..48 options each. */
function randomBatch(seed: string, bugs = 3, attempts = 3, injections = 4): ScoredTrajectory[] {
  const rng = new Rng(seed);
  const decisions = (groups: string[]) => Array.from({ length: 1 + rng.int(4) }, () => {
    const n = 2 + rng.int(47);
    return { group: rng.pick(groups), options: randomOptions(rng, n), chosen: rng.int(n) };
  });
  const batch: ScoredTrajectory[] = [];
  for (let b = 0; b < bugs; b++) {
    for (let a = 0; a < attempts; a++) batch.push({ role: 'solver', reward: rng.next() < 0.4 ? 1 : -1, group: `bug${b}`, decisions: decisions(SOLVER_GROUPS) });
  }
  for (let e = 0; e < injections; e++) batch.push({ role: 'injector', reward: rng.next() * 2 - 1, group: `e${e}`, decisions: decisions(INJECTOR_GROUPS) });
  return batch;
}

/** Version-0 weights with a live hidden layer (w2 = 0 there would leave W1 and b1 without gradient to compare). */
function liveWeights(seed: string, hidden = 32): MlpWeights {
  const w = initialWeights('g@0', seed, hidden);
  const rng = new Rng(`${seed}/live`);
  w.w2 = Float32Array.from(w.w2, () => rng.next() - 0.5);
  w.b1 = Float32Array.from(w.b1, () => (rng.next() - 0.5) * 0.5);
  w.b2 = Math.fround(rng.next() - 0.5);
  return w;
}

const close = (a: number, b: number, tol = 1e-4) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

function assertWeightsClose(a: MlpWeights, b: MlpWeights, what: string): void {
  assert.equal(a.version, b.version);
  for (const k of ['w1', 'b1', 'w2', 'skip'] as const) {
    assert.equal(a[k].length, b[k].length);
    a[k].forEach((v, i) => assert.ok(close(v, b[k][i]), `${what}: ${k}[${i}] graph ${v}, TypeScript ${b[k][i]}`));
  }
  assert.ok(close(a.b2, b.b2), `${what}: b2 graph ${a.b2}, TypeScript ${b.b2}`);
}

function assertStatsClose(a: OnnxStepStats, b: OnnxStepStats, what: string): void {
  assert.equal(a.trajectories, b.trajectories);
  assert.equal(a.decisions, b.decisions);
  assert.equal(a.meanAdvantageAbs, b.meanAdvantageAbs, 'the same preparation');
  assert.equal(a.clipped, b.clipped, `${what}: clipped`);
  for (const k of ['gradNorm', 'lossBefore', 'lossAfter'] as const) assert.ok(close(a[k], b[k]), `${what}: ${k} graph ${a[k]}, TypeScript ${b[k]}`);
}

const gpu = existsSync('/dev/nvidia0') || existsSync('/dev/nvidiactl');

test('the train graph is opset 17 with standard operators only', () => {
  const m = op.onnx.ModelProto.decode(encodeTrainGraph(218, 32));
  const nodes = m.graph?.node ?? [];
  assert.ok(nodes.length > 0);
  assert.deepEqual(m.opsetImport.map((o) => [o.domain ?? '', Number(o.version)]), [['', 17]]);
  for (const n of nodes) assert.ok(!n.domain, `${n.opType} is in domain ${n.domain}`);
  for (const o of new Set(nodes.map((n) => n.opType ?? ''))) assert.ok(!/Grad|Training|Optimizer|Adam|SGD|Fused/.test(o), `${o} is not a standard inference operator`);
  assert.deepEqual((m.graph?.output ?? []).map((o) => o.name), ['W1_NEXT', 'B1_NEXT', 'W2_NEXT', 'B2_NEXT', 'SKIP_NEXT', 'LOSS_BEFORE', 'GRADNORM']);
});

test('the graph step equals the TypeScript step on a batch of both roles, with and without clipping', async () => {
  const w = liveWeights('equal');
  const batch = randomBatch('equal');
  const counts = prepareBatch(batch).decisions.map((d) => d.n);
  assert.ok(Math.min(...counts) <= 5 && Math.max(...counts) >= 40, `option counts vary: ${counts}`);
  for (const maxGradNorm of [1e6, 0.05]) {
    const ts = onnxPolicyGradientStep(w, batch, 'g@1', { learningRate: 0.3, maxGradNorm });
    const g = await trainStepOnnx(w, batch, 'g@1', { learningRate: 0.3, maxGradNorm, providers: ['cpu'] });
    assert.equal(g.provider, 'cpu');
    assert.equal(ts.stats.clipped, maxGradNorm < 1, 'the small bound clips, the large one does not');
    assertStatsClose(g.stats, ts.stats, `maxGradNorm ${maxGradNorm}`);
    assertWeightsClose(g.weights, ts.weights, `maxGradNorm ${maxGradNorm}`);
    // The step moved the weights (a comparison of two no-ops would prove nothing).
    assert.ok(g.weights.w1.some((v, i) => Math.abs(v - w.w1[i]) > 1e-6) && g.weights.skip.some((v, i) => Math.abs(v - w.skip[i]) > 1e-6));
  }
});

test('a masked step changes only the trainable weights, clips their gradient alone, and the graph agrees', async () => {
  const w = liveWeights('masked');
  const batch = randomBatch('masked');
  // A group's numeric block that the batch's options set.
  const lo = OFF_GROUP_NUMERIC + groupSlot('solve.order') * NUMERIC, hi = lo + NUMERIC;
  const trainable = skipBlockMask(w, lo, hi);
  const full = onnxPolicyGradientStep(w, batch, 'g@1', { learningRate: 0.3, maxGradNorm: 1e6 });
  for (const maxGradNorm of [1e6, 0.01]) {
    const ts = onnxPolicyGradientStep(w, batch, 'g@1', { learningRate: 0.3, maxGradNorm, trainable });
    const g = await trainStepOnnx(w, batch, 'g@1', { learningRate: 0.3, maxGradNorm, trainable, chunkFloats: maxGradNorm < 1 ? 4 * 48 * w.inputs : undefined });
    assertStatsClose(g.stats, ts.stats, `masked, maxGradNorm ${maxGradNorm}`);
    assertWeightsClose(g.weights, ts.weights, `masked, maxGradNorm ${maxGradNorm}`);
    for (const k of ['w1', 'b1', 'w2'] as const) assert.deepEqual(g.weights[k], w[k], `${k} is not trainable`);
    assert.equal(g.weights.b2, w.b2);
    g.weights.skip.forEach((v, i) => { if (i < lo || i >= hi) assert.equal(v, w.skip[i], `skip[${i}] is outside the block`); });
    assert.ok(g.weights.skip.slice(lo, hi).some((v, i) => Math.abs(v - w.skip[lo + i]) > 1e-6), 'the block moved');
    assert.ok(ts.stats.gradNorm < full.stats.gradNorm, `the norm is of the masked gradient: ${ts.stats.gradNorm} < ${full.stats.gradNorm}`);
    assert.equal(ts.stats.clipped, maxGradNorm < 1);
    if (maxGradNorm >= 1) ts.weights.skip.slice(lo, hi).forEach((v, i) => assert.ok(close(v, full.weights.skip[lo + i]), 'unclipped, the block moves as in the full step'));
  }
});

test('graph steps lower the loss on a fixed batch', async () => {
  const batch = randomBatch('falls', 2, 4, 3);
  let w = liveWeights('falls');
  const losses: number[] = [];
  for (let step = 0; step < 5; step++) {
    const { weights, stats } = await trainStepOnnx(w, batch, `g@${step + 1}`, { learningRate: 0.5, providers: ['cpu'] });
    assert.ok(stats.lossAfter < stats.lossBefore, `step ${step}: ${stats.lossBefore} -> ${stats.lossAfter}`);
    losses.push(stats.lossBefore);
    w = weights;
  }
  for (let i = 1; i < losses.length; i++) assert.ok(losses[i] < losses[i - 1], `losses ${losses}`);
});

test('asking for CUDA without a GPU runs the step on the CPU and says why', async () => {
  const w = liveWeights('cuda');
  const batch = randomBatch('cuda', 1, 2, 2);
  const cpu = await trainStepOnnx(w, batch, 'g@1', { learningRate: 0.5, providers: ['cpu'] });
  const asked = await trainStepOnnx(w, batch, 'g@1', { learningRate: 0.5, providers: ['cuda', 'cpu'] });
  if (!gpu) {
    assert.equal(asked.provider, 'cpu');
    assert.equal(asked.fallbacks[0]?.provider, 'cuda');
    assert.ok((asked.fallbacks[0]?.reason ?? '').length > 0, 'the reason is recorded');
    assert.deepEqual(asked.weights, cpu.weights);
  } else {
    assert.ok(['cuda', 'cpu'].includes(asked.provider ?? ''));
    assertWeightsClose(asked.weights, cpu.weights, 'cuda vs cpu');
  }
});

test('a batch run in chunks gives the step of the batch run whole', async () => {
  const w = liveWeights('chunks');
  const batch = randomBatch('chunks');
  const ds = prepareBatch(batch).decisions;
  // Room for a few decisions of 48 options per chunk: many chunks, of different widths.
  const chunkFloats = 4 * 48 * w.inputs;
  const chunks = chunkDecisions(ds, w.inputs, chunkFloats);
  assert.ok(chunks.length >= 3, `${chunks.length} chunks`);
  assert.deepEqual(chunks.flat(), ds, 'chunks keep every decision, in order');
  for (const c of chunks) assert.ok(c.length === 1 || runFloats(c, w.inputs) <= chunkFloats);
  for (const maxGradNorm of [1e6, 0.05]) {
    const whole = await trainStepOnnx(w, batch, 'g@1', { learningRate: 0.3, maxGradNorm });
    const parts = await trainStepOnnx(w, batch, 'g@1', { learningRate: 0.3, maxGradNorm, chunkFloats });
    assertStatsClose(parts.stats, whole.stats, `chunked, maxGradNorm ${maxGradNorm}`);
    assertWeightsClose(parts.weights, whole.weights, `chunked, maxGradNorm ${maxGradNorm}`);
  }
  // One decision per chunk is the floor, whatever the bound says.
  assert.equal(chunkDecisions(ds, w.inputs, 1).length, ds.length);
});

test('decisions that share option objects (as the known-bug steps draw them) run each row once and give the step of unshared copies', async () => {
  const w = liveWeights('shared');
  const rng = new Rng('shared');
  // One bug's options, drawn from by many attempts: subsets of the same objects, in other orders, in both groups.
  const pool = randomOptions(rng, 60);
  const batch: ScoredTrajectory[] = Array.from({ length: 12 }, (_, a) => ({
    role: 'solver' as const, reward: a % 3 === 0 ? 1 : -1, group: 'bug',
    decisions: Array.from({ length: 3 }, (_, k) => {
      const options = rng.shuffle(pool.slice()).slice(0, 10 + rng.int(30));
      return { group: k === 2 ? 'solve.order' : 'solve.repair', options, chosen: rng.int(options.length) };
    }),
  }));
  const ds = prepareBatch(batch).decisions;
  const distinct = new Set(ds.flatMap((d) => d.rows)).size;
  assert.ok(distinct <= 2 * pool.length, `one row per option and group: ${distinct}`);
  assert.ok(ds.reduce((a, d) => a + d.n, 0) > 4 * distinct, 'far more option slots than rows');
  // Copies read back from JSON (as a stored trajectory is) are the same rows: the same batch, the same step exactly.
  const copies: ScoredTrajectory[] = JSON.parse(JSON.stringify(batch));
  assert.deepEqual(prepareBatch(copies).decisions.map((d) => d.rows), ds.map((d) => d.rows), 'equal options, the same rows');
  const ts = onnxPolicyGradientStep(w, batch, 'g@1', { learningRate: 0.3, maxGradNorm: 1e6 });
  for (const chunkFloats of [undefined, 2 * 48 * w.inputs]) {
    const shared = await trainStepOnnx(w, batch, 'g@1', { learningRate: 0.3, maxGradNorm: 1e6, chunkFloats });
    assertStatsClose(shared.stats, ts.stats, `shared rows, chunkFloats ${chunkFloats}`);
    assertWeightsClose(shared.weights, ts.weights, `shared rows, chunkFloats ${chunkFloats}`);
  }
  const fromCopies = await trainStepOnnx(w, copies, 'g@1', { learningRate: 0.3, maxGradNorm: 1e6 });
  assert.deepEqual(fromCopies.weights, (await trainStepOnnx(w, batch, 'g@1', { learningRate: 0.3, maxGradNorm: 1e6 })).weights);
  // Options that differ in a feature are rows of their own.
  const changed = { ...pool[0], features: [...(pool[0].features ?? []), 0.5] };
  const [d1] = prepareBatch([{ role: 'solver', reward: 1, group: 'x', decisions: [{ group: 'solve.repair', options: [pool[0], changed], chosen: 0 }] }, { role: 'solver', reward: -1, group: 'x', decisions: [{ group: 'solve.repair', options: [pool[0], changed], chosen: 1 }] }]).decisions;
  assert.notEqual(d1.rows[0], d1.rows[1]);
});

test('a batch with nothing to learn returns the weights unchanged without running a graph', async () => {
  const w = liveWeights('empty');
  const same: ScoredTrajectory[] = [
    { role: 'solver', reward: 1, group: 'b', decisions: [{ group: 'solve.repair', options: randomOptions(new Rng('o'), 5), chosen: 1 }] },
    { role: 'solver', reward: 1, group: 'b', decisions: [{ group: 'solve.repair', options: randomOptions(new Rng('p'), 1), chosen: 0 }] },
  ];
  for (const batch of [[], same]) {
    const r = await trainStepOnnx(w, batch, 'g@1', { learningRate: 0.5 });
    assert.equal(r.provider, null);
    assert.deepEqual(r.weights, { ...w, version: 'g@1' });
    assert.equal(r.stats.decisions, 0);
    assert.equal(r.stats.gradNorm, 0);
    assert.deepEqual(r.weights, onnxPolicyGradientStep(w, batch, 'g@1', { learningRate: 0.5 }).weights, 'as the TypeScript step');
  }
});

test('equal rewards carry no gradient even where their floating-point mean is off by 1e-16 (three injections at -0.8)', () => {
  const rng = new Rng('equal-rewards');
  const d = () => [{ group: 'inject.mutation', options: randomOptions(rng, 5), chosen: 1 }];
  const batch: ScoredTrajectory[] = [
    ...[0, 1, 2].map((e) => ({ role: 'injector' as const, reward: -0.8, group: `e${e}`, decisions: d() })),
    ...[0, 1, 2, 3].map(() => ({ role: 'solver' as const, reward: -1, group: 'bug0', decisions: [{ group: 'solve.repair', options: randomOptions(rng, 4), chosen: 0 }] })),
  ];
  assert.notEqual(-0.8 - (-0.8 + -0.8 + -0.8) / 3, 0, 'the float mean of three -0.8s is not exactly -0.8 (the case this guards)');
  const p = prepareBatch(batch);
  assert.equal(p.decisions.length, 0);
  assert.equal(p.meanAdvantageAbs, 0);
});
