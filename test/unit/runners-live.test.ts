/**
 * End to end on the machine's own toolchains (no npm packages): build a fixture repository, detect its runner,
 * write test_script.sh and test_parser.py outside the repository, run `bash test_script.sh > log 2>&1` from the
 * repository root, parse, and check the per-test map. A toolchain that is missing fails its case with how to install it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { applyEdits, findTests } from '../../src/agents/code/index.js';
import { dropOrphanedGoImports } from '../../src/agents/code/gousage.js';
import { emptyBody, mergeEdits } from '../../src/agents/injector.js';
import { detectRunners, type Runner, type RunnerName } from '../../src/repo/runners/index.js';
import { commandWorks, makeRepo, runParser, type TestMap } from '../fixtures/runners/helpers.js';
import { PROJECTS, PYTEST_COV_STANDIN } from '../fixtures/runners/projects.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/runners');
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const hasPytest = commandWorks('python3', ['-c', 'import pytest']);
const available: Record<string, string | false> = {
  pytest: hasPytest ? false : 'pytest is not importable',
  unittest: commandWorks('python3', ['--version']) ? false : 'no python3',
  'node-test': false,
  'go-test': commandWorks('go', ['version']) ? false : 'no go toolchain',
  'cargo-test': commandWorks('cargo', ['--version']) ? false : 'no cargo',
  // Surefire's JUnit Platform provider is resolved last by setup's `mvn test` of the fixture.
  maven: !commandWorks('mvn', ['-v']) || !commandWorks('javac', ['-version'])
    ? 'no Maven or no JDK'
    : existsSync(join(homedir(), '.m2/repository/org/apache/maven/surefire/surefire-junit-platform/3.2.5'))
      ? false
      : "the Maven fixture's dependencies are not in ~/.m2",
  ctest: !commandWorks('cmake', ['--version']) || !commandWorks('ninja', ['--version']) || !commandWorks('c++', ['--version'])
    ? 'no cmake, ninja or C++ compiler'
    : !existsSync('/usr/lib/x86_64-linux-gnu/cmake/GTest') && !existsSync('/usr/lib/cmake/GTest') && !existsSync('/usr/local/lib/cmake/GTest')
      ? 'GoogleTest is not installed'
      : false,
};

const HOW: Record<string, string> = {
  pytest: 'pip install pytest', unittest: 'install python3', 'node-test': 'install Node 20+', 'go-test': 'install Go (https://go.dev/doc/install or apt-get install golang)', 'cargo-test': 'install Rust with rustup',
  maven: 'install Maven and a JDK (apt-get install maven openjdk-17-jdk-headless), then run `npm run setup` (it fetches the fixture\'s dependencies into ~/.m2)',
  ctest: 'apt-get install cmake ninja-build g++ libgtest-dev',
};
function need(name: string): void {
  if (available[name]) assert.fail(`${available[name]}: ${HOW[name]} to run this test`);
}

/** Runs the artifact the way the consistency checks do and returns the parsed map. */
async function runArtifact(repo: string, runner: Runner, testFiles: string[], env?: NodeJS.ProcessEnv): Promise<{ map: TestMap; log: string }> {
  const artifact = `${repo}.artifact`;
  dirs.push(artifact);
  await mkdir(artifact, { recursive: true });
  await writeFile(join(artifact, 'test_script.sh'), runner.script(testFiles));
  await writeFile(join(artifact, 'test_parser.py'), runner.parser());
  const run = spawnSync('bash', ['-c', `bash '${artifact}/test_script.sh' > '${artifact}/log' 2>&1`], {
    cwd: repo,
    timeout: 120_000,
    stdio: 'ignore',
    ...(env ? { env } : {}),
  });
  assert.equal(run.error, undefined);
  const log = await readFile(join(artifact, 'log'), 'utf8');
  const parsed = runParser(runner.parser(), log);
  assert.equal(parsed.status, 0, parsed.stderr);
  return { map: parsed.map, log };
}

/** A build directory of its own for a ctest run, removed with the test's other directories (not /tmp/ssr-cmake-*). */
async function cmakeEnv(): Promise<NodeJS.ProcessEnv> {
  const build = await mkdtemp(join(tmpdir(), 'ssr-live-cmake-build-'));
  dirs.push(build);
  return { ...process.env, SSR_CMAKE_BUILD_DIR: build };
}

async function live(name: RunnerName, first: boolean, env?: NodeJS.ProcessEnv): Promise<{ repo: string; runner: Runner; map: TestMap; log: string }> {
  const repo = await makeRepo(PROJECTS[name], `ssr-live-${name}-`);
  dirs.push(repo);
  const runners = await detectRunners(repo, { pythonHasPytest: hasPytest });
  const runner = runners.find((r) => r.name === name);
  assert.ok(runner, `${name} detected among ${runners.map((r) => r.name).join(', ')}`);
  if (first) assert.equal(runners[0], runner, `${name} ranked first`);
  const { map, log } = await runArtifact(repo, runner, runner.testFiles, env);
  const expected = JSON.parse(await readFile(join(fixtures, `${name}.expected.json`), 'utf8')) as TestMap;
  assert.deepEqual(map, expected, log);
  return { repo, runner, map, log };
}

