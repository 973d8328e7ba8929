/**
 * The failing tests' line coverage (src/agents/coverage.ts), measured in the real sandbox with the real runners:
 * pytest (per test, through a sitecustomize), node --test (V8 block coverage, per file), go test (cover profiles of
 * the failing and the passing tests apart). The same small program in each: `sub` is wrong for a < b.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRuntime } from '../../src/runtime.js';
import { detectRunners } from '../../src/repo/runners/index.js';
import { treeState } from '../../src/repo/tree.js';
import { TestRunCounter } from '../../src/agents/common.js';
import { Coverage, coverageSupported, failingCoverage } from '../../src/agents/coverage.js';
import { PYTEST_COV_STANDIN } from '../fixtures/runners/projects.js';

const rt = createRuntime({ home: mkdtempSync(path.join(tmpdir(), 'ssr-coverage-')) });

function repoOf(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'ssr-coverage-repo-'));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    writeFileSync(path.join(dir, f), text);
  }
  execFileSync('git', ['init', '-q', dir]);
  execFileSync('git', ['-C', dir, 'add', '-A']);
  execFileSync('git', ['-C', dir, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'init']);
  return dir;
}

/** Runs the repository's tests once, then the coverage run over the failing ones; returns both. */
async function measure(files: Record<string, string>, code: string) {
  const repo = repoOf(files);
  const runner = (await detectRunners(repo))[0];
  const sb = await treeState(rt.provider, repo, []);
  try {
    const first = await new TestRunCounter(120_000).run(sb, runner, runner.testFiles);
    const failing = Object.keys(first.results).filter((k) => first.results[k] === 'failed');
    const run = await failingCoverage(sb, runner, runner.testFiles, failing, [code], 240_000);
    assert.ok(run.coverage, run.error);
    const status = await sb.exec('git status --porcelain');
    assert.equal(status.stdout, '', 'the coverage run leaves nothing in the tree');
    return { failing, coverage: run.coverage };
  } finally {
    await sb.dispose();
  }
}

/** Line numbers of `code` by a marker comment at the end of the line. */
function lineOf(code: string, marker: string): number {
  const i = code.split('\n').findIndex((l) => l.includes(`${marker}`));
  assert.ok(i >= 0, marker);
  return i + 1;
}

test('Python: per-test spectra; the line only the failing test ran scores 1, a shared one less, the rest did not run', async () => {
  const code = [
    'LIMIT = 10  # module',
    'def add(a, b):',
    '    return a + b  # add',
    'def sub(a, b):',
    '    if a > b:  # cond',
    '        return a - b  # big',
    '    return 0  # small',
    'def unused(x):',
    '    return x * 2  # unused',
    '',
  ].join('\n');
  const tests = [
    'from calc import add, sub',
    'def test_add():\n    assert add(1, 2) == 3',
    'def test_sub():\n    assert sub(1, 3) == -2',
    'def test_sub_big():\n    assert sub(5, 3) == 2',
    '',
  ].join('\n');
  const { failing, coverage } = await measure({ 'calc.py': code, 'tests/test_calc.py': tests, 'conftest.py': 'import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n' }, 'calc.py');
  assert.deepEqual(failing, ['tests/test_calc.py::test_sub']);
  assert.deepEqual([...coverage.langs], ['python']);
  const at = (m: string) => lineOf(code, `# ${m}`);
  assert.equal(coverage.executed('calc.py', at('small')), true);
  assert.equal(coverage.ochiai('calc.py', at('small')), 1);
  assert.equal(coverage.executed('calc.py', at('cond')), true);
  assert.ok(Math.abs(coverage.ochiai('calc.py', at('cond'))! - Math.SQRT1_2) < 1e-9, 'ran by the failing test and one passing test');
  for (const m of ['big', 'add', 'unused']) assert.equal(coverage.executed('calc.py', at(m)), false, m);
  assert.equal(coverage.executed('calc.py', at('module')), true, 'module bodies run at import count as run');
  assert.equal(coverage.executed('calc.py', at('big'), at('small')), true, 'a span counts when any line of it ran');
  assert.equal(coverage.executed('calc.rs', 1), null, 'no coverage for a language the run did not measure');
});

