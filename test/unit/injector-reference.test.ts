/**
 * The injector's reference run (the whole suite on the original, stored per repository and commit): one with too
 * few passing tests is neither stored nor reused. Found on a Rust crate, where the first run's environment
 * could not start cargo (0 tests): after the environment was fixed, every episode still read the stored run and
 * ended `no-passing-tests` without running anything. Real pytest, real sandbox.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HangLimit } from '../../src/repo/hangLimit.js';
import { StateRunCache } from '../../src/repo/stateRuns.js';
import { inject } from '../../src/agents/injector.js';
import { detectRunners } from '../../src/repo/runners/index.js';
import type { TestResults } from '../../src/repo/testrun.js';
import { createRuntime } from '../../src/runtime.js';
import { OnnxPolicy, OnnxPolicyRunner } from '../../src/policy/onnx/runner.js';
import { Rng } from '../../src/policy/rng.js';
import { sha256 } from '../../src/store/store.js';
import { parseConfig } from '../../src/config/load.js';
import { describeRepo } from '../../src/repo/describe.js';
import { injectBug } from '../../src/episode/service.js';

const CODE = 'def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n\n\ndef scale(a, k):\n    return a * k\n';
const TESTS = [
  'from calc import add, sub, scale', '', '',
  'def test_add():\n    assert add(2, 3) == 5\n', '',
  'def test_add_zero():\n    assert add(0, 4) == 4\n', '',
  'def test_sub():\n    assert sub(5, 3) == 2\n', '',
  'def test_sub_neg():\n    assert sub(1, 3) == -2\n', '',
  'def test_scale():\n    assert scale(3, 4) == 12\n', '',
  'def test_scale_one():\n    assert scale(7, 1) == 7\n',
].join('\n');

/** A git repository `calc` under root: calc.py, the given files under tests/, and a conftest that makes calc importable. */
function calcRepo(root: string, tests: Record<string, string>): string {
  const repo = path.join(root, 'calc');
  mkdirSync(path.join(repo, 'tests'), { recursive: true });
  writeFileSync(path.join(repo, 'calc.py'), CODE);
  for (const [name, text] of Object.entries(tests)) writeFileSync(path.join(repo, 'tests', name), text);
  writeFileSync(path.join(repo, 'conftest.py'), 'import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n');
  execFileSync('git', ['init', '-q', repo]);
  execFileSync('git', ['-C', repo, 'add', '-A']);
  execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'calc']);
  return repo;
}

