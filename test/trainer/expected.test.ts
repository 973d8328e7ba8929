import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expectedSolverBatch, knownBugs, restoredLines, restoringOptions, wholeFixes, type AttemptOutcome, type KnownBug } from '../../src/trainer/expected.js';

const knownBug = (g: string, a: AttemptOutcome[]) => knownBugs(g, a, 'whole')[0] ?? null;
import { findMutations } from '../../src/agents/code/index.js';
import { onnxPolicyGradientStep, prepareBatch } from '../../src/policy/onnx/train.js';
import { forward, initialWeights, type MlpWeights } from '../../src/policy/onnx/model.js';
import { featurizeAll } from '../../src/policy/onnx/features.js';
import { MAX_RECORDED_OPTIONS, softmax, type Option, type SearchRecord } from '../../src/policy/policy.js';
import { Rng } from '../../src/policy/rng.js';
import { Store } from '../../src/store/store.js';
import { solverNumericMask, trainStep } from '../../src/trainer/step.js';
import { loadOnnxWeights, saveOnnxPolicy } from '../../src/policy/onnx/store.js';

// 60 options (more than a trajectory records whole) with distinct features; the fix is option 7, whose feature 10
// (line Ochiai) is high, as real fixes' tend to be.
const OPTIONS: Option[] = Array.from({ length: 60 }, (_, i) => ({
  key: `op-${i % 5}`,
  features: [((i * 37) % 60) / 60, i % 2, 0, 0.1, 0, 0, 0, 0, i % 3 === 0 ? 1 : 0, 0, i === 50 ? 1 : ((i * 13) % 60) / 200],
}));
const FIX = 50;
const search = (picks: number[], kept: number[], options = OPTIONS): SearchRecord => ({ options, picks, kept, maxPicks: 6 });

/** P(the fix is among the first k picks) under w, by sampling. */
function pFix(w: MlpWeights, k: number, fix = FIX): number {
  const s = forward(w, featurizeAll('solve.repair', OPTIONS, 'solver'), OPTIONS.length);
  const rng = new Rng('p');
  let hit = 0;
  for (let r = 0; r < 2000; r++) {
    const left = OPTIONS.map((_, i) => i);
    for (let j = 0; j < k; j++) {
      const p = softmax(left.map((i) => s[i]));
      let u = rng.next(), x = 0;
      while (x < p.length - 1 && (u -= p[x]) > 0) x++;
      if (left.splice(x, 1)[0] === fix) { hit++; break; }
    }
  }
  return hit / 2000;
}

test('a group teaches its bug only through attempts that were solved by a recorded search; solutions map across option orders', () => {
  assert.equal(knownBug('g', [{ reward: -1, search: search([1, 2, 3], []) }]), null, 'nothing solved: nothing known');
  assert.equal(knownBug('g', [{ reward: 1 }]), null, 'solved without a search record (an LLM attempt, an old trajectory)');
  const reversed = [...OPTIONS].reverse();
  const bug = knownBug('g', [
    { reward: -1, search: search([4, 5], []) },
    { reward: 1, search: search([3, FIX], [FIX]) },
    // The same fix in another attempt's option order, and a second, two-edit solution.
    { reward: 1, search: search([59 - FIX], [59 - FIX], reversed) },
    { reward: 1, search: search([10, 12], [12, 10], reversed) },
    // Kept edits the grader did not accept are no solution.
    { reward: -1, search: search([20], [20]) },
  ])!;
  assert.deepEqual(bug.solutions, [[FIX], [47, 49]]);
  assert.equal(bug.options, OPTIONS);
  assert.equal(bug.maxPicks, 6);
  assert.equal(bug.attempts, 5);
});

// A bug of two changed lines (an inverted condition, a flipped operator) in real code, and the solver's real edits.
const ORIGINAL = ['export function clamp(x, lo, hi) {', '  if (x < lo) return lo;', '  if (x > hi) return hi;', '  return x;', '}', '',
  'export function span(a, b) {', '  return b - a;', '}', ''].join('\n');
const BUGGY = ORIGINAL.replace('if (x > hi)', 'if (!(x > hi))').replace('b - a', 'b + a');