test('Python: a project\'s pytest-cov (its addopts) does not replace the tracer, so the spectra are still measured', async () => {
  const code = ['def sub(a, b):', '    if a > b:  # cond', '        return a - b  # big', '    return 0  # small', ''].join('\n');
  const tests = ['from calc import sub', 'def test_sub():\n    assert sub(1, 3) == -2', 'def test_sub_big():\n    assert sub(5, 3) == 2', ''].join('\n');
  const { failing, coverage } = await measure({
    'calc.py': code,
    'tests/test_calc.py': tests,
    'covplugin.py': PYTEST_COV_STANDIN,
    'pytest.ini': '[pytest]\naddopts = -p covplugin --cov=calc\n',
    'conftest.py': 'import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\n',
  }, 'calc.py');
  assert.deepEqual(failing, ['tests/test_calc.py::test_sub']);
  assert.deepEqual([...coverage.langs], ['python']);
  assert.equal(coverage.executed('calc.py', lineOf(code, '# small')), true);
  assert.equal(coverage.executed('calc.py', lineOf(code, '# big')), false);
});

test('JavaScript (CommonJS, node --test): V8 block coverage per test, through the preloaded hook', async () => {
  const code = [
    'function sub(a, b) {',
    '  if (a > b) { // cond',
    '    return a - b; // big',
    '  }',
    '  return 0; // small',
    '}',
    'function unused(x) {',
    '  return x * 2; // unused',
    '}',
    'module.exports = { sub, unused }; // exports',
    '',
  ].join('\n');
  const tests = [
    "const { describe, test } = require('node:test');",
    "const assert = require('node:assert');",
    "const { sub } = require('../calc.js');",
    "describe('sub', () => {",
    "  test('small', () => { assert.strictEqual(sub(1, 3), -2); });",
    "  test('big', () => { assert.strictEqual(sub(5, 3), 2); });",
    '});',
    '',
  ].join('\n');
  const { failing, coverage } = await measure({ 'calc.js': code, 'test/calc.test.js': tests, 'package.json': '{"name":"calc","scripts":{"test":"node --test"}}\n' }, 'calc.js');
  assert.equal(failing.length, 1, failing.join(', '));
  assert.deepEqual([...coverage.langs], ['js']);
  const at = (m: string) => lineOf(code, `// ${m}`);
  assert.equal(coverage.ochiai('calc.js', at('small')), 1);
  assert.equal(coverage.executed('calc.js', at('big')), false, 'only the passing test in the same file ran it');
  assert.equal(coverage.executed('calc.js', at('unused')), false);
  assert.ok(Math.abs(coverage.ochiai('calc.js', at('cond'))! - Math.SQRT1_2) < 1e-9, 'the failing and the passing test ran it');
  assert.equal(coverage.executed('calc.js', at('exports')), true, 'what ran at load counts as run');
});

