import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Store } from '../../src/store/store.js';
import { PRIOR, softmax, type Option } from '../../src/policy/policy.js';
import { Rng } from '../../src/policy/rng.js';
import type { ScoredTrajectory } from '../../src/trainer/gradient.js';
import op from 'onnx-proto';
import { FEATURE_LAYOUT, FEATURE_WIDTH, featurize, featurizeAll, groupSlot, KEY_BUCKETS, NUMERIC, OFF_GROUP, OFF_GROUP_KEY, OFF_GROUP_KEY_SOLVER, OFF_GROUP_NUMERIC, OFF_NUMERIC, OFF_ROLE, GROUP_SLOTS, KNOWN_GROUPS } from '../../src/policy/onnx/features.js';
import { decodeModel, encodeModel, forward, initialWeights, type MlpWeights } from '../../src/policy/onnx/model.js';
import { OnnxPolicy, OnnxPolicyRunner } from '../../src/policy/onnx/runner.js';
import { onnxFile, PolicyModelError, saveOnnxPolicy, loadOnnxWeights } from '../../src/policy/onnx/store.js';
import { batchLoss, lossGradient, onnxPolicyGradientStep, type WeightedDecision } from '../../src/policy/onnx/train.js';

const tmpStore = () => new Store(mkdtempSync(path.join(tmpdir(), 'ssr-onnx-')));

/** Options shaped like the solver's 'solve.repair' candidates: [Ochiai^4, distance 1, distance 2, depth]. */
const repairOpts: Option[] = [
  { key: 'binary-operator', features: [0.2, 0, 1, 0.1] },
  { key: 'if-condition', features: [1, 1, 0, 0.3] },
  { key: 'number-literal', features: [0.5, 1, 0, 0.2] },
  { key: 'comparison', features: [0.05, 0, 0, 0.5] },
];
const strategyOpts: Option[] = [{ key: 'removal' }, { key: 'direct' }, { key: 'history' }];

test('featurize: one fixed width, the role and group one-hots, deterministic', () => {
  const a = featurize('solve.repair', repairOpts[1]);
  assert.equal(a.length, FEATURE_WIDTH);
  assert.equal(a[OFF_ROLE + 1], 1, 'solve.* is the solver');
  assert.equal(featurize('inject.strategy', strategyOpts[0])[OFF_ROLE], 1, 'inject.* is the injector');
  assert.equal(a[OFF_GROUP + KNOWN_GROUPS.indexOf('solve.repair')], 1);
  assert.deepEqual(a, featurize('solve.repair', repairOpts[1]));
  assert.notDeepEqual(a, featurize('solve.repair', repairOpts[0]));
  // Long numeric feature lists are truncated, not an error.
  assert.equal(featurize('g', { key: 'k', features: Array.from({ length: 40 }, () => 1) }).length, FEATURE_WIDTH);
});

test('version 0 loads, scores one number per option, deterministically, and is today\'s prior', async () => {
  const store = tmpStore();
  const p = await OnnxPolicy.load(store, 'c@0');
  assert.ok(existsSync(store.p('policies/c/0.onnx')), 'version 0 is written when first loaded');
  const s = await p.scores('solve.repair', repairOpts);
  assert.equal(s.length, repairOpts.length);
  assert.deepEqual(await p.scores('solve.repair', repairOpts), s);
  const fresh = await OnnxPolicy.open(store, 'c@0');
  assert.deepEqual(await fresh.scores('solve.repair', repairOpts), s, 'a fresh session gives the same scores');
  // The prior: the highest feature 0 (the Ochiai score) scores highest.
  const best = s.indexOf(Math.max(...s));
  assert.equal(best, 1);
  // And not just the argmax: version 0 scores are the prior's linear scores, for the solver's and the injector's groups.
  const ref = repairOpts.map((o) => o.features!.reduce((a, f, i) => a + f * PRIOR['solve.repair'][i], 0));
  s.forEach((v, i) => assert.ok(Math.abs(v - ref[i]) < 1e-5, `score ${i}: ${v} vs ${ref[i]}`));
  for (const v of await p.scores('inject.strategy', strategyOpts)) assert.ok(Math.abs(v) < 1e-6);
  // The trainer's TypeScript forward pass computes the function onnxruntime runs.
  const ts = forward(p.weights, featurizeAll('solve.repair', repairOpts), repairOpts.length);
  s.forEach((v, i) => assert.ok(Math.abs(v - ts[i]) < 1e-5));
  // Same seed, same choices: a retried activity retraces its episode's decisions; another seed does not.
  const run = async (seed: string) => {
    const r = new OnnxPolicyRunner(p, new Rng(seed));
    const ranking = await r.rank('solve.repair', repairOpts);
    const order: number[] = [];
    for (let i = ranking.next(); i !== undefined; i = ranking.next()) order.push(i);
    const picks = [];
    for (let i = 0; i < 20; i++) picks.push(await r.choose('inject.strategy', strategyOpts));
    return { order, picks, decisions: r.decisions };
  };
  assert.deepEqual(await run('x'), await run('x'));
  assert.notDeepEqual((await run('x')).picks, (await run('y')).picks);
  // A different campaign's version 0 has different hidden weights (seeded by name) but the same scores.
  const other = await OnnxPolicy.load(store, 'd@0');
  assert.notDeepEqual(other.weights.w1, p.weights.w1);
  (await other.scores('solve.repair', repairOpts)).forEach((v, i) => assert.ok(Math.abs(v - s[i]) < 1e-6));
});

