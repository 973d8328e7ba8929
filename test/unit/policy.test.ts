import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initialParams, PolicyRunner, scores, softmax } from '../../src/policy/policy.js';
import { Rng } from '../../src/policy/rng.js';
import { policyGradientStep } from '../../src/trainer/gradient.js';

test('choices are reproducible from the seed', () => {
  const opts = ['a', 'b', 'c', 'd'].map((key) => ({ key }));
  const seq = (seed: string) => { const r = new PolicyRunner(initialParams('c@0'), new Rng(seed)); return Array.from({ length: 20 }, () => r.choose('g', opts)); };
  assert.deepEqual(seq('x'), seq('x'));
  assert.notDeepEqual(seq('x'), seq('y'));
});

test('a policy-gradient step moves probability toward rewarded choices, for both roles at once', () => {
  let p = initialParams('c@0');
  const opts = [{ key: 'good', features: [1] }, { key: 'bad', features: [0] }];
  for (let step = 0; step < 20; step++) {
    const runner = new PolicyRunner(p, new Rng(`s${step}`));
    const batch = [];
    for (let i = 0; i < 8; i++) {
      const before = runner.decisions.length;
      const c = runner.choose('solve.repair', opts);
      batch.push({ role: 'solver' as const, reward: c === 0 ? 1 : -1, group: 'bug1', decisions: runner.decisions.slice(before) });
      const before2 = runner.decisions.length;
      const s = runner.choose('inject.strategy', [{ key: 'removal' }, { key: 'direct' }]);
      batch.push({ role: 'injector' as const, reward: s === 0 ? 0.5 : -0.8, group: `e${i}`, decisions: runner.decisions.slice(before2) });
    }
    p = policyGradientStep(p, batch, 0.5, `c@${step + 1}`).params;
  }
  const solveProbs = softmax(scores(p, 'solve.repair', opts));
  const injProbs = softmax(scores(p, 'inject.strategy', [{ key: 'removal' }, { key: 'direct' }]));
  assert.ok(solveProbs[0] > 0.8, `solver prob of good ${solveProbs[0]}`);
  assert.ok(injProbs[0] > 0.8, `injector prob of removal ${injProbs[0]}`);
  assert.equal(p.version, 'c@20');
  assert.equal(p.step, 20);
});

test('a step with zero advantage changes nothing', () => {
  const p = initialParams('c@0');
  const r = new PolicyRunner(p, new Rng(1));
  r.choose('g', [{ key: 'a' }, { key: 'b' }]);
  const { params } = policyGradientStep(p, [{ role: 'solver', reward: 1, group: 'x', decisions: r.decisions }], 1, 'c@1');
  assert.deepEqual(params.logits, {});
});
