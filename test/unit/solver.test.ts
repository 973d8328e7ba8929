/** The embedded solver on a real repository in the real sandbox: it localises, repairs and passes grading. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRuntime } from '../../src/runtime.js';
import { makeDiff } from '../../src/repo/diffgen.js';
import { detectRunners } from '../../src/repo/runners/index.js';
import { reverseDiff } from '../../src/artifact/diff.js';
import { buildSolverState } from '../../src/episode/solverState.js';
import { grade } from '../../src/episode/grade.js';
import { solve, taskStatement } from '../../src/agents/solver.js';
import { runTestScript } from '../../src/repo/testrun.js';
import { HangLimit } from '../../src/repo/hangLimit.js';
import { OnnxPolicy, OnnxPolicyRunner } from '../../src/policy/onnx/runner.js';
import { Rng } from '../../src/policy/rng.js';
import { putArtifact } from '../../src/artifact/artifact.js';
import { describeRepo } from '../../src/repo/describe.js';
import { parseConfig } from '../../src/config/load.js';
import { releaseEpisode, solveAttempt } from '../../src/episode/service.js';
import type { BlobRef } from '../../src/store/store.js';
import { loadedDecisions, type Decision, type IndexedDecision, type Option, type Policy, type SearchRecord } from '../../src/policy/policy.js';

const SHAPES = [
  'class Box:', '    def __init__(self, w, h):', '        self.w = w', '        self.h = h', '',
  '    def area(self):', '        return self.w * self.h', '', '',
  'def perimeter(w, h):', '    return 2 * (w + h)', '', '',
  'def fits(inner, outer):', '    return inner.w <= outer.w and inner.h <= outer.h', '',
].join('\n');
const TESTS = [
  'from shapes import Box, perimeter, fits', '', '',
  'def test_area():\n    assert Box(2, 3).area() == 6\n', '',
  'def test_perimeter():\n    assert perimeter(2, 3) == 10\n', '',
  'def test_fits():\n    assert fits(Box(1, 1), Box(2, 2))\n', '',
  'def test_not_fits():\n    assert not fits(Box(3, 1), Box(2, 2))\n', '',
  'def test_square():\n    assert Box(4, 4).area() == 16\n',
].join('\n');

/**
 * A real git repository of one Python module and its pytest file, and the artifact of a one-edit bug in it hidden by
 * weakening one assertion. The commit message is the repository's whole history.
 */
async function pythonTask(mod: string, code: string, tests: string, bug: [string, string], weaken: [string, string], history = 'init') {
  const repo = mkdtempSync(path.join(tmpdir(), 'ssr-solver-repo-'));
  mkdirSync(path.join(repo, 'tests'));
  writeFileSync(path.join(repo, `${mod}.py`), code);
  writeFileSync(path.join(repo, 'tests', `test_${mod}.py`), tests);
  writeFileSync(path.join(repo, 'conftest.py'), 'import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n');
  execFileSync('git', ['init', '-q', repo]);
  execFileSync('git', ['-C', repo, 'add', '-A']);
  execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', history]);
  const rt = createRuntime({ home: mkdtempSync(path.join(tmpdir(), 'ssr-solver-')) });
  const runner = (await detectRunners(repo))[0];
  const testFile = `tests/test_${mod}.py`;
  const artifact = {
    bugInject: await makeDiff([{ path: `${mod}.py`, before: code, after: code.replace(...bug) }]),
    testWeaken: await makeDiff([{ path: testFile, before: tests, after: tests.replace(...weaken) }]),
    testScript: runner.script([testFile]), testParser: runner.parser(), testFiles: [testFile],
  };
  return { repo, rt, artifact };
}