test('a ranking records only the picks drawn, each over the options still allowed', async () => {
  const p = await OnnxPolicy.load(tmpStore(), 'rank@0');
  const r = new OnnxPolicyRunner(p, new Rng('lazy'));
  const ranking = await r.rank('solve.repair', repairOpts);
  assert.equal(r.decisions.length, 0, 'nothing is recorded before a pick is drawn');
  const first = ranking.next()!;
  assert.equal(r.decisions.length, 1);
  assert.equal(r.decisions[0].options.length, 4);
  assert.deepEqual(r.decisions[0].options[r.decisions[0].chosen], repairOpts[first]);
  // Disallowing an option removes it for good: the next decision is over the two left, and it is never drawn.
  const banned = [0, 1, 2, 3].find((i) => i !== first)!;
  const second = ranking.next((i) => i !== banned)!;
  assert.notEqual(second, banned);
  assert.equal(r.decisions[1].options.length, 2);
  assert.ok(!r.decisions[1].options.includes(repairOpts[banned]));
  const third = ranking.next()!;
  assert.deepEqual(new Set([first, second, third, banned]), new Set([0, 1, 2, 3]));
  assert.equal(r.decisions.length, 2, 'the last option left is no choice and is not recorded');
  assert.equal(ranking.next(), undefined);
});

/** A batch where the solver is rewarded for 'if-condition' and the injector for 'history'. */
async function sampledBatch(policy: OnnxPolicy, seed: string, size = 8): Promise<ScoredTrajectory[]> {
  const runner = new OnnxPolicyRunner(policy, new Rng(seed));
  const batch: ScoredTrajectory[] = [];
  for (let i = 0; i < size; i++) {
    let before = runner.decisions.length;
    const c = await runner.choose('solve.repair', repairOpts);
    batch.push({ role: 'solver', reward: c === 2 ? 1 : -1, group: 'bug1', decisions: runner.decisions.slice(before) });
    before = runner.decisions.length;
    const s = await runner.choose('inject.strategy', strategyOpts);
    batch.push({ role: 'injector', reward: s === 2 ? 0.5 : -0.8, group: `e${i}`, decisions: runner.decisions.slice(before) });
  }
  return batch;
}

