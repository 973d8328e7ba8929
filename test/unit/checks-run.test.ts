/** The seven checks on crafted artifacts against a real repository, real pytest and the real sandbox. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runChecks } from '../../src/checks/run.js';
import { HangLimit } from '../../src/repo/hangLimit.js';
import { StateRunCache } from '../../src/repo/stateRuns.js';
import { createRuntime } from '../../src/runtime.js';
import { makeDiff } from '../../src/repo/diffgen.js';
import { detectRunners, isTestFile } from '../../src/repo/runners/index.js';
import type { Artifact } from '../../src/artifact/artifact.js';

const CALC = 'def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef clamp(x, lo, hi):\n    return max(lo, min(x, hi))\n';
const UTIL = 'def double(x):\n    return 2 * x\n';
const TESTS = [
  'from calc import add, sub, clamp', '', '',
  'def test_add():\n    assert add(2, 3) == 5\n', '',
  'def test_add_neg():\n    assert add(-2, -3) == -5\n', '',
  'def test_sub():\n    assert sub(5, 3) == 2\n', '',
  'def test_clamp_low():\n    assert clamp(-5, 0, 10) == 0\n', '',
  'def test_clamp_high():\n    assert clamp(50, 0, 10) == 10\n', '',
  'def test_clamp_mid():\n    assert clamp(5, 0, 10) == 5\n',
].join('\n');
const UTIL_TESTS = 'from util import double\n\n\ndef test_double():\n    assert double(4) == 8\n';

let repo: string;
let good: Artifact;
const rt = createRuntime({ home: mkdtempSync(path.join(tmpdir(), 'ssr-checks-')) });
const env = () => ({
  provider: rt.provider, repoDir: repo, testTimeoutMs: 60_000, isTestFile, saveLog: (_n: string, t: string) => rt.store.putBlob(t),
  limits: { minPassingTests: 5, minChangedFiles: 1, minFailingTests: 1 },
});

before(async () => {
  repo = mkdtempSync(path.join(tmpdir(), 'ssr-checks-repo-'));
  mkdirSync(path.join(repo, 'tests'));
  writeFileSync(path.join(repo, 'calc.py'), CALC);
  writeFileSync(path.join(repo, 'util.py'), UTIL);
  writeFileSync(path.join(repo, 'tests', 'test_calc.py'), TESTS);
  writeFileSync(path.join(repo, 'tests', 'test_util.py'), UTIL_TESTS);
  writeFileSync(path.join(repo, 'conftest.py'), 'import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n');
  execFileSync('git', ['init', '-q', repo]);
  execFileSync('git', ['-C', repo, 'add', '-A']);
  execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'init']);
  const runner = (await detectRunners(repo))[0];
  good = {
    bugInject: await makeDiff([{ path: 'calc.py', before: CALC, after: CALC.replace('max(lo, min(x, hi))', 'min(x, hi)') }]),
    testWeaken: await makeDiff([{ path: 'tests/test_calc.py', before: TESTS, after: TESTS.replace('    assert clamp(-5, 0, 10) == 0\n', '    clamp(-5, 0, 10)\n') }]),
    testScript: runner.script(['tests/test_calc.py']),
    testParser: runner.parser(),
    testFiles: ['tests/test_calc.py'],
  };
});

const failedCheck = async (a: Artifact) => {
  const r = await runChecks(a, env());
  return r.failed ? `${r.failed.check}:${r.failed.code}` : 'valid';
};

test('a consistent artifact passes all seven checks', async () => {
  const r = await runChecks(good, env());
  assert.equal(r.valid, true, JSON.stringify(r.failed));
  assert.equal(r.checks.filter((c) => c.ok && c.ran).length, 7);
  assert.deepEqual(r.bugFailing, ['tests/test_calc.py::test_clamp_low']);
});

test('with a shared run cache (bugStateRunCache), checking the same artifact again runs no test and gives the same report', async () => {
  const runs = { cache: new StateRunCache(), scope: 'checks-run' };
  const first = await runChecks(good, { ...env(), runs });
  assert.equal(first.valid, true, JSON.stringify(first.failed));
  assert.ok(first.testRunMs > 0);
  const again = await runChecks(good, { ...env(), runs });
  assert.equal(again.testRunMs, 0, 'every run came from the cache');
  assert.deepEqual(again.checks.map((c) => [c.check, c.ok, c.reason]), first.checks.map((c) => [c.check, c.ok, c.reason]));
  assert.deepEqual(again.bugFailing, first.bugFailing);
  // Another scope (another repository state or sandbox limits) shares nothing.
  assert.ok((await runChecks(good, { ...env(), runs: { ...runs, scope: 'elsewhere' } })).testRunMs > 0);
});

test('check 2: a parser that prints garbage', async () => {
  assert.equal(await failedCheck({ ...good, testParser: 'print("not json")\n' }), 'parser:parser-invalid');
});

test('check 3: a script whose tests fail on the original', async () => {
  assert.equal(await failedCheck({ ...good, testScript: good.testScript + '\necho "tests/test_calc.py::test_fake FAILED"\n', testParser: 'import json,sys\nprint(json.dumps({"a": "passed", "b": "failed", "c": "passed", "d": "passed", "e": "passed"}))\n' }), 'test-script:tests-fail-on-original');
});

test('check 3: a script that hangs is stopped and rejected', async () => {
  const e = { ...env(), testTimeoutMs: 3000 };
  const r = await runChecks({ ...good, testScript: 'sleep 1000\n' }, e);
  assert.equal(r.valid, false);
  assert.ok(['parser', 'test-script'].includes(r.failed!.check));
  assert.match(r.failed!.reason, /timeout/);
});

test('a bug that makes the suite hang: once a run of a bug state has ended, its runs stop at a multiple of that one\'s CPU time, not at the run limit, with the verdict the run limit gives', async () => {
  // sub(5, 3) never returns under the bug: test_sub hangs and the run is killed. pytest reports its tests at the end
  // of the session, so a killed run reports none: every test broken, the bug taken for a crash, whichever limit
  // stopped it; only sooner under the CPU-time limit.
  const bug = await makeDiff([{ path: 'calc.py', before: CALC, after: CALC.replace('    return a - b', '    while a == 5:\n        pass\n    return a - b') }]);
  const hanging = { ...good, bugInject: bug };
  const byRunLimit = await runChecks(hanging, { ...env(), testTimeoutMs: 6_000 });
  assert.equal(`${byRunLimit.failed?.check}:${byRunLimit.failed?.code}`, 'bug-validity:bug-breaks-everything');
  assert.match(byRunLimit.failed!.reason, /stopped by the sandbox: timeout/);

  const hang = new HangLimit({ factor: 5, minSec: 2 });
  // Nothing calibrates it yet: the original's run is not a bug state (a build it skipped over warm caches would not count).
  assert.equal(hang.limitMs(), undefined);
  assert.equal((await runChecks(good, { ...env(), hangLimit: hang })).valid, true);
  const limit = hang.limitMs();
  assert.ok(limit !== undefined && limit >= 2_000, `calibrated by the good artifact's runs of its bug states: ${limit}`);
  const runLimitMs = 300_000;
  const byCpu = await runChecks(hanging, { ...env(), testTimeoutMs: runLimitMs, hangLimit: hang });
  assert.match(byCpu.failed!.reason, /stopped by the sandbox: cpu/);
  assert.equal(byCpu.failed!.code, byRunLimit.failed!.code);
  assert.ok(byCpu.testRunMs < runLimitMs, `${byCpu.testRunMs} ms of test runs`);
  assert.equal(hang.limitMs(), limit, 'a run stopped by the limit does not move it');
});

test('check 5: a bug that breaks nothing', async () => {
  const bug = await makeDiff([{ path: 'calc.py', before: CALC, after: CALC.replace('return a - b', 'return -(b - a)') }]);
  assert.equal(await failedCheck({ ...good, bugInject: bug }), 'bug-validity:bug-breaks-nothing');
});

test('check 5: a syntax error that breaks everything', async () => {
  const bug = await makeDiff([{ path: 'calc.py', before: CALC, after: CALC.replace('def add(a, b):', 'def add(a, b)') }]);
  assert.equal(await failedCheck({ ...good, bugInject: bug }), 'bug-validity:bug-breaks-everything');
});

test('check 6: a weakening that hides nothing', async () => {
  const weak = await makeDiff([{ path: 'tests/test_calc.py', before: TESTS, after: TESTS.replace('assert add(2, 3) == 5', 'assert add(2, 3) >= 5') }]);
  assert.equal(await failedCheck({ ...good, testWeaken: weak }), 'weakening:weakening-hides-nothing');
});

test('check 7: a changed file that does not matter', async () => {
  const bug = await makeDiff([
    { path: 'calc.py', before: CALC, after: CALC.replace('max(lo, min(x, hi))', 'min(x, hi)') },
    { path: 'util.py', before: UTIL, after: UTIL.replace('2 * x', 'x + x') },
  ]);
  assert.equal(await failedCheck({ ...good, bugInject: bug }), 'inverse-mutation:changed-file-irrelevant');
});

test('check 1 and 4 on a real repository: missing files, test files in the bug, nothing changed', async () => {
  assert.equal(await failedCheck({ ...good, testFiles: ['tests/nope.py', 'tests/test_calc.py'] }), 'test-files:test-file-missing');
  const bugInTests = await makeDiff([{ path: 'tests/test_util.py', before: UTIL_TESTS, after: UTIL_TESTS.replace('8', '9') }]);
  assert.equal(await failedCheck({ ...good, bugInject: bugInTests }), 'test-files:bug-touches-test-file');
  assert.equal(await failedCheck({ ...good, bugInject: '' }), 'bug-scope:too-few-changed-files');
});