test('options that restore the lines a bug changed are known fixes: one per line, every line covered, nothing else changed', async () => {
  const ms = await findMutations('javascript', BUGGY);
  const edits = ms.map((m) => ({ file: 'src/m.js', edit: m.edit }));
  const orig = new Map([['src/m.js', ORIGINAL]]), buggy = new Map([['src/m.js', BUGGY]]);
  const { lines, restores } = restoredLines(edits, buggy, orig);
  assert.deepEqual(lines, ['src/m.js:2', 'src/m.js:7']);
  const by = (line: string) => [...restores].filter(([, ls]) => ls.includes(line)).map(([i]) => ms[i].kind);
  assert.ok(by('src/m.js:2').includes('negate-condition'), JSON.stringify(by('src/m.js:2')));
  assert.deepEqual(by('src/m.js:7'), ['arith-swap']);
  // An edit of a line the bug never touched restores nothing (the other comparisons, constants, ...).
  assert.ok(ms.some((m, i) => !restores.has(i) && m.line === 2), 'line 2 (1-based) has other edits that restore nothing');
  const byLine = restoringOptions(edits, buggy, orig);
  assert.deepEqual(byLine.map((l) => l.map((i) => ms[i].kind)), [by('src/m.js:2'), by('src/m.js:7')]);
  const sols = wholeFixes(byLine);
  assert.ok(sols.length >= 1 && sols.every((s) => s.length === 2));
  for (const s of sols) {
    // Each set, applied, gives the original back up to the parentheses the strip leaves.
    const { applyEdits } = await import('../../src/agents/code/index.js');
    assert.equal(applyEdits(BUGGY, s.map((i) => ms[i].edit)).replace(/[()]/g, ''), ORIGINAL.replace(/[()]/g, ''));
  }
  // A line no option restores: that line's list is empty and no whole fix exists.
  const partial = restoringOptions(edits.filter((_, i) => !restores.get(i)?.includes('src/m.js:7')), buggy, orig);
  assert.equal(partial[1].length, 0);
  assert.deepEqual(wholeFixes(partial), []);
  // No option can restore it at all: lines added or removed, a changed file the options never edit; and no bug.
  assert.deepEqual(restoringOptions(edits, buggy, new Map([['src/m.js', ORIGINAL.replace('  return x;\n', '')]])), []);
  assert.deepEqual(restoringOptions(edits, buggy, new Map([...orig, ['src/other.js', 'x']])), []);
  assert.deepEqual(restoringOptions(edits, new Map([['src/m.js', ORIGINAL]]), orig), [], 'no bug, no fix');
});

test('a bug whose attempts all failed is still learned from the options that restore its lines: whole, or line by line', () => {
  const reversed = [...OPTIONS].reverse();
  // Two changed lines: option FIX or 3 restores the first, 7 the second. The second search lists the same options
  // in another order; the first that recorded the lines speaks for the group.
  const attempts: AttemptOutcome[] = [
    { reward: -1, search: search([1, 2], []) },
    { reward: -1, search: { ...search([1], [], reversed), restores: [[59 - FIX, 59 - 3], [59 - 7]] } },
    { reward: -1, search: { ...search([1], []), restores: [[99], []] } },
  ];
  const [whole, ...none] = knownBugs('g', attempts, 'whole');
  assert.equal(none.length, 0);
  assert.deepEqual(whole.solutions, [[7, FIX], [3, 7]], 'one option per line, mapped onto the first search');
  assert.equal(whole.attempts, 3);
  const perLine = knownBugs('g', attempts, 'per-line');
  assert.deepEqual(perLine.map((b) => [b.group, b.solutions, b.attempts]), [['g#0', [[FIX], [3]], 1.5], ['g#1', [[7]], 1.5]]);
  // A line no option restores: no whole fix; per line, the other line alone.
  const half: AttemptOutcome[] = [{ reward: -1, search: { ...search([1], []), restores: [[FIX], []] } }];
  assert.deepEqual(knownBugs('g', half, 'whole'), []);
  assert.deepEqual(knownBugs('g', half, 'per-line').map((b) => [b.group, b.solutions, b.attempts]), [['g#0', [[FIX]], 1]]);
  // A solved attempt's kept edits stay a fix of the whole bug.
  assert.deepEqual(knownBugs('g', [...half, { reward: 1, search: search([4, 9], [9]) }], 'whole').map((b) => b.solutions), [[[9]]]);
});