test('a training step lowers the loss, moves probability to the rewarded choice, and round-trips through ONNX', async () => {
  const store = tmpStore();
  const v0 = await OnnxPolicy.load(store, 'c@0');
  // A fixed tiny batch: solver rewarded for option 2, not for option 1 (the prior's favourite); injector for 'history'.
  const batch: ScoredTrajectory[] = [
    { role: 'solver', reward: 1, group: 'b', decisions: [{ group: 'solve.repair', options: repairOpts, chosen: 2 }] },
    { role: 'solver', reward: -1, group: 'b', decisions: [{ group: 'solve.repair', options: repairOpts, chosen: 1 }] },
    { role: 'injector', reward: 0.5, group: 'e1', decisions: [{ group: 'inject.strategy', options: strategyOpts, chosen: 2 }] },
    { role: 'injector', reward: -0.8, group: 'e2', decisions: [{ group: 'inject.strategy', options: strategyOpts, chosen: 0 }] },
  ];
  const { weights, stats } = onnxPolicyGradientStep(v0.weights, batch, 'c@1', { learningRate: 0.5 });
  assert.ok(stats.lossAfter < stats.lossBefore, `loss ${stats.lossBefore} -> ${stats.lossAfter}`);
  assert.ok(stats.gradNorm > 0);
  assert.equal(stats.decisions, 4);
  assert.equal(weights.version, 'c@1');
  // Deterministic: the same step again gives byte-identical models.
  assert.deepEqual(encodeModel(onnxPolicyGradientStep(v0.weights, batch, 'c@1', { learningRate: 0.5 }).weights), encodeModel(weights));
  // encode/decode gives back exactly the trained weights.
  assert.deepEqual(decodeModel(encodeModel(weights)), weights);
  assert.deepEqual(encodeModel(decodeModel(encodeModel(weights))), encodeModel(weights), 'and the bytes too');

  await saveOnnxPolicy(store, weights);
  const v1 = await OnnxPolicy.open(store, 'c@1');
  assert.equal(v1.version, 'c@1');
  const ts = forward(weights, featurizeAll('solve.repair', repairOpts), repairOpts.length);
  const s1 = await v1.scores('solve.repair', repairOpts);
  s1.forEach((v, i) => assert.ok(Math.abs(v - ts[i]) < 1e-5, 'a fresh session scores what the trainer trained'));
  assert.deepEqual(await (await OnnxPolicy.open(store, 'c@1')).scores('solve.repair', repairOpts), s1);
  const p0 = softmax(await v0.scores('solve.repair', repairOpts)), p1 = softmax(s1);
  assert.ok(p1[2] > p0[2] && p1[1] < p0[1], `solver: rewarded ${p0[2]} -> ${p1[2]}, punished ${p0[1]} -> ${p1[1]}`);
  const q0 = softmax(await v0.scores('inject.strategy', strategyOpts)), q1 = softmax(await v1.scores('inject.strategy', strategyOpts));
  assert.ok(q1[2] > q0[2], `injector: rewarded ${q0[2]} -> ${q1[2]}`);
});