test('the solver sees only the buggy tree and the task, finds the flipped operator, and the grader accepts its patch', async () => {
  const { repo, rt, artifact } = await pythonTask('shapes', SHAPES, TESTS, ['return 2 * (w + h)', 'return 2 * (w - h)'], ['    assert perimeter(2, 3) == 10\n', '    perimeter(2, 3)\n'], 'secret original history');
  const snap = await buildSolverState(rt.provider, repo, artifact);
  const sb = await rt.provider.create(snap);
  try {
    const log = await sb.exec('git log --format=%s; cat shapes.py');
    assert.doesNotMatch(log.stdout, /secret original history/, 'no history of the original reaches the solver');
    assert.doesNotMatch(log.stdout, /w \+ h/, 'no original code reaches the solver');
    const policy = new OnnxPolicyRunner(await OnnxPolicy.load(rt.store, 't@0'), new Rng('solver-test'), 'solver');
    const r = await solve({ sandbox: sb, runnerHintDir: repo, task: taskStatement(reverseDiff(artifact.testWeaken)), policy, budget: 12, testTimeoutMs: 60_000 });
    assert.equal(r.stop, 'all-tests-pass', r.tried.join('\n'));
    assert.match(r.patch, /\+    return 2 \* \(w \+ h\)/);
    assert.ok(policy.decisions.length > 0, 'the repair order was sampled from the policy');
    // The search as the trainer's expected gradient reads it: every pick in order, the kept one the fix, the budget.
    const search = r.search!;
    assert.ok(search.picks.length >= 1 && search.picks.length <= search.maxPicks && search.maxPicks <= 12, JSON.stringify({ picks: search.picks, maxPicks: search.maxPicks }));
    assert.deepEqual(search.kept, [search.picks.at(-1)], 'the last pick solved it and is the one kept');
    assert.equal(search.options[search.kept[0]].key, 'arith-swap fromminus toplus');
    // The policy sees which way each edit goes: the fix is `- to +`, distinct from its inverse.
    const keys = new Set(policy.decisions.flatMap((d) => d.options.map((o) => o.key)));
    assert.ok(keys.has('arith-swap fromminus toplus'), [...keys].join(', '));
    assert.ok(policy.decisions.every((d) => d.options.every((o) => o.features?.length === 11)), 'eleven numeric features per repair option');
    // Line coverage of the failing test (src/agents/coverage.ts): the fix's line ran in test_perimeter alone.
    const fix = policy.decisions[0].options.find((o) => o.key === 'arith-swap fromminus toplus')!;
    assert.deepEqual(fix.features!.slice(8), [1, 0, 1], 'the fix: ran, not "not ran", the highest line Ochiai');
    const original = Object.fromEntries(['test_area', 'test_perimeter', 'test_fits', 'test_not_fits', 'test_square'].map((t) => [`tests/test_shapes.py::${t}`, 'passed' as const]));
    const g = await grade(rt.provider, repo, artifact, r.patch, original, 60_000);
    assert.equal(g.success, true, g.reason);
    const bad = await grade(rt.provider, repo, artifact, '', original, 60_000);
    assert.equal(bad.success, false);
    assert.equal(bad.failure, 'no-change');
    assert.equal(bad.run, null, 'the empty patch leaves the state the bug-validity check ran: not run again');
    // The solver activity adds what the solver never sees: the options that restore the original (src/trainer/expected.ts),
    // here the one fix, found whether or not an attempt reaches it.
    const m = await putArtifact(rt.store, artifact, { repo: 'shapes', baseCommit: null, strategy: 'direct', parent: null, order: 1, policyVersion: 't@0', createdBy: 'test' });
    const s = await solveAttempt(rt, {
      campaignId: 't', episodeId: 't/0/0', attempt: 0, repo: await describeRepo(repo), artifactHash: m.hash, policyVersion: 't@0', seed: 'other',
      cfg: parseConfig({ repos: [{ path: repo }], solverTestRuns: 3 }),
    });
    const stored = await rt.store.getText(s.trajectoryRef as BlobRef);
    const traj = JSON.parse(stored) as { search: SearchRecord; decisions: (Decision | IndexedDecision)[] };
    assert.equal(traj.search.restores?.length, 1, `one line changed: ${JSON.stringify(traj.search.restores)}`);
    // Its picks are stored as indices into the search's options, and load whole: each over the options still left.
    assert.ok(traj.decisions.length > 0 && traj.decisions.every((d) => 'of' in d), JSON.stringify(traj.decisions).slice(0, 300));
    const whole = loadedDecisions(traj, 'the trajectory');
    assert.deepEqual(whole.map((d) => d.options.length), whole.map((_, k) => traj.search.options.length - k));
    assert.deepEqual(whole.map((d) => d.options[d.chosen]), traj.search.picks.slice(0, whole.length).map((i) => traj.search.options[i]));
    assert.ok(stored.length < JSON.stringify({ ...traj, decisions: whole }).length, 'indices take less room than the options they name');
    assert.deepEqual(traj.search.restores![0].map((i) => traj.search.options[i].key), ['arith-swap fromminus toplus']);
    await releaseEpisode(rt, 't/0/0');
  } finally {
    await sb.dispose();
  }
});

test('two runtimes in one process solving the same bug each build their own buggy state: one home removed leaves the other working', async () => {
  const { repo, rt, artifact } = await pythonTask('shapes', SHAPES, TESTS, ['return 2 * (w + h)', 'return 2 * (w - h)'], ['    assert perimeter(2, 3) == 10\n', '    perimeter(2, 3)\n']);
  const other = createRuntime({ home: mkdtempSync(path.join(tmpdir(), 'ssr-solver-')) });
  const meta = { repo: 'shapes', baseCommit: null, strategy: 'direct', parent: null, order: 1, policyVersion: 't@0', createdBy: 'test' } as const;
  const [a, b] = [await putArtifact(rt.store, artifact, meta), await putArtifact(other.store, artifact, meta)];
  assert.equal(a.hash, b.hash, 'the same artifact has the same hash in both stores');
  const repoInfo = await describeRepo(repo);
  const input = (id: string) => ({
    campaignId: 't', episodeId: id, attempt: 0, repo: repoInfo, artifactHash: a.hash, policyVersion: 't@0', seed: 's',
    cfg: parseConfig({ repos: [{ path: repo }], solverTestRuns: 3 }),
  });
  await solveAttempt(rt, input('t/0/0'));
  // The first runtime goes without releasing its episode (a bench's environment stopped, its home removed).
  rmSync(rt.home, { recursive: true, force: true });
  const s = await solveAttempt(other, input('t/1/0'));
  assert.ok(await other.store.getText(s.trajectoryRef as BlobRef), 'the second runtime\'s attempt ran and stored its trajectory');
  await releaseEpisode(other, 't/1/0');
});

