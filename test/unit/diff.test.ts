import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DiffError, escapesRepo, filterDiff, parseDiff, reverseDiff, touchedPaths } from '../../src/artifact/diff.js';
import { makeDiff } from '../../src/repo/diffgen.js';

test('makeDiff and reverseDiff round-trip through real git apply', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ssr-diff-'));
  execFileSync('git', ['init', '-q', dir]);
  writeFileSync(path.join(dir, 'a.py'), 'x = 1\ny = 2\nz = 3\n');
  writeFileSync(path.join(dir, 'gone.txt'), 'bye\n');
  const d = await makeDiff([
    { path: 'a.py', before: 'x = 1\ny = 2\nz = 3\n', after: 'x = 1\ny = 20\nz = 3\n' },
    { path: 'sub/new.py', before: null, after: 'print(1)\n' },
    { path: 'gone.txt', before: 'bye\n', after: null },
  ]);
  assert.deepEqual(touchedPaths(d), ['a.py', 'gone.txt', 'sub/new.py']);
  execFileSync('git', ['apply', '-'], { cwd: dir, input: d });
  assert.equal(readFileSync(path.join(dir, 'a.py'), 'utf8'), 'x = 1\ny = 20\nz = 3\n');
  assert.equal(readFileSync(path.join(dir, 'sub/new.py'), 'utf8'), 'print(1)\n');
  execFileSync('git', ['apply', '-'], { cwd: dir, input: reverseDiff(d) });
  assert.equal(readFileSync(path.join(dir, 'a.py'), 'utf8'), 'x = 1\ny = 2\nz = 3\n');
  assert.equal(readFileSync(path.join(dir, 'gone.txt'), 'utf8'), 'bye\n');
});

test('malformed and binary diffs are typed rejections', () => {
  assert.throws(() => parseDiff('diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n-a\n+b\n'), (e: unknown) => e instanceof DiffError && e.code === 'malformed');
  assert.throws(() => parseDiff('diff --git a/x b/x\nGIT binary patch\nliteral 3\n'), (e: unknown) => e instanceof DiffError && e.code === 'binary');
  assert.throws(() => parseDiff('hello world\n'), (e: unknown) => e instanceof DiffError);
  assert.throws(() => parseDiff('--- a/x\n@@ -1 +1 @@\n'), DiffError);
});

test('filterDiff drops files and escapesRepo spots paths out of the tree', async () => {
  const d = await makeDiff([{ path: 'src/a.js', before: 'a\n', after: 'b\n' }, { path: 'test/a.test.js', before: 'a\n', after: 'c\n' }]);
  assert.deepEqual(touchedPaths(filterDiff(d, (p) => !p.startsWith('test/'))), ['src/a.js']);
  assert.ok(escapesRepo('../etc/passwd'));
  assert.ok(escapesRepo('/etc/passwd'));
  assert.ok(escapesRepo('a/../../b'));
  assert.ok(!escapesRepo('a/../b'));
});

test('the task statement carries the reversed weakening byte for byte, trailing blank context lines included', async () => {
  const { taskStatement, taskDiff } = await import('../../src/agents/solver.js');
  const before = 'def test_a():\n    assert f() == 1\n\n\ndef test_b():\n    assert g() == 2\n\n';
  const after = 'def test_a():\n    assert f() == 1\n\n\n';
  const weaken = await makeDiff([{ path: 'tests/test_x.py', before, after }]);
  const rev = reverseDiff(weaken);
  assert.equal(taskDiff(taskStatement(rev)), rev);
  assert.ok(taskStatement(rev).startsWith('I am improving the test suite'));
});