test('the hand-written backprop is the gradient of the loss (finite differences, every layer)', () => {
  const w = initialWeights('g@0', 'grad-check', 8);
  // Non-zero output weights, or the hidden layer would get no gradient to check.
  const rng = new Rng('w2');
  w.w2 = Float32Array.from(w.w2, () => rng.next() - 0.5);
  w.b1 = Float32Array.from(w.b1, () => rng.next() - 0.5);
  const ds: WeightedDecision[] = [
    { role: 'solver', coef: 0.7, decision: { group: 'solve.repair', options: repairOpts, chosen: 2 } },
    { role: 'injector', coef: -0.4, decision: { group: 'inject.strategy', options: strategyOpts, chosen: 0 } },
  ];
  const { loss, grad } = lossGradient(w, ds);
  assert.ok(Math.abs(loss - batchLoss(w, ds)) < 1e-12);
  // Float32 weights: perturb by a step large enough to survive rounding, compare with a central difference.
  const eps = 1e-2;
  const probe = (arr: Float32Array, g: Float64Array, idx: number[]) => {
    for (const i of idx) {
      const v = arr[i];
      arr[i] = v + eps; const up = batchLoss(w, ds);
      arr[i] = v - eps; const down = batchLoss(w, ds);
      arr[i] = v;
      const num = (up - down) / (2 * eps);
      assert.ok(Math.abs(num - g[i]) < 1e-3 + 1e-2 * Math.abs(num), `index ${i}: numeric ${num}, backprop ${g[i]}`);
    }
  };
  // Inputs an option of these decisions actually activates, so the probes are not all trivially zero.
  const active = [...new Set([...featurizeAll('solve.repair', repairOpts), ...featurizeAll('inject.strategy', strategyOpts)].map((v, i) => (v !== 0 ? i % FEATURE_WIDTH : -1)).filter((i) => i >= 0))];
  probe(w.skip, grad.skip, active);
  probe(w.w1, grad.w1, active.flatMap((f) => [f * 8, f * 8 + 3, f * 8 + 7]));
  probe(w.b1, grad.b1, [0, 1, 2, 3, 4, 5, 6, 7]);
  probe(w.w2, grad.w2, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.ok([...grad.w1].some((v) => Math.abs(v) > 1e-4), 'the hidden layer gets gradient');
});

test('the hidden layer learns what the linear policy cannot: reward on an interaction of two features', async () => {
  // Four decisions between two repairs that differ in one of features 1, 2; the rewarded one has them differ (XOR).
  // A linear score needs w2 > 0 for {00, 01}, w2 < 0 for {10, 11} (and likewise w1): it averages at most 1/2.
  const o = (a: number, b: number): Option => ({ key: 'k', features: [0, a, b, 0] });
  const pairs: Option[][] = [[o(0, 0), o(0, 1)], [o(1, 0), o(1, 1)], [o(0, 0), o(1, 0)], [o(0, 1), o(1, 1)]];
  const good = (x: Option) => x.features![1] !== x.features![2];
  const goodMass = (w: ReturnType<typeof initialWeights>) => pairs.map((p) => {
    const pr = softmax([...forward(w, featurizeAll('solve.repair', p), 2)]);
    return p.reduce((m, x, i) => m + (good(x) ? pr[i] : 0), 0);
  });
  let w = initialWeights('x@0', 'xor');
  const rng = new Rng('xor-batches');
  for (let step = 0; step < 100; step++) {
    const batch: ScoredTrajectory[] = [];
    pairs.forEach((p, k) => {
      const pr = softmax([...forward(w, featurizeAll('solve.repair', p), 2)]);
      for (let a = 0; a < 4; a++) {
        const c = rng.next() < pr[0] ? 0 : 1;
        batch.push({ role: 'solver', reward: good(p[c]) ? 1 : -1, group: `bug${k}`, decisions: [{ group: 'solve.repair', options: p, chosen: c }] });
      }
    });
    w = onnxPolicyGradientStep(w, batch, `x@${step + 1}`, { learningRate: 0.5, maxGradNorm: 2 }).weights;
  }
  const mass = goodMass(w);
  assert.ok(mass.every((m) => m > 0.8), `probability of the rewarded repair per decision: ${mass.map((m) => m.toFixed(3))}`);
});

test('self-play steps of both roles train the shared network toward the rewarded choices', async () => {
  const store = tmpStore();
  let policy = await OnnxPolicy.load(store, 't@0');
  const losses: number[] = [];
  for (let step = 0; step < 15; step++) {
    const batch = await sampledBatch(policy, `s${step}`);
    // The campaign config's default learning rate (0.5) and the default gradient clipping.
    const { weights, stats } = onnxPolicyGradientStep(policy.weights, batch, `t@${step + 1}`, { learningRate: 0.5 });
    losses.push(stats.lossBefore - stats.lossAfter);
    await saveOnnxPolicy(store, weights);
    policy = await OnnxPolicy.load(store, `t@${step + 1}`);
  }
  const solve = softmax(await policy.scores('solve.repair', repairOpts));
  const inject = softmax(await policy.scores('inject.strategy', strategyOpts));
  assert.ok(solve[2] > 0.8, `solver prob of the rewarded repair ${solve[2]}`);
  assert.ok(inject[2] > 0.8, `injector prob of the rewarded strategy ${inject[2]}`);
  assert.ok(losses.every((d) => d >= 0), `every step lowered its batch's loss: ${losses.map((d) => d.toFixed(3))}`);
  assert.deepEqual((await loadOnnxWeights(store, 't@15')).version, 't@15');
  assert.equal(readdirSync(store.p('policies/t')).filter((f) => f.endsWith('.onnx')).length, 16);
});

test('a missing or corrupt model file is a PolicyModelError naming the file and the version', async () => {
  const store = tmpStore();
  const expectError = async (version: string, problem: string) => {
    const file = store.p(onnxFile(version));
    await assert.rejects(OnnxPolicy.load(store, version), (e: unknown) => {
      assert.ok(e instanceof PolicyModelError, `got ${String(e)}`);
      assert.equal(e.problem, problem);
      assert.equal(e.file, file);
      assert.equal(e.version, version);
      assert.ok(e.message.includes(file) && e.message.includes(version), e.message);
      return true;
    });
  };
  await expectError('c@3', 'missing');

  mkdirSync(store.p('policies/c'), { recursive: true });
  writeFileSync(store.p(onnxFile('c@4')), Buffer.from('this is not a model'));
  await expectError('c@4', 'corrupt');

  const good = encodeModel(initialWeights('c@5'));
  writeFileSync(store.p(onnxFile('c@5')), good.subarray(0, good.length >> 1));
  await expectError('c@5', 'corrupt');

  // A valid model of another version under this version's name (a file copied by hand).
  writeFileSync(store.p(onnxFile('c@6')), encodeModel(initialWeights('c@2')));
  await expectError('c@6', 'wrong-version');

  // A failed load is not cached: once the file is there the version loads.
  await saveOnnxPolicy(store, initialWeights('c@3'));
  assert.equal((await OnnxPolicy.load(store, 'c@3')).version, 'c@3');
  assert.ok(readFileSync(store.p(onnxFile('c@3'))).length > 0);
});

test('a model saved in an older, narrower feature layout loads widened: the same scores, new features at weight 0', async () => {
  const store = tmpStore();
  const old = 8, width = OFF_NUMERIC + old + GROUP_SLOTS * old;
  const now = initialWeights('old@2');
  const rng = new Rng('narrow');
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.next() - 0.5);
  const narrow = { ...now, inputs: width, w1: rand(width * now.hidden), b1: rand(now.hidden), w2: rand(now.hidden), b2: 0.25, skip: rand(width) };
  const { m, bytes } = writeOlderModel(store, 'old@2', narrow, FEATURE_LAYOUT.replace(/n\d+$/, `n${old}`));
  // What the old model scored: today's input vector folded back into the old positions.
  const fold = (x: Float32Array, n: number) => {
    const y = new Float32Array(n * width);
    for (let r = 0; r < n; r++) {
      const X = r * FEATURE_WIDTH, Y = r * width;
      for (let i = 0; i < OFF_NUMERIC + old; i++) y[Y + i] = x[X + i];
      for (let g = 0; g < GROUP_SLOTS; g++) for (let i = 0; i < old; i++) y[Y + OFF_NUMERIC + old + g * old + i] = x[X + OFF_GROUP_NUMERIC + g * NUMERIC + i];
    }
    return y;
  };
  const opts = repairOpts.map((o) => ({ ...o, features: [...o.features!, 0, 0, 0, 0] }));
  const expected = [...forward(narrow, fold(featurizeAll('solve.repair', opts), opts.length), opts.length)];
  const policy = await OnnxPolicy.load(store, 'old@2');
  const got = await policy.scores('solve.repair', opts);
  got.forEach((s, i) => assert.ok(Math.abs(s - expected[i]) < 1e-4, `option ${i}: ${s} vs ${expected[i]}`));
  // Features the old layout did not have carry weight 0 until training gives them some.
  const withNew = await policy.scores('solve.repair', opts.map((o) => ({ ...o, features: [...o.features.slice(0, old), 1, 1, 1] })));
  withNew.forEach((s, i) => assert.ok(Math.abs(s - got[i]) < 1e-5, `option ${i}`));
  assert.deepEqual(readFileSync(store.p(onnxFile('old@2'))), Buffer.from(bytes), 'the immutable file is not rewritten');
  assert.equal(groupSlot('solve.repair'), 0);
  // A layout that differs otherwise is still refused, naming the layout.
  for (const p of m.metadataProps!) if (p.key === 'ssr.features') p.value = 'ssr-features/1:r2g8k32n8';
  assert.throws(() => decodeModel(op.onnx.ModelProto.encode(m).finish()), /feature layout 'ssr-features\/1:r2g8k32n8'/);
});