// Older CommonJS style: every function a named function expression, bound to a variable or to module.exports.
const SIZE = [
  "'use strict';", '', 'var limit = 10;', '',
  'var below = function isBelow(n, max) {', '  return n < max;', '};', '',
  "module.exports = typeof limit === 'number'",
  '  ? function isSmall(n) { return below(n, limit); }',
  '  : function isSmall() { return false; };', '',
].join('\n');
const SIZE_TESTS = [
  "const test = require('node:test');", "const assert = require('node:assert');", "const isSmall = require('../lib/size.js');", '',
  "test('small', () => { assert.strictEqual(isSmall(3), true); });",
  "test('zero', () => { assert.strictEqual(isSmall(0), true); });",
  "test('big', () => { assert.strictEqual(isSmall(30), false); });",
  "test('limit', () => { assert.strictEqual(isSmall(10), false); });",
  "test('negative', () => { assert.strictEqual(isSmall(-5), true); });", '',
].join('\n');

test('the solver reaches code inside named function expressions (var f = function g() {}, module.exports = c ? function g() {} : ...)', async () => {
  const repo = mkdtempSync(path.join(tmpdir(), 'ssr-solver-repo-'));
  mkdirSync(path.join(repo, 'lib'));
  mkdirSync(path.join(repo, 'test'));
  writeFileSync(path.join(repo, 'package.json'), '{"name":"size","version":"1.0.0","scripts":{"test":"node --test test/"}}\n');
  writeFileSync(path.join(repo, 'lib', 'size.js'), SIZE);
  writeFileSync(path.join(repo, 'test', 'size.test.js'), SIZE_TESTS);
  execFileSync('git', ['init', '-q', repo]);
  execFileSync('git', ['-C', repo, 'add', '-A']);
  execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'init']);
  const rt = createRuntime({ home: mkdtempSync(path.join(tmpdir(), 'ssr-solver-')) });
  const runner = (await detectRunners(repo))[0];
  assert.equal(runner.name, 'node-test');
  const buggy = SIZE.replace('return n < max', 'return n > max');
  const weakened = SIZE_TESTS.replace("assert.strictEqual(isSmall(3), true);", 'isSmall(3);').replace("assert.strictEqual(isSmall(0), true);", 'isSmall(0);');
  const artifact = {
    bugInject: await makeDiff([{ path: 'lib/size.js', before: SIZE, after: buggy }]),
    testWeaken: await makeDiff([{ path: 'test/size.test.js', before: SIZE_TESTS, after: weakened }]),
    testScript: runner.script(['test/size.test.js']), testParser: runner.parser(), testFiles: ['test/size.test.js'],
  };
  const sb = await rt.provider.create(await buildSolverState(rt.provider, repo, artifact));
  try {
    const policy = new OnnxPolicyRunner(await OnnxPolicy.load(rt.store, 't@0'), new Rng('solver-test'), 'solver');
    const r = await solve({ sandbox: sb, runnerHintDir: repo, task: taskStatement(reverseDiff(artifact.testWeaken)), policy, budget: 12, testTimeoutMs: 60_000 });
    assert.equal(r.stop, 'all-tests-pass', `${r.stop}: ${r.tried.join('\n')}`);
    assert.match(r.patch, /\+  return n < max;/);
  } finally {
    await sb.dispose();
  }
});

const LOOP = [
  'def steps_to_zero(n):', '    steps = 0', '    while n > 0:', '        n = n - 1', '        steps = steps + 1', '    return steps', '',
].join('\n');
const LOOP_TESTS = [
  'from loop import steps_to_zero', '', '',
  'def test_three():\n    assert steps_to_zero(3) == 3\n', '',
  'def test_zero():\n    assert steps_to_zero(0) == 0\n', '',
  'def test_negative():\n    assert steps_to_zero(-2) == 0\n', '',
  'def test_ten():\n    assert steps_to_zero(10) == 10\n', '',
  'def test_one():\n    assert steps_to_zero(1) == 1\n',
].join('\n');