test('Go: the failing and the passing tests profiled apart', async () => {
  const code = [
    'package calc',
    '',
    'func Add(a, b int) int {',
    '\treturn a + b // add',
    '}',
    '',
    'func Sub(a, b int) int {',
    '\tif a > b {',
    '\t\treturn a - b // big',
    '\t}',
    '\treturn 0 // small',
    '}',
    '',
    'func Unused(x int) int {',
    '\treturn x * 2 // unused',
    '}',
    '',
  ].join('\n');
  const tests = [
    'package calc',
    '',
    'import "testing"',
    '',
    'func TestAdd(t *testing.T) {\n\tif Add(1, 2) != 3 {\n\t\tt.Fatal("add")\n\t}\n}',
    'func TestSub(t *testing.T) {\n\tif Sub(1, 3) != -2 {\n\t\tt.Fatal("sub")\n\t}\n}',
    'func TestSubBig(t *testing.T) {\n\tif Sub(5, 3) != 2 {\n\t\tt.Fatal("big")\n\t}\n}',
    '',
  ].join('\n');
  const { failing, coverage } = await measure({ 'go.mod': 'module example.com/calc\n\ngo 1.20\n', 'calc.go': code, 'calc_test.go': tests }, 'calc.go');
  assert.deepEqual(failing, ['calc_test.go::TestSub']);
  assert.deepEqual([...coverage.langs], ['go']);
  const at = (m: string) => lineOf(code, `// ${m}`);
  assert.equal(coverage.ochiai('calc.go', at('small')), 1);
  for (const m of ['big', 'add', 'unused']) assert.equal(coverage.executed('calc.go', at(m)), false, m);
});

test('Go: a failing test that panics does not take the other failing tests\' coverage with it', async () => {
  const code = [
    'package calc',
    '',
    'func At(xs []int, i int) int {',
    '\treturn xs[i] // at',
    '}',
    '',
    'func Half(n int) int {',
    '\treturn n / 3 // half',
    '}',
    '',
    'func Unused(x int) int {',
    '\treturn x * 2 // unused',
    '}',
    '',
  ].join('\n');
  const tests = [
    'package calc',
    '',
    'import "testing"',
    '',
    // A panic ends the test binary before it writes its cover profile: without a rerun the group has no profile.
    'func TestAt(t *testing.T) { At(nil, 2) }',
    'func TestHalf(t *testing.T) {\n\tif Half(4) != 2 {\n\t\tt.Fatal("half")\n\t}\n}',
    '',
  ].join('\n');
  const { failing, coverage } = await measure({ 'go.mod': 'module example.com/calc\n\ngo 1.20\n', 'calc.go': code, 'calc_test.go': tests }, 'calc.go');
  assert.deepEqual(failing, ['calc_test.go::TestAt', 'calc_test.go::TestHalf']);
  assert.deepEqual([...coverage.langs], ['go']);
  const at = (m: string) => lineOf(code, `// ${m}`);
  assert.equal(coverage.executed('calc.go', at('half')), true, 'the failing test that did not panic was profiled');
  assert.equal(coverage.executed('calc.go', at('unused')), false);
});

test('the reducer\'s output is checked, never trusted: malformed entries are dropped', () => {
  const c = Coverage.parse(JSON.stringify({ langs: ['python', 'cobol'], totals: { python: [2, 1], js: 'x' }, spectra: { 'a.py': { 3: [2, 0], 4: [1, -1], x: [1, 1], 5: 'no' } } }));
  assert.deepEqual([...c.langs], ['python']);
  assert.equal(c.ochiai('a.py', 3), 1);
  assert.equal(c.executed('a.py', 4), false, 'a negative count is dropped');
  assert.equal(c.executed('b.py', 1), false, 'a file without lines in a measured language did not run');
  assert.equal(c.executed('a.js', 1), null);
  assert.throws(() => Coverage.parse('not json'));
});

test('a coverage run is spent only where it can measure: not for transforming runners, TypeScript, Rust or Java', () => {
  assert.equal(coverageSupported({ name: 'pytest', language: 'python' }), true);
  assert.equal(coverageSupported({ name: 'node-test', language: 'javascript' }), true);
  assert.equal(coverageSupported({ name: 'go-test', language: 'go' }), true);
  assert.equal(coverageSupported({ name: 'node-test', language: 'typescript' }), false);
  assert.equal(coverageSupported({ name: 'jest', language: 'javascript' }), false);
  assert.equal(coverageSupported({ name: 'vitest', language: 'javascript' }), false);
  assert.equal(coverageSupported({ name: 'cargo-test', language: 'rust' }), false);
  assert.equal(coverageSupported({ name: 'maven', language: 'java' }), false);
});