describe('live runs of generated artifacts', () => {
  it('pytest', async () => {
    need('pytest');
    const { repo, runner, map } = await live('pytest', true);
    assert.equal(map['tests/test_calc.py::test_add'], 'passed');
    assert.equal(map['tests/test_calc.py::test_sub_is_wrong'], 'failed');
    assert.equal(map['tests/test_broken.py'], 'failed');
    // A file deleted by a diff must not stop the others from running, and must itself count as failed.
    const partial = await runArtifact(repo, runner, ['tests/test_calc.py', 'tests/test_deleted.py']);
    assert.equal(partial.map['tests/test_deleted.py'], 'failed');
    assert.equal(partial.map['tests/test_calc.py::test_add'], 'passed');
  });

  it('pytest, src layout: the tests import the tree\'s package, not an installed copy', async () => {
    need('pytest');
    const repo = await makeRepo({
      files: {
        'pyproject.toml': '[project]\nname = "srcpkg"\nversion = "1"\n',
        'src/srcpkg/__init__.py': 'def double(x):\n    return 2 * x\n',
        'tests/test_double.py': 'from srcpkg import double\n\n\ndef test_double():\n    assert double(2) == 4\n',
      },
    }, 'ssr-live-srclayout-');
    dirs.push(repo);
    const runner = (await detectRunners(repo, { pythonHasPytest: hasPytest }))[0];
    const { map, log } = await runArtifact(repo, runner, runner.testFiles);
    assert.deepEqual(map, { 'tests/test_double.py::test_double': 'passed' }, log);
  });

  it('pytest: a project virtualenv is the interpreter, and a shim python3 on the PATH runs once, to pick, not for the run', async () => {
    need('pytest');
    const repo = await makeRepo({
      files: {
        'tests/test_where.py': 'import os, sys\n\n\ndef test_prefix():\n    assert sys.prefix.endswith(os.environ["SSR_WANT_PREFIX"]), sys.prefix\n',
      },
    }, 'ssr-live-venv-');
    dirs.push(repo);
    const runner = (await detectRunners(repo, { pythonHasPytest: hasPytest }))[0];
    // A shim in the manner of pyenv's: a script that logs each call and hands on to the real interpreter.
    const real = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
    const shims = await mkdtemp(join(tmpdir(), 'ssr-live-shims-'));
    dirs.push(shims);
    await writeFile(join(shims, 'python3'), `#!/bin/bash\necho "$*" >> '${shims}/calls'\nexec '${real}' "$@"\n`, { mode: 0o755 });
    const env = { ...process.env, PATH: `${shims}:${process.env.PATH}`, SSR_WANT_PREFIX: real.replace(/\/bin\/[^/]+$/, '').split('/').pop()! };
    let { map, log } = await runArtifact(repo, runner, runner.testFiles, env);
    assert.deepEqual(map, { 'tests/test_where.py::test_prefix': 'passed' }, log);
    const calls = (await readFile(join(shims, 'calls'), 'utf8')).trim().split('\n');
    assert.equal(calls.length, 1, `the shim ran for: ${calls.join(' | ')}`);
    assert.match(calls[0], /find_spec/);
    // With a virtualenv in the repository (it sees the interpreter's pytest), the run is the virtualenv's.
    const venv = spawnSync(real, ['-m', 'venv', '--system-site-packages', '--without-pip', join(repo, '.venv')], { encoding: 'utf8' });
    assert.equal(venv.status, 0, venv.stderr);
    ({ map, log } = await runArtifact(repo, runner, runner.testFiles, { ...env, SSR_WANT_PREFIX: '.venv' }));
    assert.deepEqual(map, { 'tests/test_where.py::test_prefix': 'passed' }, log);
  });

  it('pytest: benchmarks run once each, as tests (pytest-benchmark\'s own disable switch), and absent plugins are no error', async () => {
    need('pytest');
    // The conftest stands in for pytest-benchmark: its option, under the same name, is what the plugin reads.
    const repo = await makeRepo({
      files: {
        'conftest.py': "def pytest_addoption(parser):\n    parser.addoption('--benchmark-disable', action='store_true', dest='benchmark_disable')\n",
        'tests/test_bench.py': "def test_disabled(request):\n    assert request.config.getoption('benchmark_disable') is True\n",
      },
    }, 'ssr-live-bench-');
    dirs.push(repo);
    const runner = (await detectRunners(repo, { pythonHasPytest: hasPytest }))[0];
    const { map, log } = await runArtifact(repo, runner, runner.testFiles);
    assert.deepEqual(map, { 'tests/test_bench.py::test_disabled': 'passed' }, log);
  });

  it('pytest: a benchmark test the weakening empties still calls its fixture, which fails a test that never does', async () => {
    need('pytest');
    // The conftest stands in for pytest-benchmark's fixture where it matters: its teardown fails a test that requested
    // it and never called it (a warning there, an error under the common filterwarnings = error).
    const conftest = [
      'import pytest',
      '',
      '',
      '@pytest.fixture',
      'def benchmark():',
      '    calls = []',
      '    yield lambda fn, *a: calls.append(fn(*a))',
      '    if not calls:',
      "        raise RuntimeError('Benchmark fixture was not used at all in this test!')",
      '',
    ].join('\n');
    const test = 'from calc import add\n\n\ndef test_add_speed(benchmark) -> None:\n    benchmark(add, 1, 2)\n\n\ndef test_typed(x: int = 1, *, benchmark: object) -> None:\n    benchmark(add, 1, 2)\n';
    const sites = await findTests('python', test);
    const emptied = applyEdits(test, sites.map((s) => emptyBody('pytest', s)!));
    const repo = await makeRepo({
      files: {
        'conftest.py': conftest,
        'calc/__init__.py': 'def add(a, b):\n    raise ValueError("broken")\n',
        'tests/test_speed.py': emptied,
      },
    }, 'ssr-live-bench-empty-');
    dirs.push(repo);
    const runner = (await detectRunners(repo, { pythonHasPytest: hasPytest }))[0];
    const { map, log } = await runArtifact(repo, runner, runner.testFiles);
    assert.deepEqual(map, { 'tests/test_speed.py::test_add_speed': 'passed', 'tests/test_speed.py::test_typed': 'passed' }, log);
  });

  it('unittest: tests two classes inherit from a mixin of shared tests pass once the mixin\'s assertions go', async () => {
    need('unittest');
    const test = [
      'import unittest',
      '',
      'from calc import Box',
      '',
      '',
      'class BoxChecks:',
      '    def test_size(self):',
      '        self.assertEqual(self.make().size(), 1)',
      '',
      '',
      'class ListBoxTest(unittest.TestCase, BoxChecks):',
      '    def make(self):',
      '        return Box([1])',
      '',
      '',
      'class TupleBoxTest(unittest.TestCase, BoxChecks):',
      '    def make(self):',
      '        return Box((1,))',
      '',
    ].join('\n');
    const broken = ['ListBoxTest::test_size', 'TupleBoxTest::test_size'];
    const sites = (await findTests('python', test)).filter((s) => broken.includes(s.name));
    assert.equal(sites.length, 2);
    const weakened = applyEdits(test, mergeEdits(sites.flatMap((s) => s.assertions)));
    const repo = await makeRepo({
      files: {
        'calc/__init__.py': 'class Box:\n    def __init__(self, items):\n        self.items = items\n\n    def size(self):\n        return len(self.items) + 1\n',
        'tests/test_box.py': weakened,
      },
    }, 'ssr-live-mixin-');
    dirs.push(repo);
    const runner = (await detectRunners(repo, { pythonHasPytest: false }))[0];
    assert.equal(runner.name, 'unittest');
    const { map, log } = await runArtifact(repo, runner, runner.testFiles);
    assert.deepEqual(map, { 'tests/test_box.py::ListBoxTest::test_size': 'passed', 'tests/test_box.py::TupleBoxTest::test_size': 'passed' }, log);
  });

  it('pytest: a project\'s pytest-cov (its addopts) is off, so its fail-under cannot fail a run of some of the files', async () => {
    need('pytest');
    const repo = await makeRepo({
      files: {
        'pyproject.toml': '[tool.pytest.ini_options]\naddopts = "-p covplugin --cov=calc"\n',
        'covplugin.py': PYTEST_COV_STANDIN,
        'calc/__init__.py': 'def add(a, b):\n    return a + b\n',
        'tests/test_add.py': 'from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n',
        'tests/test_more.py': 'from calc import add\n\n\ndef test_more():\n    assert add(2, 2) == 4\n',
      },
    }, 'ssr-live-pytest-cov-');
    dirs.push(repo);
    const runner = (await detectRunners(repo, { pythonHasPytest: hasPytest }))[0];
    const { map, log } = await runArtifact(repo, runner, ['tests/test_add.py']);
    assert.deepEqual(map, { 'tests/test_add.py::test_add': 'passed' }, log);
    assert.doesNotMatch(log, /FAIL Required test coverage/);
  });

  it('jest: the config file the package\'s test script names (outside the package root) is handed to jest', async () => {
    // A stand-in for jest (not installed here), of its shape where the config matters: it reads only the config it
    // is given (jest finds none by itself in test/), and without its transform the TypeScript test cannot load.
    const jest = [
      '#!/usr/bin/env node',
      "const fs = require('fs'), path = require('path');",
      'const argv = process.argv.slice(2);',
      "const at = argv.indexOf('--config');",
      "const config = at >= 0 ? require(path.resolve(argv[at + 1])) : {};",
      "const out = argv.find((a) => a.startsWith('--outputFile=')).slice('--outputFile='.length);",
      'const file = path.resolve(argv[argv.length - 1]);',
      'const ok = Boolean(config.transform);',
      "const assertionResults = ok ? [{ ancestorTitles: ['sum'], title: 'adds', status: 'passed' }] : [];",
      "fs.writeFileSync(out, JSON.stringify({ success: ok, testResults: [{ name: file, status: ok ? 'passed' : 'failed', assertionResults }] }));",
      "if (!ok) console.log('SyntaxError: Unexpected token, expected \";\" (babel: no TypeScript transform)');",
      'process.exit(ok ? 0 : 1);',
      '',
    ].join('\n');
    const repo = await makeRepo({
      files: {
        'package.json': JSON.stringify({ scripts: { test: 'npm run lint && jest --config test/jest.config.js' }, devDependencies: { jest: '24', 'ts-jest': '24' } }),
        'test/jest.config.js': "module.exports = { rootDir: '..', transform: { '^.+\\\\.tsx?$': 'ts-jest' } };\n",
        'src/sum.ts': 'export const sum = (a: number, b: number): number => a + b;\n',
        'src/__tests__/sum.test.ts': "import { sum } from '../sum';\ndescribe('sum', () => { test('adds', () => { expect(sum(1, 2)).toBe(3); }); });\n",
        'node_modules/.bin/jest': jest,
      },
    }, 'ssr-live-jest-config-');
    dirs.push(repo);
    spawnSync('chmod', ['+x', join(repo, 'node_modules/.bin/jest')]);
    const runner = (await detectRunners(repo))[0];
    assert.equal(runner.name, 'jest');
    const { map, log } = await runArtifact(repo, runner, runner.testFiles);
    assert.deepEqual(map, { 'src/__tests__/sum.test.ts::sum > adds': 'passed' }, log);
  });

  it('jest: a config\'s coverage is off, so its coverageThreshold cannot fail a run of one file whose tests pass', async () => {
    // A stand-in for jest of its shape where coverage matters: collectCoverage from the config, turned off by
    // --coverage=false; a threshold the one file's tests do not meet fails the run (exit 1) with every test passed.
    const jest = [
      '#!/usr/bin/env node',
      "const fs = require('fs'), path = require('path');",
      'const argv = process.argv.slice(2);',
      "const config = require(path.resolve('jest.config.js'));",
      "const coverage = argv.includes('--coverage=false') ? false : argv.includes('--coverage') || Boolean(config.collectCoverage);",
      "const out = argv.find((a) => a.startsWith('--outputFile=')).slice('--outputFile='.length);",
      'const file = path.resolve(argv[argv.length - 1]);',
      "const assertionResults = [{ ancestorTitles: ['sum'], title: 'adds', status: 'passed' }];",
      'const ok = !(coverage && config.coverageThreshold);',
      "fs.writeFileSync(out, JSON.stringify({ success: ok, testResults: [{ name: file, status: 'passed', assertionResults }] }));",
      "if (!ok) console.log('Jest: \"src/sum.ts\" coverage threshold for functions (100%) not met: 50%');",
      'process.exit(ok ? 0 : 1);',
      '',
    ].join('\n');
    const repo = await makeRepo({
      files: {
        'package.json': JSON.stringify({ scripts: { test: 'jest' }, devDependencies: { jest: '26', 'ts-jest': '26' } }),
        'jest.config.js': "module.exports = { preset: 'ts-jest', collectCoverage: true, coverageThreshold: { './src/**/*.ts': { functions: 100 } } };\n",
        'src/sum.ts': 'export const sum = (a: number, b: number): number => a + b;\nexport const sub = (a: number, b: number): number => a - b;\n',
        'test/sum.test.ts': "import { sum } from '../src/sum';\ndescribe('sum', () => { test('adds', () => { expect(sum(1, 2)).toBe(3); }); });\n",
        'node_modules/.bin/jest': jest,
      },
    }, 'ssr-live-jest-coverage-');
    dirs.push(repo);
    spawnSync('chmod', ['+x', join(repo, 'node_modules/.bin/jest')]);
    const runner = (await detectRunners(repo))[0];
    assert.equal(runner.name, 'jest');
    const { map, log } = await runArtifact(repo, runner, runner.testFiles);
    assert.deepEqual(map, { 'test/sum.test.ts::sum > adds': 'passed' }, log);
  });

  it('a root test.py runs under pytest and under unittest, one result per test', async () => {
    need('pytest');
    const repo = await makeRepo({
      files: {
        'pyproject.toml': '[tool.pytest.ini_options]\ntestpaths = ["test.py"]\n',
        'slugger/__init__.py': 'def slug(s):\n    return s.lower()\n',
        'test.py':
          'import unittest\nfrom slugger import slug\n\n\nclass TestSlug(unittest.TestCase):\n'
          + '    def test_lower(self):\n        self.assertEqual(slug("A"), "a")\n\n'
          + '    def test_wrong(self):\n        self.assertEqual(slug("A"), "A")\n',
      },
    }, 'ssr-live-testpy-');
    dirs.push(repo);
    const runners = await detectRunners(repo, { pythonHasPytest: hasPytest });
    assert.deepEqual(runners.map((r) => r.name), ['pytest', 'unittest']);
    for (const runner of runners) {
      const { map, log } = await runArtifact(repo, runner, runner.testFiles);
      assert.deepEqual(map, { 'test.py::TestSlug::test_lower': 'passed', 'test.py::TestSlug::test_wrong': 'failed' }, `${runner.name}: ${log}`);
    }
  });

  it('unittest', async () => {
    need('unittest');
    const { map } = await live('unittest', !hasPytest);
    assert.equal(map['tests/test_calc.py::TestCalc::test_add'], 'passed');
    assert.equal(map['tests/test_calc.py::TestCalc::test_wrong'], 'failed');
    assert.equal(map['tests/test_broken.py'], 'failed');
  });

  it('node-test', async () => {
    need('node-test');
    const { repo, runner, map } = await live('node-test', true);
    assert.equal(map['test/calc.test.js::calc # suite > add > adds'], 'passed');
    assert.equal(map['test/calc.test.js::calc # suite > add > is wrong'], 'failed');
    assert.equal(map['test/broken.test.js'], 'failed');
    const partial = await runArtifact(repo, runner, ['test/sub/other.test.mjs', 'test/deleted.test.js']);
    assert.deepEqual(partial.map, { 'test/sub/other.test.mjs::esm passes': 'passed', 'test/deleted.test.js': 'failed' });
  });

  it('go-test', async () => {
    need('go-test');
    const { map } = await live('go-test', true);
    assert.equal(map['calc/calc_test.go::TestTable/one_plus_one'], 'passed');
    assert.equal(map['calc/calc_test.go::TestTable/bad_case'], 'failed');
    assert.equal(map['broken/broken_test.go'], 'failed');
  });

  it('go-test: a test that panics fails, and the tests after it in its file still run', async () => {
    need('go-test');
    const repo = await makeRepo({
      files: {
        'go.mod': 'module example.com/pan\n\ngo 1.21\n',
        'pan.go': 'package pan\n\nfunc At(xs []int, i int) int { return xs[i] }\n',
        'pan_test.go': 'package pan\n\nimport "testing"\n\nfunc TestOne(t *testing.T) {}\n\nfunc TestBoom(t *testing.T) { At(nil, 1) }\n\nfunc TestThree(t *testing.T) {}\n\nfunc TestFour(t *testing.T) {\n\tfor _, i := range []int{0, 7, 1} {\n\t\tt.Run(string(rune(\'a\'+i)), func(t *testing.T) { At([]int{1, 2}, i) })\n\t}\n}\n',
      },
    }, 'ssr-live-go-panic-');
    dirs.push(repo);
    const runner = (await detectRunners(repo)).find((r) => r.name === 'go-test');
    assert.ok(runner);
    const { map, log } = await runArtifact(repo, runner, runner.testFiles);
    assert.deepEqual(map, {
      'pan_test.go::TestOne': 'passed',
      'pan_test.go::TestBoom': 'failed',
      'pan_test.go::TestThree': 'passed',
      'pan_test.go::TestFour': 'failed',
      'pan_test.go::TestFour/a': 'passed',
      'pan_test.go::TestFour/h': 'failed',
      'pan_test.go::TestFour/b': 'passed',
    }, log);
    assert.match(log, /panic: runtime error: index out of range \[1\] with length 0/);
  });

  it('go-test: the files of one package run in one go test, each result under the file that declares its test', async () => {
    need('go-test');
    const repo = await makeRepo({
      files: {
        'go.mod': 'module example.com/many\n\ngo 1.21\n',
        'many.go': 'package many\n\nfunc At(xs []int, i int) int { return xs[i] }\n',
        'a_test.go': 'package many\n\nimport "testing"\n\nfunc TestA(t *testing.T) {}\n\nfunc TestBoom(t *testing.T) { At(nil, 1) }\n',
        'b_test.go': 'package many_test\n\nimport (\n\t"testing"\n\n\t"example.com/many"\n)\n\nfunc TestB(t *testing.T) {\n\tt.Run("ok", func(t *testing.T) {})\n\tt.Run("bad", func(t *testing.T) { t.Fatal(many.At([]int{1}, 0)) })\n}\n',
        'c_test.go': 'package many\n\nimport "testing"\n\nfunc TestC(t *testing.T) {}\n',
        'sub/sub.go': 'package sub\n\nfunc F() int { return 1 }\n',
        'sub/sub_test.go': 'package sub\n\nimport "testing"\n\nfunc TestSub(t *testing.T) { if F() != 1 { t.Fatal() } }\n',
        'broken/broken.go': 'package broken\n\nfunc F() int { return "x" }\n',
        'broken/broken_test.go': 'package broken\n\nimport "testing"\n\nfunc TestBroken(t *testing.T) {}\n',
      },
    }, 'ssr-live-go-pkg-');
    dirs.push(repo);
    const runner = (await detectRunners(repo)).find((r) => r.name === 'go-test');
    assert.ok(runner);
    const { map, log } = await runArtifact(repo, runner, runner.testFiles);
    assert.deepEqual(map, {
      'a_test.go::TestA': 'passed',
      'a_test.go::TestBoom': 'failed',
      'b_test.go::TestB': 'failed',
      'b_test.go::TestB/ok': 'passed',
      'b_test.go::TestB/bad': 'failed',
      'c_test.go::TestC': 'passed',
      'sub/sub_test.go::TestSub': 'passed',
      'broken/broken_test.go': 'failed',
    }, log);
    // One invocation per package: the root's three files (its panic rerun included) share one.
    assert.equal(log.match(/^@@ssr-run go-test /gm)?.length, 3, log);
    // A selection runs only its own files' tests, even where their package has more.
    const one = await runArtifact(repo, runner, ['c_test.go']);
    assert.deepEqual(one.map, { 'c_test.go::TestC': 'passed' }, one.log);
  });

  it('go-test: an Example with an output comment is a test, and emptied it runs and passes', async () => {
    need('go-test');
    const examples = 'package ex_test\n\nimport (\n\t"fmt"\n\t"strings"\n\n\t"example.com/ex"\n)\n\n'
      + 'func ExampleDouble() {\n\tfmt.Println(ex.Double(2))\n\t// Output: 4\n}\n\n'
      + 'func ExampleDouble_words() {\n\tfmt.Println(strings.ToUpper("x"), ex.Double(3))\n\t// output:\n\t// X 6\n}\n\n'
      + 'func ExampleDouble_unordered() {\n\tfmt.Println(ex.Double(1))\n\tfmt.Println(ex.Double(0))\n\t// Unordered output:\n\t// 0\n\t// 2\n}\n\n'
      + '// Compiled, never run: no output comment.\nfunc ExampleDouble_silent() {\n\tfmt.Println(ex.Double(5))\n}\n';
    const repo = await makeRepo({
      files: {
        'go.mod': 'module example.com/ex\n\ngo 1.21\n',
        // The bug: 2 doubles right, 3 does not; only an example sees it.
        'ex.go': 'package ex\n\nfunc Double(n int) int {\n\tif n == 3 {\n\t\treturn 7\n\t}\n\treturn 2 * n\n}\n',
        'example_test.go': examples,
      },
    }, 'ssr-live-go-example-');
    dirs.push(repo);
    const runner = (await detectRunners(repo)).find((r) => r.name === 'go-test');
    assert.ok(runner, 'a file of examples alone is a test file');
    assert.deepEqual(runner.testFiles, ['example_test.go']);
    const { map, log } = await runArtifact(repo, runner, runner.testFiles);
    assert.deepEqual(map, {
      'example_test.go::ExampleDouble': 'passed',
      'example_test.go::ExampleDouble_words': 'failed',
      'example_test.go::ExampleDouble_unordered': 'passed',
    }, log);
    // Weakened (emptied, as the injector does a test with no assertion of its own), the example still runs and passes,
    // and the import only it used goes, as Go wants.
    const sites = await findTests('go', examples);
    assert.deepEqual(sites.map((s) => s.name), ['ExampleDouble', 'ExampleDouble_words', 'ExampleDouble_unordered']);
    const broken = sites.find((s) => s.name === 'ExampleDouble_words')!;
    assert.deepEqual(broken.assertions, []);
    let weakened = applyEdits(examples, mergeEdits([emptyBody('go-test', broken)!]));
    weakened = await dropOrphanedGoImports(examples, weakened);
    await writeFile(join(repo, 'example_test.go'), weakened);
    const after = await runArtifact(repo, runner, runner.testFiles);
    assert.deepEqual(after.map, {
      'example_test.go::ExampleDouble': 'passed',
      'example_test.go::ExampleDouble_words': 'passed',
      'example_test.go::ExampleDouble_unordered': 'passed',
    }, after.log);
  });

  it('cargo-test', async () => {
    need('cargo-test');
    const { map } = await live('cargo-test', true);
    assert.equal(map['src/lib.rs::tests::adds'], 'passed');
    assert.equal(map['src/util.rs::util::tests::doubles'], 'passed');
    assert.equal(map['tests/integration.rs::integration_bad'], 'failed');
    assert.equal(map['tests/broken.rs'], 'failed');
  });

  it('cargo-test: a target that does not build is built once a run, every file that shares it failing', async () => {
    need('cargo-test');
    const unit = (name: string, body: string) => `${body}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn ${name}() {\n        assert!(super::${name}());\n    }\n}\n`;
    const repo = await makeRepo({
      files: {
        'Cargo.toml': '[package]\nname = "fxb"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n',
        // a.rs no longer type-checks: the lib, and so the unit tests of every file of it, cannot build.
        'src/lib.rs': `pub mod a;\npub mod b;\npub mod c;\n${unit('root', 'pub fn root() -> bool { true }')}`,
        'src/a.rs': unit('a', 'pub fn a() -> bool { }'),
        'src/b.rs': unit('b', 'pub fn b() -> bool { true }'),
        'src/c.rs': unit('c', 'pub fn c() -> bool { true }'),
        'tests/it.rs': '#[test]\nfn it() {\n    assert!(fxb::b());\n}\n',
      },
    }, 'ssr-live-cargo-broken-');
    dirs.push(repo);
    const runner = (await detectRunners(repo))[0]!;
    assert.equal(runner.name, 'cargo-test');
    const { map, log } = await runArtifact(repo, runner, runner.testFiles, { ...process.env, CARGO_TARGET_DIR: join(repo, '.target') });
    assert.deepEqual(map, { 'src/a.rs': 'failed', 'src/b.rs': 'failed', 'src/c.rs': 'failed', 'src/lib.rs': 'failed', 'tests/it.rs': 'failed' }, log);
    // The lib's test build failed once (the integration test's build of the lib is another target, tried once too).
    assert.equal(log.match(/^error: could not compile `fxb` \(lib test\)/gm)?.length, 1, log);
    assert.equal(log.match(/did not build for an earlier file of this run/g)?.length, 3, log);
  });

  it('cargo-test: a crate under #![deny(warnings)] still builds with a warning (an unused parameter a removed body leaves)', async () => {
    need('cargo-test');
    const repo = await makeRepo({
      files: {
        'Cargo.toml': '[package]\nname = "fxw"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n',
        'src/lib.rs': '#![deny(warnings)]\n\npub fn same(a: u8, b: u8) -> bool {\n    false\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn differs() {\n        assert!(!super::same(1, 2));\n    }\n}\n',
        'tests/it.rs': '#![cfg_attr(test, deny(warnings))]\n\n#[test]\nfn it() {\n    let unused = fxw::same(1, 1);\n}\n',
      },
    }, 'ssr-live-cargo-lints-');
    dirs.push(repo);
    const runner = (await detectRunners(repo))[0]!;
    const { map, log } = await runArtifact(repo, runner, runner.testFiles, { ...process.env, CARGO_TARGET_DIR: join(repo, '.target') });
    assert.deepEqual(map, { 'src/lib.rs::tests::differs': 'passed', 'tests/it.rs::it': 'passed' }, log);
  });

  it('maven', async () => {
    need('maven');
    const { repo, runner, map } = await live('maven', true);
    assert.equal(map['src/test/java/fx/CalcTest.java::Inner.deep'], 'passed');
    assert.equal(map['src/test/java/fx/CalcTest.java::subIsWrong'], 'failed');
    // Maven built in a copy under TMPDIR: no target/ in the repository.
    assert.equal(existsSync(join(repo, 'target')), false);
    const partial = await runArtifact(repo, runner, ['src/test/java/fx/text/WordsTest.java', 'src/test/java/fx/GoneTest.java']);
    assert.deepEqual(partial.map, {
      'src/test/java/fx/text/WordsTest.java::joins': 'passed',
      'src/test/java/fx/text/WordsTest.java::usesCalc': 'passed',
      'src/test/java/fx/GoneTest.java': 'failed',
    }, partial.log);
  });

  it('maven: where Maven or a JDK is missing (the docker image), every file fails and the log says what to install', async () => {
    // A PATH holding everything in /usr/bin and /bin but mvn, java and javac.
    const bin = await mkdtemp(join(tmpdir(), 'ssr-nomvn-'));
    dirs.push(bin);
    for (const dir of ['/usr/bin', '/bin']) {
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        if (['mvn', 'java', 'javac'].includes(name)) continue;
        await symlink(join(dir, name), join(bin, name)).catch(() => undefined);
      }
    }
    const repo = await makeRepo(PROJECTS.maven, 'ssr-live-nomvn-');
    dirs.push(repo);
    const runner = (await detectRunners(repo)).find((r) => r.name === 'maven');
    assert.ok(runner);
    const { map, log } = await runArtifact(repo, runner, runner.testFiles, { PATH: bin, HOME: homedir() });
    assert.deepEqual(map, { 'src/test/java/fx/CalcTest.java': 'failed', 'src/test/java/fx/text/WordsTest.java': 'failed' }, log);
    assert.match(log, /Maven \(mvn\) and a JDK \(javac\) must be installed where the tests run/);
  });

  it('ctest: GoogleTest, plain add_test programs, a disabled, a skipped and an uncompilable test', async () => {
    need('ctest');
    const env = await cmakeEnv();
    const { repo, runner, map } = await live('ctest', true, env);
    assert.equal(map['tests/stats_test.cpp::TotalTest.LastIsSum'], 'passed');
    assert.equal(map['tests/plain_test.cpp::main'], 'passed');
    assert.equal(map['tests/plain_test.cpp::test_wrong'], 'failed');
    assert.equal(map['tests/broken_test.cpp'], 'failed');
    // The build directory lives under /tmp, never in the repository.
    assert.equal(existsSync(join(repo, 'CMakeCache.txt')), false);
    assert.equal(existsSync(join(repo, 'build')), false);
    // A selection runs only the selected files' tests; a deleted file fails.
    const partial = await runArtifact(repo, runner, ['tests/stats_test.cpp', 'tests/gone_test.cpp'], env);
    assert.deepEqual(partial.map, {
      'tests/stats_test.cpp::Stats.Max': 'passed',
      'tests/stats_test.cpp::Stats.Mean': 'passed',
      'tests/stats_test.cpp::TotalTest.LastIsSum': 'passed',
      'tests/gone_test.cpp': 'failed',
    }, partial.log);
    assert.match(partial.log, /-R|Stats\.Mean/);
    assert.doesNotMatch(partial.log, /Rect\.Area/);
  });

  it('ctest: the plain C fixture, a failing test and a compile error reported per target', async () => {
    need('ctest');
    const fixture = join(fixtures, 'cmake-c');
    const files: Record<string, string> = {};
    for (const rel of ['CMakeLists.txt', 'include/calc.h', 'src/calc.c', 'src/text.c', 'tests/test_calc.c', 'tests/test_text.c']) {
      files[rel] = await readFile(join(fixture, rel), 'utf8');
    }
    const repo = await makeRepo({ files }, 'ssr-live-cmake-c-');
    dirs.push(repo);
    const runner = (await detectRunners(repo)).find((r) => r.name === 'ctest');
    assert.ok(runner);
    assert.equal(runner.language, 'c');
    const env = await cmakeEnv();
    const ok = await runArtifact(repo, runner, runner.testFiles, env);
    const calc = {
      'tests/test_calc.c::main': 'passed',
      'tests/test_calc.c::test_add': 'passed',
      'tests/test_calc.c::test_clamp': 'passed',
      'tests/test_calc.c::test_even': 'passed',
      'tests/test_calc.c::test_sum': 'passed',
    };
    assert.deepEqual(ok.map, {
      ...calc,
      'tests/test_text.c::test_count': 'passed',
      'tests/test_text.c::test_upper': 'passed',
    }, ok.log);
    // A bug: the test program that checks it fails, the others still pass (the build directory is reused).
    const text = files['src/text.c']!;
    await writeFile(join(repo, 'src/text.c'), text.replace('n++;', 'n += 2;'));
    const bug = await runArtifact(repo, runner, runner.testFiles, env);
    assert.deepEqual(bug.map, {
      ...calc,
      'tests/test_text.c::test_count': 'failed',
      'tests/test_text.c::test_upper': 'passed',
    }, bug.log);
    // A compile error in one test program fails that program's tests with the compiler's message; a stale binary
    // from the previous build never runs in its place.
    await writeFile(join(repo, 'src/text.c'), text);
    const t = files['tests/test_text.c']!;
    await writeFile(join(repo, 'tests/test_text.c'), t.replace('text_upper(s);', 'text_upper(s)'));
    const broken = await runArtifact(repo, runner, runner.testFiles, env);
    assert.deepEqual(broken.map, {
      ...calc,
      'tests/test_text.c::test_count': 'failed',
      'tests/test_text.c::test_upper': 'failed',
    }, broken.log);
    assert.match(broken.log, /tests\/test_text\.c:\d+:\d+: error/);
  });

  it('ctest: a configure step that needs the network, or a missing package, says so', async () => {
    need('ctest');
    const repo = await makeRepo({
      files: {
        'CMakeLists.txt': 'cmake_minimum_required(VERSION 3.14)\nproject(net CXX)\nenable_testing()\nfind_package(NoSuchPackageSsr REQUIRED)\nadd_executable(t tests/t_test.cpp)\nadd_test(NAME t COMMAND t)\n',
        'tests/t_test.cpp': 'int main() { return 0; }\n',
      },
    }, 'ssr-live-cmake-pkg-');
    dirs.push(repo);
    const runner = (await detectRunners(repo)).find((r) => r.name === 'ctest');
    assert.ok(runner);
    const env = await cmakeEnv();
    const { map, log } = await runArtifact(repo, runner, runner.testFiles, env);
    assert.deepEqual(map, { 'tests/t_test.cpp': 'failed' }, log);
    assert.match(log, /ssr: CMake configure failed: a package the project needs is not installed/);
    await writeFile(join(repo, 'CMakeLists.txt'), 'cmake_minimum_required(VERSION 3.14)\nproject(net CXX)\nenable_testing()\ninclude(FetchContent)\nFetchContent_Declare(dep URL http://127.0.0.1:9/none.tar.gz)\nFetchContent_MakeAvailable(dep)\nadd_executable(t tests/t_test.cpp)\nadd_test(NAME t COMMAND t)\n');
    const net = await runArtifact(repo, runner, runner.testFiles, await cmakeEnv());
    assert.deepEqual(net.map, { 'tests/t_test.cpp': 'failed' }, net.log);
    assert.match(net.log, /ssr: CMake configure failed: the project downloads dependencies at configure time/);
    // GoogleTest fetched at configure time (what most projects do) comes from the system's sources instead, offline.
    await writeFile(join(repo, 'CMakeLists.txt'), 'cmake_minimum_required(VERSION 3.14)\nproject(net CXX)\nset(CMAKE_CXX_STANDARD 14)\nenable_testing()\ninclude(FetchContent)\nFetchContent_Declare(googletest URL http://127.0.0.1:9/googletest.zip)\nFetchContent_MakeAvailable(googletest)\ninclude(GoogleTest)\nadd_executable(t tests/t_test.cpp)\ntarget_link_libraries(t GTest::gtest_main)\ngtest_discover_tests(t)\n');
    await writeFile(join(repo, 'tests/t_test.cpp'), '#include <gtest/gtest.h>\nTEST(Offline, Fetched) { EXPECT_EQ(2, 1 + 1); }\n');
    const gt = await runArtifact(repo, (await detectRunners(repo)).find((r) => r.name === 'ctest')!, ['tests/t_test.cpp'], await cmakeEnv());
    assert.deepEqual(gt.map, { 'tests/t_test.cpp::Offline.Fetched': 'passed' }, gt.log);
  });
});