/** A policy that tries the options in the order of a list of keys (the rest after, in their own order). */
function scriptedPolicy(first: string[]): Policy {
  const decisions: Policy['decisions'] = [];
  return {
    decisions,
    async choose() { return 0; },
    async rank(group, options) {
      const order = options.map((o, i) => ({ i, r: first.includes(o.key) ? first.indexOf(o.key) : first.length })).sort((x, y) => x.r - y.r || x.i - y.i).map((x) => x.i);
      const drawn = new Set<number>();
      return {
        next(allowed) {
          const i = order.find((j) => !drawn.has(j) && (!allowed || allowed(j)));
          if (i === undefined) return undefined;
          drawn.add(i);
          decisions.push({ group, options, chosen: i });
          return i;
        },
      };
    },
  };
}

for (const cpu of [true, false]) {
  test(`a candidate repair that makes the suite hang is stopped at the probe limit (${cpu ? 'CPU time, where the sandbox measures it' : 'wall clock'}), not the run limit, and the search goes on to the fix`, async () => {
    const { repo, rt, artifact } = await pythonTask('loop', LOOP, LOOP_TESTS, ['steps = steps + 1', 'steps = steps - 1'], ['    assert steps_to_zero(3) == 3\n', '    steps_to_zero(3)\n']);
    const sb = await rt.provider.create(await buildSolverState(rt.provider, repo, artifact));
    try {
      // `while n < 0` never ends for a negative n (test_negative): the scripted order tries it first, then the fix.
      const policy = scriptedPolicy(['compare-flip fromgt tolt', 'arith-swap fromminus toplus']);
      const runLimitMs = 300_000;
      const r = await solve({
        sandbox: sb, runnerHintDir: repo, task: taskStatement(reverseDiff(artifact.testWeaken)), policy, budget: 8,
        testTimeoutMs: runLimitMs, probeTimeout: { factor: 2, minMs: 3_000, cpu },
      });
      assert.equal(r.stop, 'all-tests-pass', r.tried.join('\n'));
      assert.match(r.patch, /\+        steps = steps \+ 1\n/);
      // The local sandbox measures CPU through its cgroups (cpuacct), so the endless loop meets the CPU-time limit.
      const hung = r.tried.filter((t) => /stopped \((timeout|cpu)\)/.test(t));
      assert.equal(hung.length, 1, `one probe was stopped by its limit:\n${r.tried.join('\n')}`);
      assert.match(hung[0], new RegExp(`flip > to < .* at line 3 in .*: stopped \\(${cpu ? 'cpu' : 'timeout'}\\)`));
      // Every run together took less than the one run's limit: the endless probe was given up on at the probe's.
      assert.ok(r.testRunMs < runLimitMs, `${r.testRunMs} ms of test runs`);
    } finally {
      await sb.dispose();
    }
  });
}

test('with a run cache, a probe that hung is not run again under the same limit, and is under a longer one', async () => {
  const { TestRunCache } = await import('../../src/agents/common.js');
  const { repo, rt, artifact } = await pythonTask('loop', LOOP, LOOP_TESTS, ['steps = steps + 1', 'steps = steps - 1'], ['    assert steps_to_zero(3) == 3\n', '    steps_to_zero(3)\n']);
  const snap = await buildSolverState(rt.provider, repo, artifact);
  const cache = { runs: new TestRunCache(), scope: 'loop' };
  const attempt = async (minMs: number) => {
    const sb = await rt.provider.create(snap);
    try {
      const policy = scriptedPolicy(['compare-flip fromgt tolt', 'arith-swap fromminus toplus']);
      return await solve({
        sandbox: sb, runnerHintDir: repo, task: taskStatement(reverseDiff(artifact.testWeaken)), policy, budget: 8,
        testTimeoutMs: 300_000, probeTimeout: { factor: 1, minMs }, cache,
      });
    } finally { await sb.dispose(); }
  };
  // Stopped by its CPU time, or, on a machine loaded enough that the run gets less than a core, by the wall clock
  // beside it: either way the state hung under that limit.
  const first = await attempt(3_000);
  const hung = first.tried.filter((t) => /stopped \((cpu|timeout)\)/.test(t));
  assert.equal(hung.length, 1, first.tried.join('\n'));
  assert.ok(first.testRunMs >= 3_000, `${first.testRunMs} ms`);
  // The same states under the same limit: every run, the endless one included, comes from the cache.
  const again = await attempt(3_000);
  assert.deepEqual(again.tried, first.tried);
  assert.equal(again.patch, first.patch);
  assert.equal(again.testRuns, first.testRuns, 'a reused run still counts against the budget');
  assert.equal(again.testRunMs, 0, again.tried.join('\n'));
  // A longer limit than the one it ran out: the endless state runs again (and is stopped again), the others do not.
  const longer = await attempt(4_000);
  assert.ok(longer.testRunMs >= 4_000 && longer.testRunMs < 4_000 + first.testRunMs, `${longer.testRunMs} ms`);
  assert.match(longer.tried.find((t) => /stopped \((cpu|timeout)\)/.test(t)) ?? '', /flip > to </);
});