test('simulated attempts draw orders from the policy, are solved exactly when they reach a known solution within the budget, and are deterministic', () => {
  const w = initialWeights('e@0', 's');
  const bug: KnownBug = { group: 'g', options: OPTIONS, solutions: [[FIX], [51, 52]], maxPicks: 6, attempts: 4 };
  const batch = expectedSolverBatch(w, [bug], 64, 'e@1');
  assert.equal(batch.length, 64);
  assert.deepEqual(expectedSolverBatch(w, [bug], 64, 'e@1'), batch, 'a retried step trains on the same batch');
  assert.notDeepEqual(expectedSolverBatch(w, [bug], 64, 'e@2'), batch);
  const chosenKey = (d: (typeof batch)[0]['decisions'][0]) => JSON.stringify(d.options[d.chosen]);
  const id = (i: number) => JSON.stringify(OPTIONS[i]);
  let solved = 0;
  for (const t of batch) {
    assert.equal(t.group, 'expected:g');
    assert.ok(t.decisions.length >= 1 && t.decisions.length <= 6);
    assert.ok(t.decisions.every((d) => d.options.length <= MAX_RECORDED_OPTIONS && d.group === 'solve.repair'));
    const drawn = new Set(t.decisions.map(chosenKey));
    const reached = drawn.has(id(FIX)) || (drawn.has(id(51)) && drawn.has(id(52)));
    assert.equal(t.reward, reached ? 1 : -1);
    // A solved search stops there; an unsolved one spends its budget.
    if (reached) solved++;
    else assert.equal(t.decisions.length, 6);
  }
  assert.ok(solved > 0 && solved < 64, `${solved} of 64 solved: both outcomes occur`);
  // Together the 64 weigh what the bug's 4 real attempts did: the step's injections keep their share of the batch.
  assert.ok(batch.every((t) => t.weight === 4 / 64));
  const injections = [1, -1].map((reward) => ({ role: 'injector' as const, group: 'e', reward, decisions: [{ group: 'inject.strategy', options: [{ key: 'a' }, { key: 'b' }], chosen: 0 }] }));
  const rewarded = prepareBatch([...batch, ...injections]).decisions.filter((d) => d.n === 2 && d.coef > 0);
  assert.equal(rewarded.length, 1);
  assert.ok(Math.abs(rewarded[0].coef - 1 / (4 + 2)) < 1e-12, `an injection's weight in the loss: ${rewarded[0].coef}`);
});

test("simulated attempts stop at the configured picks where the bug's own budget is larger", () => {
  const w = initialWeights('e@0', 's');
  const bug: KnownBug = { group: 'g', options: OPTIONS, solutions: [[FIX]], maxPicks: 14, attempts: 2 };
  const solvedWithin = (batch: ReturnType<typeof expectedSolverBatch>, k: number) => {
    for (const t of batch) {
      assert.ok(t.decisions.length <= k, `${t.decisions.length} picks under a cap of ${k}`);
      const drawn = t.decisions.map((d) => JSON.stringify(d.options[d.chosen]));
      assert.equal(t.reward, drawn.includes(JSON.stringify(OPTIONS[FIX])) ? 1 : -1);
      if (t.reward < 0) assert.equal(t.decisions.length, k, 'an unsolved attempt spends the capped budget');
    }
    return batch.filter((t) => t.reward > 0).length;
  };
  const whole = solvedWithin(expectedSolverBatch(w, [bug], 256, 'e@1'), 14);
  const capped = solvedWithin(expectedSolverBatch(w, [bug], 256, 'e@1', 3), 3);
  assert.ok(capped < whole, `fewer solved within 3 picks (${capped}) than within 14 (${whole})`);
  // A cap above the bug's own budget changes nothing.
  assert.deepEqual(expectedSolverBatch(w, [bug], 32, 'e@1', 20), expectedSolverBatch(w, [bug], 32, 'e@1'));
});

test('one step of the expected gradient moves the known fix up within the budget', () => {
  const w = initialWeights('e@0', 's');
  const before = pFix(w, 6);
  // The real group: 4 attempts, one solved (so the sampled step has gradient too, but from 4 orders).
  const bug = knownBug('g', [{ reward: 1, search: search([3, FIX], [FIX]) }, { reward: -1, search: search([1, 2], []) }])!;
  const out = onnxPolicyGradientStep(w, expectedSolverBatch(w, [bug], 32, 'e@1'), 'e@1', { learningRate: 4 });
  assert.ok(out.stats.decisions > 0 && out.stats.lossAfter < out.stats.lossBefore, JSON.stringify(out.stats));
  const after = pFix(out.weights, 6);
  assert.ok(after > before + 0.05, `P(fix within 6 picks) ${before} -> ${after}`);
});