/** A model file as a campaign of an older layout wrote it: today's encoding, with its initializers and its layout. */
function writeOlderModel(store: Store, version: string, w: MlpWeights, layout: string) {
  const m = op.onnx.ModelProto.decode(encodeModel(initialWeights(version)));
  const raw = (a: Float32Array) => new Uint8Array(a.buffer.slice(0));
  for (const t of m.graph!.initializer!) {
    if (t.name === 'W1') { t.dims = [w.inputs, w.hidden]; t.rawData = raw(w.w1); }
    if (t.name === 'B1') t.rawData = raw(w.b1);
    if (t.name === 'W2') t.rawData = raw(w.w2);
    if (t.name === 'B2') t.rawData = raw(new Float32Array([w.b2]));
    if (t.name === 'SKIP') { t.dims = [w.inputs, 1]; t.rawData = raw(w.skip); }
  }
  for (const p of m.metadataProps!) if (p.key === 'ssr.features') p.value = layout;
  mkdirSync(path.dirname(store.p(onnxFile(version))), { recursive: true });
  const bytes = op.onnx.ModelProto.encode(m).finish();
  writeFileSync(store.p(onnxFile(version)), bytes);
  return { m, bytes };
}

test("a model of layout 1 (one group·key block both roles shared) loads as today's: every option of both roles scores as it did", async () => {
  const store = tmpStore();
  const width = FEATURE_WIDTH - KEY_BUCKETS, hidden = 32;
  const rng = new Rng('layout-1');
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.next() - 0.5);
  const w: MlpWeights = { version: 'one@3', inputs: width, hidden, w1: rand(width * hidden), b1: rand(hidden), w2: rand(hidden), b2: -0.5, skip: rand(width) };
  const { bytes } = writeOlderModel(store, 'one@3', w, FEATURE_LAYOUT.replace(/^ssr-features\/2:/, 'ssr-features/1:'));
  // What layout 1 fed the network: both halves of today's group·key block in its one block.
  const fold = (x: Float32Array, n: number) => {
    const y = new Float32Array(n * width);
    for (let r = 0; r < n; r++) {
      const X = r * FEATURE_WIDTH, Y = r * width;
      for (let i = 0; i < width; i++) y[Y + i] = x[X + (i < OFF_GROUP_KEY + KEY_BUCKETS ? i : i + KEY_BUCKETS)];
      for (let b = 0; b < KEY_BUCKETS; b++) y[Y + OFF_GROUP_KEY + b] += x[X + OFF_GROUP_KEY_SOLVER + b];
    }
    return y;
  };
  const policy = await OnnxPolicy.load(store, 'one@3');
  for (const [group, opts] of [['solve.repair', repairOpts], ['inject.strategy', strategyOpts], ['inject.mutation', [{ key: 'compare-flip fromlt togt' }, { key: 'constant-change inc' }]]] as const) {
    const x = featurizeAll(group, [...opts]);
    const half = (lo: number) => [...x].some((v, i) => v !== 0 && i % FEATURE_WIDTH >= lo && i % FEATURE_WIDTH < lo + KEY_BUCKETS);
    assert.equal(half(OFF_GROUP_KEY_SOLVER), group === 'solve.repair', `${group}: the solver's half is the solver's alone`);
    assert.equal(half(OFF_GROUP_KEY), group !== 'solve.repair');
    const expected = [...forward(w, fold(x, opts.length), opts.length)];
    const got = await policy.scores(group, [...opts]);
    got.forEach((s, i) => assert.ok(Math.abs(s - expected[i]) < 1e-4, `${group} option ${i}: ${s} vs ${expected[i]}`));
  }
  assert.deepEqual(readFileSync(store.p(onnxFile('one@3'))), Buffer.from(bytes), 'the immutable file is not rewritten');
  // Version 0 of a seed is the network it was under layout 1: the same hidden rows for both halves.
  const v0 = initialWeights('v@0', 'seed');
  for (let b = 0; b < KEY_BUCKETS; b++) {
    assert.deepEqual(v0.w1.subarray((OFF_GROUP_KEY + b) * v0.hidden, (OFF_GROUP_KEY + b + 1) * v0.hidden), v0.w1.subarray((OFF_GROUP_KEY_SOLVER + b) * v0.hidden, (OFF_GROUP_KEY_SOLVER + b + 1) * v0.hidden));
  }
});