test('with a run cache, two attempts at one bug at once run each state once: one waits for the run the other has in progress', async () => {
  const { TestRunCache } = await import('../../src/agents/common.js');
  const { repo, rt, artifact } = await pythonTask('loop', LOOP, LOOP_TESTS, ['steps = steps + 1', 'steps = steps - 1'], ['    assert steps_to_zero(3) == 3\n', '    steps_to_zero(3)\n']);
  const snap = await buildSolverState(rt.provider, repo, artifact);
  let suiteRuns = 0;
  const attempt = async (cache: { runs: InstanceType<typeof TestRunCache>; scope: string }) => {
    const real = await rt.provider.create(snap);
    // Counts the runs of the test script this attempt really makes (a shared or cached one makes none).
    const sb = new Proxy(real, {
      get(t, k) {
        if (k === 'exec') return (cmd: string, o?: Parameters<typeof real.exec>[1]) => { if (cmd.includes('test_script.sh')) suiteRuns++; return t.exec(cmd, o); };
        const v = Reflect.get(t, k);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    try {
      const policy = scriptedPolicy(['compare-flip fromgt tolt', 'arith-swap fromminus toplus']);
      return await solve({
        sandbox: sb, runnerHintDir: repo, task: taskStatement(reverseDiff(artifact.testWeaken)), policy, budget: 8,
        testTimeoutMs: 300_000, probeTimeout: { factor: 1, minMs: 3_000 }, cache,
      });
    } finally { await sb.dispose(); }
  };
  const alone = await attempt({ runs: new TestRunCache(), scope: 'loop' });
  const aloneRuns = suiteRuns;
  suiteRuns = 0;
  const shared = { runs: new TestRunCache(), scope: 'loop' };
  const [a, b] = await Promise.all([attempt(shared), attempt(shared)]);
  assert.ok(aloneRuns >= 3, `${aloneRuns} runs`);
  assert.equal(suiteRuns, aloneRuns, 'together they ran each state once');
  // The same search (how long a stopped probe ran aside), and the very same run for both.
  const what = (tried: string[]) => tried.map((t) => t.replace(/ after [\d.]+ s/, ''));
  assert.deepEqual([what(a.tried), what(b.tried)], [what(alone.tried), what(alone.tried)]);
  assert.deepEqual(a.tried, b.tried);
  assert.deepEqual([a.patch, b.patch], [alone.patch, alone.patch]);
});

const WALK = [
  'package walk', '',
  '// Step is the move from a toward b.', 'func Step(a, b int) int {', '\tif a < b {', '\t\treturn 1', '\t}', '\tif a > b {', '\t\treturn -1', '\t}', '\treturn 0', '}', '',
  '// Distance counts the steps from a to b.', 'func Distance(a, b int) int {', '\td := 0', '\tfor a != b {', '\t\ta = a + Step(a, b)', '\t\td = d + 1', '\t}', '\treturn d', '}', '',
].join('\n');
const WALK_TESTS = [
  'package walk', '', 'import "testing"', '',
  'func TestStep(t *testing.T) {', '\tif Step(1, 4) != 1 {', '\t\tt.Fatal("up")', '\t}', '\tif Step(5, 2) != -1 {', '\t\tt.Fatal("down")', '\t}', '}', '',
  'func TestDistance(t *testing.T) {', '\tif Distance(1, 4) != 3 {', '\t\tt.Fatal("up")', '\t}', '\tif Distance(5, 2) != 3 {', '\t\tt.Fatal("down")', '\t}', '}', '',
].join('\n');

/** WALK's repository (a Go module) and the artifact of a bug that makes Step(5, 2) 0, so Distance(5, 2) never ends. */
async function hangingGoTask() {
  const repo = mkdtempSync(path.join(tmpdir(), 'ssr-solver-go-'));
  writeFileSync(path.join(repo, 'go.mod'), 'module example.com/walk\n\ngo 1.20\n');
  writeFileSync(path.join(repo, 'walk.go'), WALK);
  writeFileSync(path.join(repo, 'walk_test.go'), WALK_TESTS);
  execFileSync('git', ['init', '-q', repo]);
  execFileSync('git', ['-C', repo, 'add', '-A']);
  execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'init']);
  const rt = createRuntime({ home: mkdtempSync(path.join(tmpdir(), 'ssr-solver-')) });
  const runner = (await detectRunners(repo))[0];
  const weak = WALK_TESTS.replace('\tif Step(5, 2) != -1 {\n\t\tt.Fatal("down")\n\t}\n', '').replace('\tif Distance(5, 2) != 3 {\n\t\tt.Fatal("down")\n\t}\n', '');
  const artifact = {
    bugInject: await makeDiff([{ path: 'walk.go', before: WALK, after: WALK.replace('\tif a > b {', '\tif a < b {') }]),
    testWeaken: await makeDiff([{ path: 'walk_test.go', before: WALK_TESTS, after: weak }]),
    testScript: runner.script(['walk_test.go']), testParser: runner.parser(), testFiles: ['walk_test.go'],
  };
  return { repo, rt, artifact };
}

test('where the buggy state itself hangs, the first run and the probes are limited by the original code\'s run (the first at a higher floor), and the fix is found', async () => {
  const { repo, rt, artifact } = await hangingGoTask();
  // The original's run, as the checks keep it: the suite ends on the original code.
  const ref = await runTestScript(await rt.provider.create(await buildSolverState(rt.provider, repo, { ...artifact, bugInject: '', testWeaken: '' })), artifact.testScript, artifact.testParser, 120_000);
  assert.equal(ref.killed, null, ref.log);
  const sb = await rt.provider.create(await buildSolverState(rt.provider, repo, artifact));
  try {
    // Flipping the first `a < b` makes Distance(1, 4) hang as well: a probe stopped at its limit; then the fix.
    const policy = scriptedPolicy(['compare-flip fromlt togt']);
    const runLimitMs = 600_000;
    const r = await solve({
      sandbox: sb, runnerHintDir: repo, task: taskStatement(reverseDiff(artifact.testWeaken)), policy, budget: 8,
      testTimeoutMs: runLimitMs, probeTimeout: { factor: 5, minMs: 5_000, referenceFactor: 2, firstMinMs: 30_000 }, referenceRunMs: ref.durationMs,
    });
    // Twice the original's run; a stopped run may take a few seconds more to be killed and reaped.
    const limitMs = Math.max(5_000, 2 * ref.durationMs), reapMs = 15_000, firstMs = Math.max(30_000, 2 * ref.durationMs);
    assert.ok(firstMs + 2 * (limitMs + reapMs) + reapMs < runLimitMs, `the original's run (${ref.durationMs} ms) is too slow here for the test to tell the limits apart`);
    assert.equal(r.stop, 'all-tests-pass', r.tried.join('\n'));
    assert.match(r.patch, /\+\tif a > b \{\n/);
    assert.equal(r.tried.length, 2, r.tried.join('\n'));
    const stopped = /at line 5 in walk\.go: stopped \(timeout\) after ([\d.]+) s/.exec(r.tried[0]);
    assert.ok(stopped && Number(stopped[1]) * 1000 < limitMs + reapMs, `stopped at twice the original's run (${limitMs} ms): ${r.tried[0]}`);
    // The first run (stopped too: Distance(5, 2) never ends) and the two probes; no coverage run of a state that hangs.
    assert.equal(r.testRuns, 3, `${r.testRuns} runs`);
    // The first run had its own floor (a loaded machine must not make a state that ends look like one that hangs);
    // the probe after it, the probes' floor.
    assert.ok(r.testRunMs >= firstMs, `${r.testRunMs} ms of test runs: the first run was stopped before its floor of ${firstMs} ms`);
    assert.ok(Number(stopped![1]) * 1000 < firstMs, `the probe was stopped at the first run's floor: ${r.tried[0]}`);
    // Without the original's run to go by, the first run alone would have taken the whole run limit.
    assert.ok(r.testRunMs < firstMs + reapMs + 2 * (limitMs + reapMs), `${r.testRunMs} ms of test runs, the original's run ${ref.durationMs} ms`);
  } finally {
    await sb.dispose();
  }
});

test('where the sandbox measures CPU time, a buggy state that hangs is stopped by it: the first run at the repository\'s calibrated hang limit, the probes after it at twice the original\'s CPU time', async () => {
  const { repo, rt, artifact } = await hangingGoTask();
  const ref = await runTestScript(await rt.provider.create(await buildSolverState(rt.provider, repo, { ...artifact, bugInject: '', testWeaken: '' })), artifact.testScript, artifact.testParser, 120_000);
  assert.equal(ref.killed, null, ref.log);
  assert.ok(ref.cpuMs !== undefined, 'the local sandbox measures no CPU time here: `ssr sandbox doctor` says why (a writable cgroup cpuacct or cpu controller is needed)');
  // Calibrated as if an ended run of a bug state had used 0.1 s: the limit is its floor, 4 s.
  const hang = new HangLimit({ factor: 10, minSec: 4 });
  hang.observe({ killed: null, cpuMs: 100 });
  const sb = await rt.provider.create(await buildSolverState(rt.provider, repo, artifact));
  // What stopped each run of the test script: the CPU-time limits, not the wall clock, which is made loose enough
  // (wallSlack) that a loaded machine cannot reach it first.
  const kills: (string | null)[] = [];
  const exec = sb.exec.bind(sb);
  sb.exec = async (cmd, opts) => { const res = await exec(cmd, opts); if (cmd.includes('test_script.sh')) kills.push(res.killed); return res; };
  try {
    const r = await solve({
      sandbox: sb, runnerHintDir: repo, task: taskStatement(reverseDiff(artifact.testWeaken)), policy: scriptedPolicy(['compare-flip fromlt togt']), budget: 8,
      testTimeoutMs: 600_000, probeTimeout: { factor: 5, minMs: 3_000, referenceFactor: 2, firstMinMs: 60_000, wallSlack: 20 },
      referenceRunMs: ref.durationMs, referenceRunCpuMs: ref.cpuMs, hangLimit: hang,
    });
    assert.equal(r.stop, 'all-tests-pass', r.tried.join('\n'));
    assert.equal(r.testRuns, 3, r.tried.join('\n'));
    assert.match(r.tried[0], /at line 5 in walk\.go: stopped \(cpu\)/);
    // The first run is stopped by the hang limit's CPU time (4 s), not by its wall-clock floor (60 s).
    assert.deepEqual(kills, ['cpu', 'cpu', null], r.tried.join('\n'));
    // A stopped run does not calibrate the limit.
    assert.equal(hang.limitMs(), 4_000);
  } finally {
    await sb.dispose();
  }
});

test('files are written only before a real run: a second attempt over the same states, served from the cache, writes none and ends on the same patch', async () => {
  const { TestRunCache } = await import('../../src/agents/common.js');
  const { repo, rt, artifact } = await pythonTask('shapes', SHAPES, TESTS, ['return 2 * (w + h)', 'return 2 * (w - h)'], ['    assert perimeter(2, 3) == 10\n', '    perimeter(2, 3)\n']);
  const snap = await buildSolverState(rt.provider, repo, artifact);
  const cache = { runs: new TestRunCache(), scope: 'shapes' };
  const attempt = async () => {
    const sb = await rt.provider.create(snap);
    const writes: string[] = [], execs: string[] = [];
    const write = sb.writeFile.bind(sb), exec = sb.exec.bind(sb);
    sb.writeFile = async (rel, data) => { writes.push(rel); return write(rel, data); };
    sb.exec = async (cmd, o) => { execs.push(cmd); return exec(cmd, o); };
    try {
      const policy = new OnnxPolicyRunner(await OnnxPolicy.load(rt.store, 't@0'), new Rng('same-seed'), 'solver');
      const r = await solve({ sandbox: sb, runnerHintDir: repo, task: taskStatement(reverseDiff(artifact.testWeaken)), policy, budget: 12, testTimeoutMs: 60_000, cache });
      return { r, writes, execs };
    } finally { await sb.dispose(); }
  };
  const first = await attempt();
  assert.equal(first.r.stop, 'all-tests-pass', first.r.tried.join('\n'));
  const probes = first.r.search!.picks.length;
  // One write a probe (all in one file here): a rejected edit is undone by the next probe's write, not by one of its own.
  assert.equal(first.writes.length, probes, `${first.writes.length} writes for ${probes} probes`);
  const again = await attempt();
  assert.equal(again.writes.length, 0, 'every state was run before');
  // Nor is the start state read and parsed again for its repair options: the task's diff is all that runs.
  assert.ok(first.execs.some((c) => c.startsWith('cat -- ')), first.execs.join('\n'));
  assert.deepEqual(again.execs.filter((c) => !/git apply|patch /.test(c)), [], again.execs.join('\n'));
  assert.equal(again.r.testRuns, first.r.testRuns);
  assert.equal(again.r.patch, first.r.patch);
  assert.deepEqual(again.r.search!.picks, first.r.search!.picks);
});

const TWO = ['def a(x):', '    return x + 1', '', '', 'def b(x):', '    return x + 2', '', '', 'def c(x):', '    return x * 3', ''].join('\n');
const TWO_TESTS = [
  'from two import a, b, c', '', '',
  'def test_a1():\n    assert a(1) == 2\n', '', 'def test_a2():\n    assert a(5) == 6\n', '',
  'def test_b1():\n    assert b(1) == 3\n', '', 'def test_b2():\n    assert b(0) == 2\n', '',
  'def test_c():\n    assert c(2) == 6\n',
].join('\n');

test('after an edit that fixes some failing tests is kept, the options left are scored again for the tests still failing', async () => {
  // A bug of two changes in two functions: at the start the failing tests point at both alike; once a() is repaired,
  // only b()'s tests fail and they point at b() alone.
  const { repo, rt, artifact } = await pythonTask('two', TWO, TWO_TESTS, ['return x + 1', 'return x - 1'], ['    assert a(1) == 2\n', '    a(1)\n']);
  const buggy = TWO.replace('return x + 1', 'return x - 1').replace('return x + 2', 'return x - 2');
  const weakened = TWO_TESTS.replace(/assert ([ab]\(\d\)) == \d/g, '$1');
  const task = { ...artifact, bugInject: await makeDiff([{ path: 'two.py', before: TWO, after: buggy }]), testWeaken: await makeDiff([{ path: 'tests/test_two.py', before: TWO_TESTS, after: weakened }]) };
  const snap = await buildSolverState(rt.provider, repo, task);
  const run = async (rerank: boolean) => {
    const ranked: Option[][] = [];
    const scripted = scriptedPolicy(['arith-swap fromminus toplus']);
    const policy: Policy = { decisions: scripted.decisions, choose: scripted.choose, async rank(group, options) { ranked.push(options); return scripted.rank(group, options); } };
    const sb = await rt.provider.create(snap);
    try {
      return { r: await solve({ sandbox: sb, runnerHintDir: repo, task: taskStatement(reverseDiff(task.testWeaken)), policy, budget: 12, testTimeoutMs: 60_000, rerank }), ranked };
    } finally { await sb.dispose(); }
  };
  const on = await run(true);
  assert.equal(on.r.stop, 'all-tests-pass', on.r.tried.join('\n'));
  assert.equal(on.r.search!.kept.length, 2, on.r.tried.join('\n'));
  assert.equal(on.ranked.length, 2, 'ranked once at the start and once after the first kept edit');
  const [start, after] = on.ranked;
  assert.equal(after.length, start.length, 'the same options, in the same order');
  assert.deepEqual(after.map((o) => o.key), start.map((o) => o.key));
  const firstKept = on.r.search!.kept[0];
  const secondKept = on.r.search!.kept[1];
  // At the start both functions are as suspect (feature 0, relative and sharpened, is 1 for both fixes' functions).
  assert.equal(start[firstKept].features![0], 1);
  assert.equal(start[secondKept].features![0], 1);
  // After a() is repaired its tests pass: nothing failing reaches a() any more, while b() is all that is left.
  assert.equal(after[firstKept].features![0], 0, JSON.stringify(after[firstKept]));
  assert.equal(after[secondKept].features![0], 1, JSON.stringify(after[secondKept]));
  // The features that do not depend on the results are the first ranking's.
  assert.deepEqual(after.map((o) => o.features!.slice(3)), start.map((o) => o.features!.slice(3)));
  const off = await run(false);
  assert.equal(off.ranked.length, 1, 'with rerank off, one ranking for the whole search');
  assert.equal(off.r.stop, 'all-tests-pass', off.r.tried.join('\n'));
});

const CHAIN = ['def scale(y):', '    return y * 2', '', '', 'def f(x):', '    return scale(x + 1)', ''].join('\n');
const CHAIN_TESTS = ['from chain import scale, f', '', '', 'def test_scale():\n    assert scale(2) == 4\n', '', 'def test_f():\n    assert f(1) == 4\n'].join('\n');

test('an option that fixed nothing alone is offered again once another edit is kept, and completes the repair', async () => {
  // Two changes where f's test needs both: repairing f() alone fixes no test, so the search drops it; once scale()
  // is repaired and kept, the same edit to f() passes everything.
  const { repo, rt, artifact } = await pythonTask('chain', CHAIN, CHAIN_TESTS, ['return y * 2', 'return y * 3'], ['    assert scale(2) == 4\n', '    scale(2)\n']);
  const buggy = CHAIN.replace('return y * 2', 'return y * 3').replace('scale(x + 1)', 'scale(x - 1)');
  const weakened = CHAIN_TESTS.replace('assert scale(2) == 4', 'scale(2)').replace('assert f(1) == 4', 'f(1)');
  const task = { ...artifact, bugInject: await makeDiff([{ path: 'chain.py', before: CHAIN, after: buggy }]), testWeaken: await makeDiff([{ path: 'tests/test_chain.py', before: CHAIN_TESTS, after: weakened }]) };
  const snap = await buildSolverState(rt.provider, repo, task);
  const run = async (rerank: boolean) => {
    const sb = await rt.provider.create(snap);
    try {
      return await solve({ sandbox: sb, runnerHintDir: repo, task: taskStatement(reverseDiff(task.testWeaken)), policy: scriptedPolicy(['arith-swap fromminus toplus', 'constant-change dec']), budget: 8, testTimeoutMs: 60_000, rerank });
    } finally { await sb.dispose(); }
  };
  const on = await run(true);
  const keyOf = (i: number) => on.search!.options[i].key;
  assert.equal(on.stop, 'all-tests-pass', on.tried.join('\n'));
  assert.deepEqual(on.search!.picks.map(keyOf), ['arith-swap fromminus toplus', 'constant-change dec', 'arith-swap fromminus toplus'], on.tried.join('\n'));
  assert.equal(on.search!.picks[0], on.search!.picks[2], 'the same option, tried again on the new tree');
  assert.match(on.tried[0], /: 2 failing$/);
  assert.match(on.patch, /\+    return y \* 2/);
  assert.match(on.patch, /\+    return scale\(x \+ 1\)/);
  // Keeping the first order, the dropped edit is never tried again.
  const off = await run(false);
  assert.equal(off.search!.picks.filter((i) => i === on.search!.picks[0]).length, 1, off.tried.join('\n'));
  assert.notEqual(off.stop, 'all-tests-pass', off.tried.join('\n'));
});
