/**
 * The go runner end to end in the real local sandbox, on a package whose tests crash the test binary (a panic in a
 * test, in a subtest, in a goroutine of a test, an os.Exit): go test stops the whole binary at the first crash, so
 * without the runner's reruns every later test of the file would have no result and read as missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { LocalSandboxProvider } from '../../src/sandbox/local.js';
import type { Sandbox } from '../../src/sandbox/types.js';
import { findExecutable } from '../../src/sandbox/bwrap.js';
import { detectRunners, type Runner } from '../../src/repo/runners/index.js';
import { runTestScript } from '../../src/repo/testrun.js';
import { cleanup, makeBase, tempDir } from './helpers.js';
import { requireTool } from '../helpers/tools.js';

const FILES: Record<string, string> = {
  'go.mod': 'module example.com/crash\n\ngo 1.21\n',
  'list/list.go': 'package list\n\n// At is the i-th element; out of range panics.\nfunc At(xs []int, i int) int { return xs[i] }\n',
  'list/at_test.go': `package list

import "testing"

func TestFirst(t *testing.T) {
	if At([]int{4}, 0) != 4 {
		t.Fatal("first")
	}
}

func TestPanics(t *testing.T) { At(nil, 3) }

func TestAfter(t *testing.T) {}

func TestWrong(t *testing.T) { t.Fatal("wrong") }

func TestTable(t *testing.T) {
	for _, c := range []struct {
		name string
		i    int
	}{{"in range", 0}, {"out of range", 5}, {"again in (range)", 1}, {"last", 2}} {
		t.Run(c.name, func(t *testing.T) { At([]int{1, 2, 3}, c.i) })
	}
}

func TestGoroutine(t *testing.T) {
	done := make(chan struct{})
	go func() { At(nil, 1); close(done) }()
	<-done
}

func TestLast(t *testing.T) {}
`,
  'list/exit_test.go': `package list

import (
	"os"
	"testing"
)

func TestBeforeExit(t *testing.T) {}

func TestExits(t *testing.T) { os.Exit(3) }

func TestAfterExit(t *testing.T) {}
`,
  'list/sub_test.go': `package list

import "testing"

func TestSubFails(t *testing.T) {
	t.Run("plain", func(t *testing.T) { t.Error("plain failure") })
}

func TestSubThenCrash(t *testing.T) {
	done := make(chan struct{})
	go func() { At(nil, 2); close(done) }()
	<-done
}

func TestSubTail(t *testing.T) {}
`,
  'list/fine_test.go': 'package list\n\nimport "testing"\n\nfunc TestFine(t *testing.T) {}\n',
};

let stateDir = '';
let base = '';
let sb: Sandbox;
let runner: Runner;

before(async () => {
  // Without go, each test fails with requireTool's message, not here.
  if (!findExecutable('go')) return;
  stateDir = await tempDir('state');
  base = await makeBase(FILES);
  const found = await detectRunners(base);
  assert.equal(found[0]?.name, 'go-test');
  runner = found[0]!;
  sb = await new LocalSandboxProvider({ stateDir, isolation: 'bwrap', defaults: { timeoutMs: 240_000 } }).create({ base });
});
after(async () => {
  if (!sb) return;
  await sb?.dispose();
  await cleanup(stateDir, path.dirname(base));
});

test('go: a test that crashes the binary fails, and every other test of its file still has its own result', async () => {
  requireTool('go');
  const run = await runTestScript(sb, runner.script(runner.testFiles), runner.parser(), 240_000);
  assert.equal(run.parserError, null, run.log);
  assert.deepEqual(run.results, {
    'list/at_test.go::TestFirst': 'passed',
    'list/at_test.go::TestPanics': 'failed',
    'list/at_test.go::TestAfter': 'passed',
    'list/at_test.go::TestWrong': 'failed',
    // A panic in a subtest fails it and its parent; its sibling subtests after it still run.
    'list/at_test.go::TestTable': 'failed',
    'list/at_test.go::TestTable/in_range': 'passed',
    'list/at_test.go::TestTable/out_of_range': 'failed',
    'list/at_test.go::TestTable/again_in_(range)': 'passed',
    'list/at_test.go::TestTable/last': 'passed',
    // A panic outside the test's own goroutine reports nothing for it: the test that was running fails.
    'list/at_test.go::TestGoroutine': 'failed',
    'list/at_test.go::TestLast': 'passed',
    'list/exit_test.go::TestBeforeExit': 'passed',
    'list/exit_test.go::TestExits': 'failed',
    'list/exit_test.go::TestAfterExit': 'passed',
    'list/fine_test.go::TestFine': 'passed',
    'list/sub_test.go::TestSubFails': 'failed',
    'list/sub_test.go::TestSubFails/plain': 'failed',
    'list/sub_test.go::TestSubThenCrash': 'failed',
    'list/sub_test.go::TestSubTail': 'passed',
  }, run.log);
  // The panic stays in the log for whoever reads it.
  assert.match(run.log, /panic: runtime error: index out of range \[3\] with length 0/);
  // A subtest that failed without panicking is not taken for the cause of a later test's crash.
  assert.doesNotMatch(run.log, /a subtest of TestSubFails panicked/);
});

test('go: a selection of files runs only their tests, crashes included', async () => {
  requireTool('go');
  const one = await runTestScript(sb, runner.script(['list/exit_test.go']), runner.parser(), 240_000);
  assert.deepEqual(one.results, {
    'list/exit_test.go::TestBeforeExit': 'passed',
    'list/exit_test.go::TestExits': 'failed',
    'list/exit_test.go::TestAfterExit': 'passed',
  }, one.log);
  // A file that passes runs once: no rerun for a run that ended well.
  const fine = await runTestScript(sb, runner.script(['list/fine_test.go']), runner.parser(), 240_000);
  assert.deepEqual(fine.results, { 'list/fine_test.go::TestFine': 'passed' }, fine.log);
  assert.doesNotMatch(fine.log, /running the rest again/);
});

test('go: reruns share the file\'s time limit', async () => {
  requireTool('go');
  // With no time left after the first run, the tests the crash hid stay unreported instead of running past the limit.
  // The limit is used up right after the first round (not by a wall-clock race with it, which a loaded machine loses).
  const script = runner.script(['list/at_test.go']);
  assert.ok(script.includes('ssr_go_deadline=$(( SECONDS + ${SSR_FILE_TIMEOUT:-300} ))'), 'the deadline line is in the script');
  const slow = script.replace('ssr_go_round "^($3)\\$" \'\'\n  r=$?', 'ssr_go_round "^($3)\\$" \'\'\n  r=$?; ssr_go_deadline=$SECONDS');
  assert.notEqual(slow, script, 'the first round is in the script');
  const run = await runTestScript(sb, slow, runner.parser(), 240_000);
  assert.equal(run.results['list/at_test.go::TestPanics'], 'failed', run.log);
  assert.equal(run.results['list/at_test.go::TestLast'], undefined, run.log);
  assert.match(run.log, /no time left/);
});