test('a reference run with too few passing tests is run again, and only a usable one is stored', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'ssr-inject-ref-'));
  try {
    const repo = calcRepo(root, { 'test_calc.py': TESTS });
    const rt = createRuntime({ home: path.join(root, 'home') });
    const runner = (await detectRunners(repo))[0]!;
    const policy = (seed: string) => OnnxPolicy.load(rt.store, 't@0').then((p) => new OnnxPolicyRunner(p, new Rng(seed), 'injector'));
    const stored: TestResults[] = [];
    const base = { repoDir: repo, provider: rt.provider, strategies: ['direct' as const], minPassingTests: 5, candidates: 6, testTimeoutMs: 120_000, onReference: async (_r: string, results: TestResults) => void stored.push(results) };

    // What a broken environment left: every test errored.
    const stale: TestResults = Object.fromEntries(['test_add', 'test_sub'].map((t) => [`tests/test_calc.py::${t}`, 'failed' as const]));
    const hang = new HangLimit({ factor: 10, minSec: 10 });
    const r = await inject({ ...base, policy: await policy('ref-a'), reference: { runner: runner.name, results: stale }, hangLimit: hang });
    assert.notEqual(!r.ok && r.code, 'no-passing-tests', 'the stale reference was not trusted');
    assert.ok(r.testRuns > 1, `${r.testRuns} runs: the reference and some candidate`);
    // The runs of its candidate bugs that ended calibrated the hang limit of bug states (src/repo/hangLimit.ts).
    assert.ok((hang.limitMs() ?? 0) >= 10_000, `hang limit ${hang.limitMs()}`);
    assert.equal(stored.length, 1, 'the fresh, usable reference was stored');
    assert.equal(Object.values(stored[0]!).filter((v) => v === 'passed').length, 6);

    // A run that really has too few passing tests is reported, and not stored.
    const r2 = await inject({ ...base, minPassingTests: 7, policy: await policy('ref-b') });
    assert.equal(r2.ok ? null : r2.code, 'no-passing-tests');
    assert.equal(stored.length, 1, 'an unusable reference is not stored');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a reference run of another script (a test file detection now runs, or no longer runs) is made again', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'ssr-inject-ref-'));
  try {
    const repo = calcRepo(root, { 'test_calc.py': TESTS, 'test_more.py': 'from calc import add\n\n\ndef test_more():\n    assert add(1, 1) == 2\n' });
    const rt = createRuntime({ home: path.join(root, 'home') });
    const runner = (await detectRunners(repo))[0]!;
    assert.deepEqual([...runner.testFiles].sort(), ['tests/test_calc.py', 'tests/test_more.py']);
    const policy = (seed: string) => OnnxPolicy.load(rt.store, 't@0').then((p) => new OnnxPolicyRunner(p, new Rng(seed), 'injector'));
    const stored: { results: TestResults; script: string }[] = [];
    const base = { repoDir: repo, provider: rt.provider, strategies: ['direct' as const], minPassingTests: 5, candidates: 1, testTimeoutMs: 120_000, onReference: async (_r: string, results: TestResults, script: string) => void stored.push({ results, script }) };
    const calcOnly: TestResults = Object.fromEntries(['add', 'add_zero', 'sub', 'sub_neg', 'scale', 'scale_one'].map((t) => [`tests/test_calc.py::test_${t}`, 'passed' as const]));

    // Kept by an earlier detection that did not run tests/test_more.py: every name in it is still run, but the new
    // file would never be an oracle file. Its script says so, and the run is made again.
    const older = { runner: runner.name, results: calcOnly, script: runner.script(['tests/test_calc.py']) };
    const r = await inject({ ...base, policy: await policy('ref-d'), reference: older });
    assert.ok(r.testRuns >= 2, `${r.testRuns} runs: the reference again, and the candidate`);
    assert.equal(stored.length, 1, 'the new reference is stored');
    assert.equal(stored[0]!.results['tests/test_more.py::test_more'], 'passed');
    assert.equal(stored[0]!.script, runner.script(runner.testFiles));

    // The reference of this very script is taken as it is; one stored before scripts were kept, by the files it names.
    for (const kept of [{ ...stored[0]! }, { results: calcOnly }]) {
      const n: number = stored.length;
      await inject({ ...base, policy: await policy('ref-e'), reference: { runner: runner.name, ...kept } });
      assert.equal(stored.length, n, 'no reference run made or stored');
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('with a shared run cache (bugStateRunCache), an injection the same policy and seed make again runs no test and gives the same bug', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'ssr-inject-cache-'));
  try {
    const repo = calcRepo(root, { 'test_calc.py': TESTS });
    const rt = createRuntime({ home: path.join(root, 'home') });
    const policy = () => OnnxPolicy.load(rt.store, 't@0').then((p) => new OnnxPolicyRunner(p, new Rng('cache-a'), 'injector'));
    const runs = { cache: new StateRunCache(), scope: 'calc' };
    const base = { repoDir: repo, provider: rt.provider, strategies: ['direct' as const], minPassingTests: 5, candidates: 6, testTimeoutMs: 120_000, runs };
    // The reference run of the original is the store's to keep (not this cache's): given, as a campaign gives it.
    const runner = (await detectRunners(repo))[0]!;
    const ref = { runner: runner.name, results: Object.fromEntries(['add', 'add_zero', 'sub', 'sub_neg', 'scale', 'scale_one'].map((t) => [`tests/test_calc.py::test_${t}`, 'passed' as const])) };
    const a = await inject({ ...base, policy: await policy(), reference: ref });
    const b = await inject({ ...base, policy: await policy(), reference: ref });
    assert.ok(a.ok && b.ok, JSON.stringify(a));
    assert.ok(a.testRunMs > 0);
    assert.equal(b.artifact.bugInject, a.artifact.bugInject);
    assert.equal(b.artifact.testWeaken, a.artifact.testWeaken);
    assert.deepEqual(b.attempts, a.attempts);
    assert.equal(b.testRuns, a.testRuns, 'a shared run still counts as a run');
    assert.equal(b.testRunMs, 0, 'every run of a candidate state came from the cache');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('when failing tests keep most files out of the oracle, the outcome says so, naming them', async () => {
  // As in a crate whose unit tests share src/lib.rs with one that fails as root, leaving one usable test.
  const root = mkdtempSync(path.join(tmpdir(), 'ssr-inject-ref-'));
  try {
    const repo = calcRepo(root, { 'test_calc.py': TESTS + '\n\ndef test_env():\n    assert False\n', 'test_more.py': 'from calc import add\n\n\ndef test_more():\n    assert add(1, 1) == 2\n' });
    const rt = createRuntime({ home: path.join(root, 'home') });
    const policy = new OnnxPolicyRunner(await OnnxPolicy.load(rt.store, 't@0'), new Rng('ref-c'), 'injector');
    const r = await inject({ repoDir: repo, provider: rt.provider, policy, strategies: ['direct'], minPassingTests: 5, candidates: 3, testTimeoutMs: 120_000 });
    assert.equal(r.ok ? null : r.code, 'no-passing-tests');
    assert.equal(r.testRuns, 1, 'decided from the reference run alone');
    if (!r.ok) assert.match(r.reason, /7 tests pass on the original, but only 1 in files whose tests all pass.*tests\/test_calc\.py \(tests\/test_calc\.py::test_env\)/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a reference run cut off by the time limit says so in the outcome, with the limit', async () => {
  // Found on a C++ library under load: its build outgrew the 90 s limit and the outcome read "0 tests pass",
  // as if the suite had none.
  const root = mkdtempSync(path.join(tmpdir(), 'ssr-inject-ref-'));
  try {
    const repo = calcRepo(root, { 'test_calc.py': 'import time\n\n\n' + TESTS.replace('def test_add():', 'def test_add():\n    time.sleep(60)') });
    const rt = createRuntime({ home: path.join(root, 'home') });
    const policy = new OnnxPolicyRunner(await OnnxPolicy.load(rt.store, 't@0'), new Rng('ref-d'), 'injector');
    const r = await inject({ repoDir: repo, provider: rt.provider, policy, strategies: ['direct'], minPassingTests: 5, candidates: 3, testTimeoutMs: 8_000 });
    assert.equal(r.ok ? null : r.code, 'no-passing-tests');
    if (!r.ok) assert.match(r.reason, /^0 tests pass on the original with pytest; at least 5 needed; the run was stopped \(timeout\) after \d+ s, the limit of one test run being 8 s \(testTimeoutSec\)$/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a bug the campaign excludes (a held-out set\'s) is never injected: the injector goes on to another candidate', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'ssr-inject-ref-'));
  try {
    const repo = calcRepo(root, { 'test_calc.py': TESTS });
    const rt = createRuntime({ home: path.join(root, 'home') });
    const run = async (excludeBugs?: Set<string>) => inject({
      repoDir: repo, provider: rt.provider, policy: new OnnxPolicyRunner(await OnnxPolicy.load(rt.store, 't@0'), new Rng('excl'), 'injector'),
      strategies: ['direct'], minPassingTests: 5, candidates: 6, testTimeoutMs: 120_000, excludeBugs,
    });
    const first = await run();
    assert.ok(first.ok, first.ok ? '' : first.reason);
    const held = sha256(first.artifact.bugInject);
    // The same seeded policy draws the same first candidate; excluded, it is passed over without a test run.
    const again = await run(new Set([held]));
    assert.match(again.attempts[0], /a held-out bug \(excludeBugs\), never trained on/);
    if (again.ok) assert.notEqual(sha256(again.artifact.bugInject), held);
    else assert.equal(again.code, 'no-bug-found');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('rounds of one worker that start together run the suite on the original once, and the others read it', async () => {
  // The rounds of a step start at once: each ran the same whole-suite run, and a suite that fits the limit alone
  // outgrew it three at a time on a small machine.
  const root = mkdtempSync(path.join(tmpdir(), 'ssr-inject-ref-'));
  try {
    const repo = calcRepo(root, { 'test_calc.py': TESTS });
    const rt = createRuntime({ home: path.join(root, 'home') });
    // History only, over a repository of one commit: nothing to revert, so a round's test runs are its reference runs.
    const cfg = parseConfig({ repos: [{ path: repo }], strategies: ['history'], minPassingTests: 5 });
    const info = await describeRepo(repo);
    const outs = await Promise.all([0, 1, 2].map((k) => injectBug(rt, { campaignId: 'c', episodeId: `c/0/${k}`, repo: info, policyVersion: 't@0', seed: `s${k}`, cfg })));
    for (const o of outs) assert.equal(o.ok ? null : o.code, 'no-bug-found', JSON.stringify(o));
    assert.deepEqual(outs.map((o) => o.testRuns).sort(), [0, 0, 1]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a reference run where nothing passes quotes the line of its output that says why', async () => {
  const root = mkdtempSync(path.join(tmpdir(), 'ssr-inject-ref-'));
  try {
    const repo = calcRepo(root, { 'test_calc.py': `import calc_extras_not_installed\n${TESTS}` });
    const rt = createRuntime({ home: path.join(root, 'home') });
    const policy = new OnnxPolicyRunner(await OnnxPolicy.load(rt.store, 't@0'), new Rng('ref-h'), 'injector');
    const r = await inject({ repoDir: repo, provider: rt.provider, policy, strategies: ['direct'], minPassingTests: 5, candidates: 3, testTimeoutMs: 120_000 });
    assert.equal(r.ok ? null : r.code, 'no-passing-tests');
    if (!r.ok) assert.match(r.reason, /^0 tests pass on the original with pytest; at least 5 needed; its output says: .*No module named 'calc_extras_not_installed'/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