test('the gradient step trains the solver on expected attempts, records what it learned, and replays it in later steps', async () => {
  const store = new Store(mkdtempSync(path.join(tmpdir(), 'ssr-expected-')));
  const traj = (s: SearchRecord) => store.putBlob(JSON.stringify({ decisions: [{ group: 'solve.repair', options: OPTIONS.slice(0, 2), chosen: 0 }], search: s }));
  const solverGradient = { expectedSamples: 16, replayBugs: 24, iterations: 1, learningRate: 2, trains: 'all' as const, picks: 6, fixes: 'whole' as const };
  const step0 = [
    { trajectoryRef: await traj(search([3, FIX], [FIX])), role: 'solver' as const, reward: 1, group: 'ep-a' },
    { trajectoryRef: await traj(search([1, 2], [])), role: 'solver' as const, reward: -1, group: 'ep-a' },
    { trajectoryRef: await traj(search([1, 2], [])), role: 'solver' as const, reward: -1, group: 'ep-b' },
  ];
  const out0 = await trainStep(store, { campaignId: 'c', step: 0, fromVersion: 'c@0', batch: step0, learningRate: 2, solverGradient });
  const known0 = (await store.getJson<KnownBug[]>('train/c/0.known.json'))!;
  assert.deepEqual(known0.map((b) => [b.group, b.solutions]), [['ep-a', [[FIX]]]]);
  const stats0 = (await store.getJson<{ expected: Record<string, unknown>; trajectories: number }>('train/c/0.json'))!;
  const figures = (e: Record<string, unknown>) => ({ ...e, decisions: (e.decisions as number) > 0, lossBefore: typeof e.lossBefore, lossAfter: typeof e.lossAfter });
  assert.deepEqual(figures(stats0.expected), { bugs: 1, replayed: 0, samples: 16, iterations: 1, decisions: true, lossBefore: 'number', lossAfter: 'number' });
  // ep-a's two real attempts left the sampled batch (its known-bug step trains on simulated ones); ep-b keeps its one.
  assert.equal(out0.trajectories, 1);
  // Step 1's own bug was never solved: without replay it would learn nothing; with it, ep-a trains again.
  const step1 = [{ trajectoryRef: await traj(search([1, 2], [])), role: 'solver' as const, reward: -1, group: 'ep-c' }];
  const out1 = await trainStep(store, { campaignId: 'c', step: 1, fromVersion: 'c@1', batch: step1, learningRate: 2, solverGradient });
  assert.deepEqual(figures((await store.getJson<{ expected: Record<string, unknown> }>('train/c/1.json'))!.expected), { bugs: 0, replayed: 1, samples: 16, iterations: 1, decisions: true, lossBefore: 'number', lossAfter: 'number' });
  assert.ok(out1.decisions > 0, 'the replayed bug carried gradient');
  assert.ok(pFix(await loadOnnxWeights(store, 'c@2'), 6) > pFix(await loadOnnxWeights(store, 'c@0'), 6) + 0.05);
  // Off, or where the solver does not train: the sampled attempts only, and nothing recorded.
  await trainStep(store, { campaignId: 'd', step: 0, fromVersion: 'd@0', batch: step0, learningRate: 2, solverGradient: { ...solverGradient, expectedSamples: 0 } });
  await trainStep(store, { campaignId: 'i', step: 0, fromVersion: 'i@0', batch: step0, learningRate: 2, solverGradient, ablation: 'injection-only' });
  for (const c of ['d', 'i']) {
    assert.equal(await store.getJson(`train/${c}/0.known.json`), null, c);
    assert.equal((await store.getJson<{ expected?: unknown }>(`train/${c}/0.json`))!.expected, undefined, c);
  }
});

