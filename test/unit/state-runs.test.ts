/**
 * The shared runs of bug states (src/repo/stateRuns.ts): which earlier run answers for a new one, a run in progress
 * shared, and the bound on the logs kept.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { StateRunCache, reusable } from '../../src/repo/stateRuns.js';
import type { TestRun } from '../../src/repo/testrun.js';

const run = (over: Partial<TestRun> = {}): TestRun => ({ results: { 't::a': 'passed' }, log: 'log', exitCode: 0, killed: null, durationMs: 1_000, cpuMs: 800, parserStdout: '', ...over } as TestRun);

test('a run that ended answers within limits it kept to; one stopped by a time limit only under a limit no longer than it ran out', () => {
  const ended = { run: run(), limits: { ms: 90_000, cpuMs: 20_000 } };
  assert.equal(reusable(ended, { ms: 90_000 }), true);
  assert.equal(reusable(ended, { ms: 5_000, cpuMs: 1_000 }), true);
  assert.equal(reusable(ended, { ms: 500 }), false, 'it took 1 s: a 0.5 s limit would have stopped it');
  assert.equal(reusable(ended, { ms: 90_000, cpuMs: 700 }), false, 'it used 0.8 s of CPU');
  const byTime = { run: run({ killed: 'timeout', durationMs: 10_000 }), limits: { ms: 10_000 } };
  assert.equal(reusable(byTime, { ms: 10_000 }), true);
  assert.equal(reusable(byTime, { ms: 30_000 }), false, 'it might end under a longer limit');
  const byCpu = { run: run({ killed: 'cpu', cpuMs: 15_000 }), limits: { ms: 90_000, cpuMs: 15_000 } };
  assert.equal(reusable(byCpu, { ms: 90_000, cpuMs: 10_000 }), true);
  assert.equal(reusable(byCpu, { ms: 90_000, cpuMs: 20_000 }), false);
  assert.equal(reusable(byCpu, { ms: 90_000 }), false, 'without a CPU limit it runs to the wall clock');
  // Memory, pids, output, disk: the code's own, whatever the time limits.
  assert.equal(reusable({ run: run({ killed: 'memory' }), limits: { ms: 1_000 } }, { ms: 90_000 }), true);
});

test("the solver's run cache answers by the same rule: a run that ended under a loose limit is not an answer under one it would have broken", async () => {
  const { TestRunCache } = await import('../../src/agents/common.js');
  const cache = new TestRunCache();
  cache.set('s', run({ cpuMs: 3_000, durationMs: 4_000 }), false, 90_000, 20_000);
  assert.ok(cache.get('s', 90_000, 20_000));
  assert.ok(cache.get('s', 90_000), 'no CPU limit: it ended');
  assert.equal(cache.get('s', 90_000, 2_000), undefined, 'a probe limit of 2 s of CPU would have stopped it');
  assert.equal(cache.get('s', 3_000), undefined, 'it took 4 s');
  cache.set('k', run({ killed: 'cpu', cpuMs: 2_000 }), false, 90_000, 2_000);
  assert.ok(cache.get('k', 90_000, 1_000));
  assert.equal(cache.get('k', 90_000, 5_000), undefined);
  assert.equal(cache.get('k', 90_000), undefined);
});

test('the same state runs once: a later and a concurrent request share it, another state or a longer limit runs again', async () => {
  const cache = new StateRunCache();
  let execs = 0;
  const exec = (r: TestRun) => async () => { execs++; await sleep(50); return r; };
  const k = StateRunCache.key('repo', 'script', 'bug.diff');
  const [a, b] = await Promise.all([cache.run(k, { ms: 90_000 }, exec(run())), cache.run(k, { ms: 90_000 }, exec(run()))]);
  assert.equal(execs, 1, 'the concurrent request waited for the run in progress');
  assert.deepEqual([a.cached, b.cached], [false, true]);
  assert.equal((await cache.run(k, { ms: 90_000 }, exec(run()))).cached, true);
  assert.equal(execs, 1);
  await cache.run(StateRunCache.key('repo', 'script', 'other.diff'), { ms: 90_000 }, exec(run()));
  assert.equal(execs, 2);
  const h = StateRunCache.key('repo', 'script', 'hangs.diff');
  await cache.run(h, { ms: 90_000, cpuMs: 10_000 }, exec(run({ killed: 'cpu' })));
  assert.equal((await cache.run(h, { ms: 90_000, cpuMs: 30_000 }, exec(run({ killed: 'cpu' })))).cached, false);
  assert.equal(execs, 4);
  // A failed run is not kept: the next request runs it again.
  const f = StateRunCache.key('repo', 'script', 'fails.diff');
  await assert.rejects(cache.run(f, { ms: 90_000 }, async () => { throw new Error('sandbox gone'); }), /sandbox gone/);
  assert.equal((await cache.run(f, { ms: 90_000 }, exec(run()))).cached, false);
});

test('the logs kept are bounded: the oldest runs go first', async () => {
  const cache = new StateRunCache(1000, 10);
  await cache.run('a', { ms: 1e6 }, async () => run({ log: '123456' }));
  await cache.run('b', { ms: 1e6 }, async () => run({ log: '123456' }));
  let ran = false;
  assert.equal((await cache.run('b', { ms: 1e6 }, async () => { ran = true; return run(); })).cached, true);
  assert.equal((await cache.run('a', { ms: 1e6 }, async () => { ran = true; return run(); })).cached, false);
  assert.equal(ran, true);
});
