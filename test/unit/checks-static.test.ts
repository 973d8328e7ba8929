import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkBugScope, checkBugValidity, checkInverseMutation, checkParser, checkTestFiles, checkTestScript, checkWeakening } from '../../src/checks/consistency.js';
import type { Artifact } from '../../src/artifact/artifact.js';
import type { TestRun } from '../../src/repo/testrun.js';

const diff = (p: string) => `diff --git a/${p} b/${p}\n--- a/${p}\n+++ b/${p}\n@@ -1 +1 @@\n-a\n+b\n`;
const isTest = (p: string) => p.startsWith('tests/');
const base: Artifact = { bugInject: diff('src/a.py'), testWeaken: diff('tests/test_a.py'), testScript: '', testParser: '', testFiles: ['tests/test_a.py'] };
const exists = (p: string) => ['tests/test_a.py', 'tests/test_b.py', 'src/a.py'].includes(p);
const run = (results: Record<string, 'passed' | 'failed'>, extra: Partial<TestRun> = {}): TestRun =>
  ({ results, parserError: null, exitCode: 0, killed: null, log: '', parserStdout: '', durationMs: 1, ...extra });
const lim = { minPassingTests: 3, minChangedFiles: 1, minFailingTests: 1 };

test('check 1 passes a consistent artifact and names each violation', () => {
  assert.equal(checkTestFiles(base, exists, isTest).ok, true);
  const code = (a: Partial<Artifact>) => checkTestFiles({ ...base, ...a }, exists, isTest).code;
  assert.equal(code({ testFiles: ['tests/nope.py'] }), 'test-file-missing');
  assert.equal(code({ testWeaken: diff('tests/test_b.py') }), 'weakened-file-not-listed');
  assert.equal(code({ bugInject: diff('tests/test_a.py') }), 'bug-touches-test-file');
  assert.equal(code({ testWeaken: diff('src/a.py'), testFiles: ['src/a.py'] }), 'bug-touches-test-file');
  assert.equal(code({ testWeaken: diff('src/b.py'), testFiles: ['src/b.py'] }), 'test-file-missing');
  assert.equal(code({ testFiles: ['../outside.py'] }), 'path-outside-repo');
  assert.equal(code({ bugInject: 'garbage\n' }), 'malformed-diff');
  assert.equal(code({ bugInject: 'diff --git a/x b/x\nGIT binary patch\n' }), 'binary-diff');
  assert.equal(code({ testWeaken: '' }), 'empty-weakening');
});

test('checks 2 and 3 judge the original run', () => {
  assert.equal(checkParser(run({}, { parserError: 'exited 1' })).code, 'parser-invalid');
  assert.equal(checkParser(run({})).code, 'parser-empty');
  assert.equal(checkParser(run({ a: 'passed' })).ok, true);
  assert.equal(checkTestScript(run({ a: 'passed', b: 'passed' }), lim).code, 'too-few-tests');
  assert.equal(checkTestScript(run({ a: 'passed', b: 'passed', c: 'failed' }), lim).code, 'tests-fail-on-original');
  assert.equal(checkTestScript(run({ a: 'passed' }, { killed: 'timeout' }), lim).code, 'script-timeout');
  assert.match(checkTestScript(run({ a: 'passed' }, { killed: 'timeout', durationMs: 91_400 }), lim).reason, /after 91 s: the limit is testTimeoutSec/, 'the user is told which setting stopped it');
  assert.equal(checkTestScript(run({ a: 'passed', b: 'passed', c: 'passed' }), lim).ok, true);
});

test('checks 4-7', () => {
  assert.equal(checkBugScope(base, lim).ok, true);
  assert.equal(checkBugScope(base, { ...lim, minChangedFiles: 2 }).code, 'too-few-changed-files');
  const orig = { a: 'passed', b: 'passed', c: 'passed' } as const;
  assert.equal(checkBugValidity(orig, run({ a: 'passed', b: 'passed', c: 'passed' }), lim).code, 'bug-breaks-nothing');
  assert.equal(checkBugValidity(orig, run({}), lim).code, 'bug-breaks-everything');
  assert.equal(checkBugValidity(orig, run({ a: 'failed', b: 'failed', c: 'failed' }), lim).code, 'bug-breaks-everything');
  assert.equal(checkBugValidity(orig, run({ a: 'failed', b: 'passed', c: 'passed' }), lim).ok, true);
  assert.equal(checkWeakening(['a'], run({ a: 'failed' })).code, 'weakening-hides-nothing');
  assert.equal(checkWeakening(['a'], run({ a: 'passed' })).ok, true);
  assert.equal(checkInverseMutation(['a'], [{ file: 'src/a.py', run: run({ a: 'passed' }) }, { file: 'src/b.py', run: run({ a: 'failed' }) }]).code, 'changed-file-irrelevant');
  assert.equal(checkInverseMutation(['a'], [{ file: 'src/a.py', run: run({ a: 'passed' }) }]).ok, true);
});