test('the CPU provider runs the model unless a GPU provider can load', async () => {
  const store = tmpStore();
  const cpu = await OnnxPolicy.open(store, 'c@0');
  assert.equal(cpu.provider, 'cpu');
  assert.deepEqual(cpu.fallbacks, []);
  const asked = await OnnxPolicy.open(store, 'c@0', { providers: ['cuda', 'cpu'] });
  const gpu = existsSync('/dev/nvidia0') || existsSync('/dev/nvidiactl');
  if (!gpu) {
    assert.equal(asked.provider, 'cpu');
    assert.equal(asked.fallbacks[0]?.provider, 'cuda');
    // Why, beyond onnxruntime's bare "Failed to load shared library": no provider installed, or no driver.
    assert.match(asked.fallbacks[0]?.reason ?? '', /npm run setup:gpu|no NVIDIA driver here: libcuda\.so\.1/);
    assert.deepEqual(await asked.scores('solve.repair', repairOpts), await cpu.scores('solve.repair', repairOpts));
  } else {
    // With a GPU either provider may win (the CUDA provider library is an optional install); the scores agree.
    const a = await asked.scores('solve.repair', repairOpts), b = await cpu.scores('solve.repair', repairOpts);
    a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-4));
  }
  // Without 'cpu' in the list it is still the last resort.
  const only = await OnnxPolicy.open(store, 'c@0', { providers: ['cuda'] });
  if (!gpu) assert.equal(only.provider, 'cpu');
  else assert.ok(['cuda', 'cpu'].includes(only.provider));
});
