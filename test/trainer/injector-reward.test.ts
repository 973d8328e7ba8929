import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expectedInjectorRewards } from '../../src/trainer/injectorReward.js';
import { type AttemptOutcome } from '../../src/trainer/expected.js';
import { expectedInjectorReward } from '../../src/rewards.js';
import { forward, initialWeights } from '../../src/policy/onnx/model.js';
import { featurizeAll } from '../../src/policy/onnx/features.js';
import { sampleIndex, softmax, type Option, type SearchRecord } from '../../src/policy/policy.js';
import { Store } from '../../src/store/store.js';
import { trainStep } from '../../src/trainer/step.js';
import { loadOnnxWeights, saveOnnxPolicy } from '../../src/policy/onnx/store.js';
import { Rng } from '../../src/policy/rng.js';
import type { TrajectoryScore } from '../../src/episode/types.js';

// 40 repair options of distinct features; under version 0 the bug whose fix is its best-scored option is the easy one.
const OPTIONS: Option[] = Array.from({ length: 40 }, (_, i) => ({
  key: `op-${i % 4}`,
  features: [((i * 7) % 40) / 40, i % 2, 0, 0.1, 0, 0, 0, 0, i % 3 === 0 ? 1 : 0, 0, ((i * 11) % 40) / 40],
}));
const V0 = initialWeights('c@0', 's');
const SCORES = forward(V0, featurizeAll('solve.repair', OPTIONS, 'solver'), OPTIONS.length);
const EASY = SCORES.indexOf(Math.max(...SCORES)), HARD = SCORES.indexOf(Math.min(...SCORES));

/** P(the fix is among the first k picks) under version 0, by sampling as the solver's Plackett-Luce order does. */
function pFix(fix: number, k: number, n = 4000): number {
  const rng = new Rng('other');
  let hit = 0;
  for (let r = 0; r < n; r++) {
    const left = OPTIONS.map((_, i) => i);
    for (let j = 0; j < k; j++) {
      if (left.splice(sampleIndex(softmax(left.map((i) => SCORES[i])), rng), 1)[0] === fix) { hit++; break; }
    }
  }
  return hit / n;
}
// Four failed attempts of one bug, whose searches record which option restores its one changed line.
const failed = (fix: number | null): AttemptOutcome[] => Array.from({ length: 4 }, (_, k) => ({
  reward: -1, search: { options: OPTIONS, picks: [k, k + 4], kept: [], maxPicks: 6, ...(fix === null ? {} : { restores: [[fix]] }) } satisfies SearchRecord,
}));
const inj = (group: string) => ({ role: 'injector' as const, group, reward: -0.8, decisions: [] });

test("an injection's expected reward: the method's reward averaged over the attempts at the simulated chance of one solving", () => {
  const w = V0;
  const outcomes = new Map([['c/0/0', failed(EASY)], ['c/0/1', failed(HARD)], ['c/0/2', failed(null)]]);
  const opts = { samples: 1000, alpha: 0.8, seed: 'seed', localGroup: (g: string) => g.slice(2) };
  const { trajectories, estimates } = expectedInjectorRewards(w, [inj('c/0/0'), inj('c/0/1'), inj('c/0/2'), inj('c/0/3')], outcomes, opts);
  // All four attempts of every bug failed: the sampled rewards are all -alpha, and carry no advantage.
  const [easy, hard, unknown] = estimates;
  assert.equal(estimates.length, 3, 'the invalid injection (no attempts) is not estimated');
  assert.ok(easy.p! > hard.p! && hard.p! >= 0, JSON.stringify(estimates));
  // p is the share of simulated attempts that reach the fix within the bug's 6 picks.
  for (const [e, fix] of [[easy, EASY], [hard, HARD]] as const) assert.ok(Math.abs(e.p! - pFix(fix, 6)) < 0.04, `${e.p} vs ${pFix(fix, 6)}`);
  for (const e of [easy, hard]) assert.equal(e.reward, expectedInjectorReward(e.p!, 4, 0.8));
  assert.notEqual(easy.reward, hard.reward);
  assert.deepEqual(unknown, { group: 'c/0/2', sampled: -0.8, p: null, reward: -0.8 }, 'no fix known: the sampled reward stays');
  assert.deepEqual(trajectories.map((t) => t.reward), [easy.reward, hard.reward, -0.8, -0.8]);
  // Deterministic in the weights, the bugs and the seed; the campaign's name seeds nothing.
  const again = expectedInjectorRewards(w, [inj('d/0/0')], new Map([['d/0/0', failed(EASY)]]), opts);
  assert.equal(again.estimates[0].p, easy.p);
});