test('the known-bug steps train only the numeric weights by default, and more of them move the fix up more', async () => {
  const store = new Store(mkdtempSync(path.join(tmpdir(), 'ssr-expected-')));
  const traj = (sr: SearchRecord) => store.putBlob(JSON.stringify({ decisions: [{ group: 'solve.repair', options: OPTIONS.slice(0, 2), chosen: 0 }], search: sr }));
  // Both attempts are of a known bug, so the sampled batch is empty: whatever moves, the known-bug steps moved.
  const batch = [
    { trajectoryRef: await traj(search([3, FIX], [FIX])), role: 'solver' as const, reward: 1, group: 'ep-a' },
    { trajectoryRef: await traj(search([1, 2], [])), role: 'solver' as const, reward: -1, group: 'ep-a' },
  ];
  const v0 = initialWeights('x@0', 's');
  const block = solverNumericMask(v0).skip;
  const p: Record<string, number> = {};
  for (const [trains, iterations] of [['numeric', 1], ['numeric', 6], ['all', 6]] as const) {
    const c = `it-${trains}-${iterations}`;
    await saveOnnxPolicy(store, { ...v0, version: `${c}@0` });
    const out = await trainStep(store, { campaignId: c, step: 0, fromVersion: `${c}@0`, batch, learningRate: 1, solverGradient: { expectedSamples: 32, replayBugs: 0, iterations, learningRate: 4, trains, picks: 6, fixes: 'whole' } });
    assert.equal(out.trajectories, 0, 'nothing left in the sampled batch');
    const stats = (await store.getJson<{ expected: { iterations: number; decisions: number; lossBefore: number; lossAfter: number } }>(`train/${c}/0.json`))!;
    assert.equal(stats.expected.iterations, iterations);
    assert.ok(stats.expected.decisions > 0 && stats.expected.lossAfter < stats.expected.lossBefore, JSON.stringify(stats.expected));
    const w = await loadOnnxWeights(store, `${c}@1`);
    const moved = [...w.skip].flatMap((v, i) => (v !== v0.skip[i] ? [i] : []));
    if (trains === 'numeric') {
      assert.deepEqual([w.w1, w.b1, w.w2, w.b2], [v0.w1, v0.b1, v0.w2, v0.b2], 'the hidden layer and its output are untouched');
      assert.ok(moved.length > 0 && moved.every((i) => block[i] === 1), `only the solver's numeric weights moved: ${moved}`);
    } else {
      assert.ok(moved.some((i) => block[i] === 0) || w.w2.some((v, i) => v !== v0.w2[i]), 'the whole network trains');
    }
    p[c] = pFix(w, 6);
  }
  assert.ok(p['it-numeric-6'] > p['it-numeric-1'] + 0.02, `P(fix within 6 picks): ${JSON.stringify(p)}`);
});

test("two campaigns that learn the same bugs at the same step draw the same simulated attempts: their names seed nothing", async () => {
  const store = new Store(mkdtempSync(path.join(tmpdir(), 'ssr-expected-')));
  const traj = (sr: SearchRecord) => store.putBlob(JSON.stringify({ decisions: [{ group: 'solve.repair', options: OPTIONS.slice(0, 2), chosen: 0 }], search: sr }));
  const v0 = initialWeights('x@0', 's');
  const solverGradient = { expectedSamples: 16, replayBugs: 0, iterations: 2, learningRate: 4, trains: 'numeric' as const, picks: 6, fixes: 'whole' as const };
  const trained = async (c: string, step: number) => {
    // The episodes are named by their campaign, as the campaign workflow names them.
    const batch = [
      { trajectoryRef: await traj(search([3, FIX], [FIX])), role: 'solver' as const, reward: 1, group: `${c}/${step}/0` },
      { trajectoryRef: await traj(search([1, 2], [])), role: 'solver' as const, reward: -1, group: `${c}/${step}/0` },
    ];
    await saveOnnxPolicy(store, { ...v0, version: `${c}@${step}` });
    await trainStep(store, { campaignId: c, step, fromVersion: `${c}@${step}`, batch, learningRate: 1, solverGradient });
    return [...(await loadOnnxWeights(store, `${c}@${step + 1}`)).skip];
  };
  const a = await trained('learn-self-play-s1', 0);
  assert.notDeepEqual(a, [...v0.skip], 'the known-bug steps moved the weights');
  assert.deepEqual(await trained('learn-repair-only-s1', 0), a);
  // Another step is another draw.
  assert.notDeepEqual(await trained('learn-injection-only-s1', 1), a);
});
