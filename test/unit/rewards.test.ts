import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedInjectorReward, injectorReward, solveRate, solverReward } from '../../src/rewards.js';

test('solver reward is +1 on success and -1 otherwise', () => {
  assert.equal(solverReward(true), 1);
  assert.equal(solverReward(false), -1);
});

test('injector reward follows the method: -1 invalid, -alpha at s=0 or 1, 1-(1+alpha)s inside', () => {
  assert.equal(injectorReward(false, 0.5), -1);
  assert.equal(injectorReward(true, 0), -0.8);
  assert.equal(injectorReward(true, 1), -0.8);
  assert.ok(Math.abs(injectorReward(true, 0.25) - (1 - 1.8 * 0.25)) < 1e-12);
  assert.equal(injectorReward(true, 0, 0.5), -0.5);
  assert.throws(() => injectorReward(true, 1.5), RangeError);
});

test('solve rate counts successes', () => {
  assert.equal(solveRate([true, false, false, true]), 0.5);
  assert.equal(solveRate([]), 0);
});

test('expected injector reward over Binomial(8, p) peaks near p = 0.2-0.26', () => {
  let best = 0, bestP = 0;
  for (let p = 0.01; p < 1; p += 0.01) {
    const e = expectedInjectorReward(p, 8);
    if (e > best) { best = e; bestP = p; }
  }
  assert.ok(bestP >= 0.15 && bestP <= 0.3, `peak at ${bestP}`);
});