test('the gradient step trains the injector on expected rewards where the sampled ones are all alike, and records both', async () => {
  const store = new Store(mkdtempSync(path.join(tmpdir(), 'ssr-injreward-')));
  const mutation = [{ key: 'compare-flip fromlt togt' }, { key: 'constant-change inc' }];
  // Injection k chose mutation kind k; its bug's attempts all failed, so both sampled rewards are -alpha.
  const batch: TrajectoryScore[] = [];
  for (const [k, fix] of [[0, EASY], [1, HARD]] as const) {
    const group = `c/0/${k}`;
    batch.push({ trajectoryRef: await store.putBlob(JSON.stringify({ decisions: [{ group: 'inject.mutation', options: mutation, chosen: k }] })), role: 'injector' as const, reward: -0.8, group });
    for (const a of failed(fix)) batch.push({ trajectoryRef: await store.putBlob(JSON.stringify({ decisions: [], search: a.search })), role: 'solver' as const, reward: -1, group });
  }
  const v0 = V0;
  const pChoose = async (version: string) => softmax([...forward(await loadOnnxWeights(store, version), featurizeAll('inject.mutation', mutation, 'injector'), 2)]);
  const input = (c: string, reward: 'expected' | 'sampled', trains: 'own' | 'all' = 'all', injectorLr?: number) => ({
    campaignId: c, step: 0, fromVersion: `${c}@0`, batch: batch.map((t) => ({ ...t, group: t.group.replace(/^c\//, `${c}/`) })), learningRate: 1,
    injectorGradient: { reward, samples: 200, trains, ...(injectorLr ? { learningRate: injectorLr } : {}) }, alpha: 0.8,
  });
  for (const c of ['e', 's', 'o', 'f']) await saveOnnxPolicy(store, { ...v0, version: `${c}@0` });
  const e = await trainStep(store, input('e', 'expected'));
  const s = await trainStep(store, input('s', 'sampled'));
  assert.equal(s.decisions, 0, 'sampled: equal rewards, no advantage, nothing learned');
  assert.ok(e.decisions > 0, 'expected: the two injections have different rewards');
  const before = await pChoose('e@0'), after = await pChoose('e@1');
  const stats = (await store.getJson<{ injector: { group: string; sampled: number; p: number; reward: number }[] }>('train/e/0.json'))!;
  const [easy, hard] = stats.injector;
  assert.deepEqual([easy.group, hard.group, easy.sampled, hard.sampled], ['e/0/0', 'e/0/1', -0.8, -0.8]);
  // The better-rewarded bug's choice became more likely.
  const better = easy.reward > hard.reward ? 0 : 1;
  assert.notEqual(easy.reward, hard.reward);
  assert.ok(after[better] > before[better], `P(choice ${better}): ${before[better]} → ${after[better]} (${JSON.stringify(stats.injector)})`);
  assert.equal((await store.getJson<{ injector?: unknown }>('train/s/0.json'))!.injector, undefined);

  // Its own weights only (the default): the injector's choice moves the same way, and no solver score moves at all.
  const o = await trainStep(store, input('o', 'expected', 'own'));
  assert.equal(o.decisions, e.decisions);
  const own = await pChoose('o@1');
  assert.ok(own[better] > before[better], `P(choice ${better}): ${before[better]} → ${own[better]}`);
  const solverScores = async (version: string) => [...forward(await loadOnnxWeights(store, version), featurizeAll('solve.repair', OPTIONS, 'solver'), OPTIONS.length)];
  assert.deepEqual(await solverScores('o@1'), await solverScores('o@0'), "the injector's step left the solver's scores alone");
  assert.notDeepEqual(await solverScores('e@1'), await solverScores('e@0'), 'trained as a whole, the network moved them');

  // The injector's own step size (injectorGradient.learningRate): the same direction, further, the solver still untouched.
  await trainStep(store, input('f', 'expected', 'own', 8));
  const fast = await pChoose('f@1');
  assert.ok(fast[better] - before[better] > 2 * (own[better] - before[better]), `P(choice ${better}): ${before[better]} → ${own[better]} at the campaign's rate, ${fast[better]} at 8`);
  assert.deepEqual(await solverScores('f@1'), await solverScores('f@0'));
  // Nor does it move a solver option named as the mutations are (a repair that undoes a mutation carries its kind):
  // the roles' group-hashed tokens live in separate halves of the input, not in buckets they can share by collision.
  const named = ['compare-flip fromlt togt', 'constant-change inc', 'negate-condition strip', 'arith-swap fromplus tominus', 'bool-flip toand fromor', 'off-by-one dec', 'compare-flip fromge tolt', 'constant-change tozero']
    .map((key, i) => ({ key, features: OPTIONS[i].features }));
  const namedScores = async (version: string) => [...forward(await loadOnnxWeights(store, version), featurizeAll('solve.repair', named, 'solver'), named.length)];
  assert.deepEqual(await namedScores('f@1'), await namedScores('f@0'), "repairs named as the mutations: the injector's step left their scores alone");
});
