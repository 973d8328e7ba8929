/** Runner detection from files on disk, test-file classification, and the generated scripts' shape. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { NoTestRunnerError, detectRunners, isTestFile, type RunnerName } from '../../src/repo/runners/index.js';
import { nodeLaunchFrom, runnerConfigsFrom } from '../../src/repo/runners/js-detect.js';
import { makeRepo, runParser } from '../fixtures/runners/helpers.js';
import { PROJECTS } from '../fixtures/runners/projects.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function repo(files: Record<string, string>): Promise<string> {
  const dir = await makeRepo({ files });
  dirs.push(dir);
  return dir;
}

async function names(files: Record<string, string>, pythonHasPytest = true): Promise<RunnerName[]> {
  return (await detectRunners(await repo(files), { pythonHasPytest })).map((r) => r.name);
}

describe('isTestFile', () => {
  const yes = [
    'tests/test_x.py',
    'test_x.py',
    'pkg/x_test.py',
    'conftest.py',
    'pkg/conftest.py',
    'tests/helpers.py',
    'tests/data/input.json',
    'src/a.test.ts',
    'src/a.spec.jsx',
    'lib/b.test.mjs',
    'src/__tests__/c.js',
    'src/__mocks__/fs.js',
    'test/setup.js',
    'pkg/x_test.go',
    'pkg/testdata/golden.txt',
    'tests/integration.rs',
    'crates/a/tests/it.rs',
    './tests/x.py',
    'tests\\win.py',
    'src/test/java/a/ATest.java',
    'src/test/java/a/Helper.java',
    'core/src/test/java/a/ServerIT.java',
    'legacy/TestParser.java',
    'legacy/ParserTests.java',
    'test.py',
    'tests.py',
    'blog/tests.py',
    'test.js',
    'test.mjs',
    'index.test-d.ts',
  ];
  const no = [
    'src/calc.py',
    'src/testing_utils.py',
    'src/contest.py',
    'src/latest.ts',
    'src/test.ts',
    'lib/test.js',
    'pkg/x.go',
    'src/lib.rs',
    'src/testing/mod.rs',
    'src/main/java/a/Testable.java',
    'src/main/java/a/Contest.java',
    'README.md',
    'attestation.py',
    'src/testing.py',
    'pkg/tester.py',
    'latest.py',
    '',
  ];
  for (const p of yes) it(`yes: ${p}`, () => assert.equal(isTestFile(p), true));
  for (const p of no) it(`no: ${p}`, () => assert.equal(isTestFile(p), false));
});

describe('detectRunners', () => {
  it('throws NoTestRunnerError with a clear message when there are no tests', async () => {
    const dir = await repo({ 'README.md': '# hi\n', 'src/app.py': 'print(1)\n', 'package.json': '{"name":"x"}\n' });
    await assert.rejects(detectRunners(dir), (err: unknown) => {
      assert.ok(err instanceof NoTestRunnerError);
      assert.ok(err instanceof Error);
      assert.match(err.message, /^no test runner found in /);
      assert.ok(err.message.includes(dir));
      assert.match(err.message, /looked for .*pytest.*jest.*go test.*cargo test.*maven/);
      return true;
    });
  });

  it('throws NoTestRunnerError on an empty directory', async () => {
    await assert.rejects(detectRunners(await repo({})), NoTestRunnerError);
  });

  it('every fixture project is detected with its own runner first (pytest importable)', async () => {
    for (const name of Object.keys(PROJECTS) as RunnerName[]) {
      const dir = await makeRepo(PROJECTS[name]);
      dirs.push(dir);
      const found = (await detectRunners(dir, { pythonHasPytest: true })).map((r) => r.name);
      // unittest-only repositories run under pytest when pytest is importable; unittest comes second.
      const first = name === 'unittest' ? 'pytest' : name;
      assert.equal(found[0], first, `${name}: ${found.join(', ')}`);
      assert.ok(found.includes(name), `${name}: ${found.join(', ')}`);
    }
  });

  it('unittest-only tests prefer unittest when pytest is neither configured nor importable', async () => {
    const files = PROJECTS.unittest.files;
    assert.deepEqual(await names(files, false), ['unittest']);
    assert.deepEqual(await names(files, true), ['pytest', 'unittest']);
    assert.deepEqual(await names({ ...files, 'pytest.ini': '[pytest]\n' }, false), ['pytest', 'unittest']);
  });

  it('pytest-style tests choose pytest even where pytest is not importable on the host', async () => {
    assert.deepEqual(await names({ 'tests/test_a.py': 'def test_a():\n    assert True\n' }, false), ['pytest']);
  });

  it('a module named test.py or tests.py holds tests (unittest discovery finds it; single-module libraries, Django apps)', async () => {
    const files = {
      'pyproject.toml': '[tool.pytest.ini_options]\ntestpaths = ["test.py"]\n',
      'slugger/__init__.py': 'def slug(s):\n    return s.lower()\n',
      'test.py': 'import unittest\nfrom slugger import slug\n\n\nclass TestSlug(unittest.TestCase):\n    def test_lower(self):\n        self.assertEqual(slug("A"), "a")\n',
      'blog/tests.py': 'from django.test import TestCase\n\n\nclass PostTests(TestCase):\n    def test_x(self):\n        pass\n',
      'blog/models.py': 'X = 1\n',
    };
    const runners = await detectRunners(await repo(files), { pythonHasPytest: false });
    assert.deepEqual(runners.map((r) => r.name), ['pytest', 'unittest']);
    for (const r of runners) {
      assert.deepEqual(r.testFiles, ['blog/tests.py', 'test.py'], r.name);
      // The tests must never be offered to the injector as code to break.
      assert.deepEqual(r.sourceFiles, ['blog/models.py', 'slugger/__init__.py'], r.name);
    }
  });

  it('lists test and source files, skipping dependency, build and virtualenv directories', async () => {
    const dir = await repo({
      'tests/test_a.py': 'def test_a():\n    pass\n',
      'tests/conftest.py': 'import pytest\n',
      'tests/helpers.py': 'X = 1\n',
      'tests/fixtures/test_data.py': 'def test_not_collected():\n    pass\n',
      'app/core.py': 'X = 1\n',
      'app/core_test.py': 'def test_core():\n    pass\n',
      'node_modules/pkg/test_x.py': 'def test_x():\n    pass\n',
      '.venv/lib/site.py': 'X = 1\n',
      'myenv/pyvenv.cfg': 'home = /usr\n',
      'myenv/lib/test_env.py': 'def test_env():\n    pass\n',
      'vendor/lib.py': 'X = 1\n',
      'build/lib/app/core.py': 'X = 1\n',
      'app/__pycache__/core.py': 'X = 1\n',
    });
    const [pytest] = await detectRunners(dir, { pythonHasPytest: true });
    assert.ok(pytest);
    assert.equal(pytest.name, 'pytest');
    assert.equal(pytest.language, 'python');
    assert.deepEqual(pytest.testFiles, ['app/core_test.py', 'tests/test_a.py']);
    assert.deepEqual(pytest.sourceFiles, ['app/core.py']);
  });

  it('JS: the runner named by scripts.test comes first, other installed runners after it', async () => {
    const files = {
      'package.json': JSON.stringify({ scripts: { test: 'vitest run' }, devDependencies: { vitest: '1', jest: '29' } }),
      'src/a.ts': 'export const a = 1;\n',
      'src/a.test.ts': "import { it } from 'vitest';\nit('a', () => {});\n",
    };
    assert.deepEqual(await names(files), ['vitest']);
    const jsFiles = {
      'package.json': JSON.stringify({ scripts: { test: 'jest --coverage' }, devDependencies: { jest: '29', mocha: '10' } }),
      'lib/a.js': 'module.exports = 1;\n',
      'lib/a.test.js': "test('a', () => {});\n",
      'test/b.js': "describe('b', () => { it('works', () => {}); });\n",
      'test/fixtures/c.test.js': "test('fixture, not a test', () => {});\n",
    };
    const runners = await detectRunners(await repo(jsFiles));
    assert.deepEqual(runners.map((r) => r.name), ['jest', 'mocha']);
    assert.deepEqual(runners[0]?.testFiles, ['lib/a.test.js']);
    assert.deepEqual(runners[1]?.testFiles, ['lib/a.test.js', 'test/b.js']);
    assert.equal(runners[0]?.language, 'javascript');
    assert.deepEqual(runners[0]?.sourceFiles, ['lib/a.js']);
  });

  it('JS: node:test is found from imports when no script names a runner', async () => {
    const runners = await detectRunners(
      await repo({ 'src/x.ts': 'export {};\n', 'src/x.test.ts': "import { test } from 'node:test';\ntest('x', () => {});\n" }),
    );
    assert.equal(runners[0]?.name, 'node-test');
    assert.equal(runners[0]?.language, 'typescript');
  });

  it('JS: tape from a script that wraps it (nyc tape) or from its import, with test/ files of any name', async () => {
    const runners = await detectRunners(
      await repo({
        'package.json': JSON.stringify({ scripts: { test: 'npm run tests-only', 'tests-only': "nyc tape 'test/**/*.js'" }, devDependencies: { tape: '5' } }),
        'index.js': 'module.exports = (x) => typeof x === "function";\n',
        'test/index.js': "var test = require('tape');\ntest('works', function (t) { t.end(); });\n",
        'test/named.js': "var tape = require('tape');\ntape('named', function (t) { t.end(); });\n",
      }),
    );
    assert.equal(runners[0]?.name, 'tape');
    assert.deepEqual(runners[0]?.testFiles, ['test/index.js', 'test/named.js']);
    assert.deepEqual(runners[0]?.sourceFiles, ['index.js']);
    // Without a script, the import alone tells; node-tap's `tap` is another runner and is not taken for tape.
    assert.deepEqual(await names({ 'test/a.js': "import test from 'tape';\ntest('a', (t) => t.end());\n" }), ['tape']);
    await assert.rejects(
      names({ 'package.json': JSON.stringify({ scripts: { test: 'tap test/*.js' } }), 'test/a.js': "test('a', () => {});\n" }),
      (e: unknown) => e instanceof NoTestRunnerError && /found node-tap \(package\.json scripts\.test: "tap test\/\*\.js"\): node-tap is not a supported/.test(e.message),
    );
  });

  it('JS: a root test.js holding the whole suite (ava\'s default) is found, and is no source file', async () => {
    const runners = await detectRunners(
      await repo({
        'package.json': JSON.stringify({ type: 'module', scripts: { test: 'xo && ava' }, devDependencies: { ava: '6' } }),
        'index.js': 'export default function up(s) { return s.toUpperCase(); }\n',
        'index.test-d.ts': "import {expectType} from 'tsd';\nimport up from './index.js';\nexpectType<string>(up('a'));\n",
        'test.js': "import test from 'ava';\nimport up from './index.js';\ntest('up', (t) => { t.is(up('a'), 'A'); });\n",
      }),
    );
    assert.equal(runners[0]?.name, 'ava');
    assert.deepEqual(runners[0]?.testFiles, ['test.js']);
    assert.deepEqual(runners[0]?.sourceFiles, ['index.js']);
  });

  it('JS: a runner ssr does not support is named in the no-test-runner reason', async () => {
    await assert.rejects(
      names({
        'package.json': JSON.stringify({ scripts: { test: 'uvu tests' }, devDependencies: { uvu: '0.5' } }),
        'src/a.js': 'export const a = 1;\n',
        'tests/a.js': "import { test } from 'uvu';\ntest('a', () => {});\ntest.run();\n",
      }),
      (e: unknown) => e instanceof NoTestRunnerError && e.message.includes('(found uvu (package.json scripts.test: "uvu tests"): uvu is not a supported test runner)'),
    );
  });

  it('jest and vitest: the config file a package\'s test script names, in any of its spellings', () => {
    const of = (scripts: Record<string, string>, runner: 'jest' | 'vitest' = 'jest') => Object.fromEntries(runnerConfigsFrom([{ dir: '.', scripts }], runner));
    assert.deepEqual(of({ test: 'yarn lint && jest --config test/jest.config.js' }), { '.': 'test/jest.config.js' });
    assert.deepEqual(of({ test: 'jest -c "config/jest.json" --coverage' }), { '.': 'config/jest.json' });
    assert.deepEqual(of({ test: 'npm run test:unit', 'test:unit': "jest --config='jest.unit.js'" }), { '.': 'jest.unit.js' });
    assert.deepEqual(of({ test: 'vitest run -c vite.test.config.ts' }, 'vitest'), { '.': 'vite.test.config.ts' });
    // Another command's --config (eslint's) is not the runner's; a script without one leaves jest to find its own.
    assert.deepEqual(of({ test: 'eslint --config .eslintrc.ci.js . && jest' }), {});
    assert.deepEqual(of({ test: 'jest --coverage' }), {});
  });

  it('node:test keeps the loader flags of the project test script', () => {
    assert.deepEqual(nodeLaunchFrom('node --import tsx --test --test-reporter=spec test/*.test.ts', true, true), {
      command: 'node',
      flags: ['--import', 'tsx'],
    });
    assert.deepEqual(nodeLaunchFrom('tsc && node --test --experimental-test-coverage dist/', false, false), {
      command: 'node',
      flags: [],
    });
    assert.deepEqual(nodeLaunchFrom('tsx --test src/**/*.test.ts', true, true), { command: 'tsx', flags: [] });
    assert.deepEqual(nodeLaunchFrom(undefined, true, true), { command: 'node', flags: ['--import', 'tsx'] });
  });

  it('ranks languages by how many test files they have', async () => {
    const found = await names({
      'go.mod': 'module x\n',
      'a/a_test.go': 'package a\nimport "testing"\nfunc TestA(t *testing.T) {}\n',
      'b/b_test.go': 'package b\nimport "testing"\nfunc TestB(t *testing.T) {}\n',
      'scripts/test_tool.py': 'def test_tool():\n    pass\n',
    });
    assert.deepEqual(found, ['go-test', 'pytest']);
  });

  it('go: only *_test.go files with Test functions, outside testdata', async () => {
    const [go] = await detectRunners(
      await repo({
        'go.mod': 'module x\n',
        'a/a.go': 'package a\n',
        'a/a_test.go': 'package a\nimport "testing"\nfunc TestA(t *testing.T) {}\n',
        'a/bench_test.go': 'package a\nimport "testing"\nfunc BenchmarkA(b *testing.B) {}\n',
        'a/testdata/x_test.go': 'package x\nimport "testing"\nfunc TestX(t *testing.T) {}\n',
        'vendor/v/v_test.go': 'package v\nimport "testing"\nfunc TestV(t *testing.T) {}\n',
      }),
    );
    assert.deepEqual(go?.testFiles, ['a/a_test.go']);
    assert.deepEqual(go?.sourceFiles, ['a/a.go']);
  });

  it('go: files the build constraints leave out of go test (ignore, an older toolchain, another OS, a custom tag) are neither tests nor sources', async () => {
    const test = (name: string, head = '') => `${head}package a\n\nimport "testing"\n\nfunc Test${name}(t *testing.T) {}\n`;
    const [go] = await detectRunners(
      await repo({
        'go.mod': 'module x\n\ngo 1.21\n',
        'a/a.go': '// Copyright line.\n\n//go:build go1.18\n// +build go1.18\n\npackage a\n',
        'a/old.go': '//go:build !go1.18\n// +build !go1.18\n\npackage a\n',
        'a/mem.go': '// +build ignore\n\npackage main\n',
        'a/sys_windows.go': 'package a\n',
        'a/sys_linux.go': 'package a\n',
        'a/either.go': '//go:build (linux || darwin) && !purego\n\npackage a\n',
        'a/old_plus.go': '// +build linux,!cgo darwin\n\npackage a\n',
        'a/a_test.go': test('A', '//go:build go1.18\n\n'),
        'a/int_test.go': test('Int', '//go:build integration\n\n'),
        'a/win_windows_test.go': test('Win'),
      }),
    );
    assert.deepEqual(go?.testFiles, ['a/a_test.go']);
    // This machine's go (linux, with cgo): `linux,!cgo darwin` holds neither term.
    assert.deepEqual(go?.sourceFiles.sort(), ['a/a.go', 'a/either.go', 'a/sys_linux.go']);
  });

  it('go: constraint expressions and file names as go/build reads them', async () => {
    const { goFileBuilds } = await import('../../src/repo/runners/gobuild.js');
    const env = { goos: 'linux', goarch: 'arm64', minor: 21, cgo: false };
    const cases: [string, string, boolean][] = [
      ['x.go', '//go:build go1.21 && unix\n\npackage x\n', true],
      ['x.go', '//go:build go1.22\n\npackage x\n', false],
      ['x.go', '//go:build !(amd64 || 386)\n\npackage x\n', true],
      ['x.go', '//go:build cgo\n\npackage x\n', false],
      ['x.go', '/* block\n comment */\n//go:build ignore\n\npackage x\n', false],
      // After the package clause a constraint is only a comment.
      ['x.go', 'package x\n\n//go:build ignore\n', true],
      // An expression that does not parse keeps the file: only what is known to be left out is.
      ['x.go', '//go:build linux &&\n\npackage x\n', true],
      ['x_linux_arm64.go', 'package x\n', true],
      ['x_linux_amd64_test.go', 'package x\n', false],
      ['linux.go', 'package x\n', true],
      ['x_windows.go', 'package x\n', false],
      ['x_arm64.go', 'package x\n', true],
    ];
    assert.deepEqual(cases.map(([f, t]) => goFileBuilds(f, t, env)), cases.map((c) => c[2]));
  });

  it('rust: tests/ targets and src files with inline tests; helper modules and target/ are not test targets', async () => {
    const [cargo] = await detectRunners(
      await repo({
        'Cargo.toml': '[workspace]\nmembers = ["crates/a"]\n',
        'crates/a/Cargo.toml': '[package]\nname = "a"\nversion = "0.1.0"\n',
        'crates/a/src/lib.rs': 'mod m;\npub mod plain;\n#[cfg(test)]\nmod tests { #[test] fn t() {} }\n',
        'crates/a/src/m/mod.rs': '#[test]\nfn in_m() {}\n',
        'crates/a/src/plain.rs': 'pub fn f() {}\n',
        'crates/a/tests/it.rs': '#[test]\nfn it() {}\n',
        'crates/a/tests/common/mod.rs': '#[test]\nfn helper() {}\n',
        'crates/a/tests/suite/main.rs': 'mod part;\n',
        'crates/a/tests/suite/part.rs': '#[tokio::test]\nasync fn part() {}\n',
        'target/debug/build/x.rs': '#[test]\nfn built() {}\n',
      }),
    );
    assert.equal(cargo?.name, 'cargo-test');
    assert.deepEqual(cargo?.testFiles, [
      'crates/a/src/lib.rs',
      'crates/a/src/m/mod.rs',
      'crates/a/tests/it.rs',
      'crates/a/tests/suite/part.rs',
    ]);
    assert.deepEqual(cargo?.sourceFiles, ['crates/a/src/lib.rs', 'crates/a/src/m/mod.rs', 'crates/a/src/plain.rs']);
    const script = cargo?.script(cargo.testFiles) ?? '';
    assert.match(script, /--manifest-path 'crates\/a\/Cargo.toml' '--lib' -- --color never 'm::'/);
    assert.match(script, /'--test' 'suite' -- --color never 'part::'/);
    assert.match(script, /'--test' 'it' -- --color never <\/dev\/null/);
  });
});

describe('detectRunners: rust modules the builds compile', () => {
  it('examples, benches, orphans and modules behind a cfg that does not hold are neither tests nor sources', async () => {
    const [cargo] = await detectRunners(
      await repo({
        'Cargo.toml': [
          '[package]', 'name = "a"', 'version = "0.1.0"', '',
          '[features]', 'default = ["std"]', 'std = ["alloc", "dep:libc"]', 'alloc = []', 'serde = ["dep:serde"]', 'nightly = []', '',
        ].join('\n'),
        'src/lib.rs': [
          '//! mod commented_out;', '/* mod also_not; */', 'const S: &str = "mod in_a_string;";',
          'mod core;', '#[cfg(feature = "std")]', 'pub mod io;', '#[cfg(feature = "serde")]', 'mod ser;',
          '#[cfg(all(feature = "alloc", not(feature = "nightly")))]', 'mod vec;', '#[cfg(windows)]', 'mod win;',
          '#[cfg(unix)]', 'mod sys;', '#[cfg(target_os = "macos")]', 'mod mac;', '#[cfg(some_custom_flag)]', 'mod custom;',
          '#[path = "gen/tables.rs"]', 'mod tables;', 'mod outer {', '    pub mod inner;', '    #[cfg(docsrs)]', '    mod docs;', '}',
          'include!("consts.rs");', '#[cfg(test)]', 'mod tests { #[test] fn t() {} }',
        ].join('\n'),
        'src/core.rs': 'pub(crate) mod deep;\n',
        'src/core/deep.rs': '#[test]\nfn deep() {}\n',
        'src/io/mod.rs': 'pub fn read() {}\n',
        'src/ser.rs': '#[test]\nfn ser() {}\n',
        'src/vec.rs': 'pub fn v() {}\n',
        'src/win.rs': '#[test]\nfn win() {}\n',
        'src/sys.rs': '#![cfg(feature = "nightly")]\nmod more;\n',
        'src/sys/more.rs': 'pub fn m() {}\n',
        'src/mac.rs': 'pub fn m() {}\n',
        'src/custom.rs': 'pub fn c() {}\n',
        'src/gen/tables.rs': 'pub fn t() {}\n',
        'src/outer/inner.rs': 'pub fn i() {}\n',
        'src/outer/docs.rs': 'pub fn d() {}\n',
        'src/consts.rs': 'pub const C: u8 = 1;\n',
        'src/orphan.rs': '#[test]\nfn orphan() {}\n',
        'src/bin/tool.rs': 'fn main() {}\n#[test]\nfn tool() {}\n',
        'examples/demo.rs': 'fn main() {}\n',
        'benches/b.rs': 'fn main() {}\n',
        'build.rs': 'fn main() {}\n',
        'tests/it.rs': '#[test]\nfn it() {}\n',
      }),
    );
    assert.deepEqual(cargo?.testFiles, ['src/bin/tool.rs', 'src/core/deep.rs', 'src/lib.rs', 'tests/it.rs']);
    // custom.rs: a cfg this does not know is kept, as is anything it cannot tell.
    assert.deepEqual(cargo?.sourceFiles.sort(), [
      'src/bin/tool.rs', 'src/consts.rs', 'src/core.rs', 'src/core/deep.rs', 'src/custom.rs', 'src/gen/tables.rs', 'src/io/mod.rs',
      'src/lib.rs', 'src/outer/inner.rs', 'src/vec.rs',
    ]);
  });

  it('a crate of the workspace that no tested crate depends on (benches, fuzz targets, a helper binary) gives no sources', async () => {
    const [cargo] = await detectRunners(
      await repo({
        'Cargo.toml': [
          '[package]', 'name = "a"', 'version = "0.1.0"', '', '[workspace]', 'members = ["."]', 'exclude = ["benches", "fuzz", "util"]', '',
          '[workspace.dependencies]', 'shared = { path = "crates/shared" }', '',
          '[dependencies]', 'core2 = { path = "crates/core2", package = "a-core" }', 'shared = { workspace = true }', '',
        ].join('\n'),
        'src/lib.rs': 'pub fn f() -> u8 { a_core::g() }\n#[cfg(test)]\nmod tests { #[test] fn t() {} }\n',
        'tests/it.rs': '#[test]\nfn it() {}\n',
        'crates/core2/Cargo.toml': '[package]\nname = "a-core"\nversion = "0.1.0"\n\n[dependencies.inner]\npath = "../inner"\n',
        'crates/core2/src/lib.rs': 'pub fn g() -> u8 { inner::h() }\n',
        'crates/inner/Cargo.toml': '[package]\nname = "inner"\nversion = "0.1.0"\n',
        'crates/inner/src/lib.rs': 'pub fn h() -> u8 { 1 }\n',
        'crates/shared/Cargo.toml': '[package]\nname = "shared"\nversion = "0.1.0"\n',
        'crates/shared/src/lib.rs': 'pub fn s() {}\n',
        // Bench targets only, at paths of their own under src/: no lib, no test target.
        'benches/Cargo.toml': '[package]\nname = "benches"\nversion = "0.0.0"\n\n[dependencies]\na = { path = ".." }\n\n[[bench]]\nname = "b"\npath = "src/b.rs"\n',
        'benches/src/b.rs': 'fn main() { a::f(); }\n',
        'fuzz/Cargo.toml': '[package]\nname = "a-fuzz"\nversion = "0.0.0"\n\n[dependencies.a]\npath = ".."\n\n[[bin]]\nname = "fuzz_a"\npath = "fuzz_targets/fuzz_a.rs"\n',
        'fuzz/fuzz_targets/fuzz_a.rs': 'fn main() { a::f(); }\n',
        'util/Cargo.toml': '[package]\nname = "util"\nversion = "0.0.0"\n',
        'util/src/main.rs': 'fn main() {}\n',
      }),
    );
    assert.deepEqual(cargo?.testFiles, ['src/lib.rs', 'tests/it.rs']);
    assert.deepEqual(cargo?.sourceFiles.sort(), ['crates/core2/src/lib.rs', 'crates/inner/src/lib.rs', 'crates/shared/src/lib.rs', 'src/lib.rs']);
  });

  it('cfg predicates and default features as cargo test sees them', async () => {
    const { evalCfg, defaultFeatures } = await import('../../src/repo/runners/rustmods.js');
    const env = { features: new Set(['std']), os: 'linux', arch: 'x86_64' };
    const cases: [string, boolean | null][] = [
      ['feature = "std"', true], ['feature = "serde"', false], ['not(feature = "std")', false], ['any(windows, unix)', true],
      ['all(unix, target_pointer_width = "64")', true], ['target_arch = "aarch64"', false], ['any(feature = "std", my_flag)', true],
      ['all(feature = "std", my_flag)', null], ['my_flag', null], ['test', true], ['docsrs', false], ['target_family = "wasm"', false],
    ];
    assert.deepEqual(cases.map(([p]) => evalCfg(p, env)), cases.map((c) => c[1]));
    assert.deepEqual([...defaultFeatures('[features]\ndefault = ["a", "x/y"]\na = ["b", "dep:z", "c?/d"]\nb = []\nunused = []\n')!].sort(), ['a', 'b']);
    assert.deepEqual([...defaultFeatures('[package]\nname = "p"\n')!], []);
  });
});

describe('detectRunners: maven', () => {
  const pom = (modules: string[] = []): string =>
    `<project><modelVersion>4.0.0</modelVersion><groupId>g</groupId><artifactId>a</artifactId><version>1</version>${
      modules.length ? `<packaging>pom</packaging><modules>${modules.map((m) => `<module>${m}</module>`).join('')}</modules>` : ''
    }</project>`;
  const test5 = (pkg: string, cls: string): string => `package ${pkg};\nimport org.junit.jupiter.api.Test;\nclass ${cls} {\n  @Test void t() {}\n}\n`;

  it('a root pom.xml with src/test/java test classes holding @Test; *IT, helpers and test-less classes are not run', async () => {
    const [mvn, ...rest] = await detectRunners(
      await repo({
        'pom.xml': pom(),
        'src/main/java/a/A.java': 'package a;\npublic class A {}\n',
        'src/test/java/a/ATest.java': test5('a', 'ATest'),
        'src/test/java/a/TestB.java': test5('a', 'TestB'),
        'src/test/java/a/CTests.java': test5('a', 'CTests'),
        'src/test/java/a/ServerIT.java': test5('a', 'ServerIT'),
        'src/test/java/a/Helper.java': 'package a;\nclass Helper { /* @Test in a comment */ }\n',
        'src/test/java/a/NoTestsTest.java': 'package a;\nclass NoTestsTest {}\n',
        'target/test-classes/a/OldTest.java': test5('a', 'OldTest'),
      }),
    );
    assert.deepEqual(rest, []);
    assert.equal(mvn?.name, 'maven');
    assert.equal(mvn?.language, 'java');
    assert.deepEqual(mvn?.testFiles, ['src/test/java/a/ATest.java', 'src/test/java/a/CTests.java', 'src/test/java/a/TestB.java']);
    assert.deepEqual(mvn?.sourceFiles, ['src/main/java/a/A.java']);
  });

  it('multi-module: only modules the reactor reaches (nested, ../ paths, comments) hold runnable tests', async () => {
    const [mvn] = await detectRunners(
      await repo({
        'pom.xml': pom(['core', 'apps']).replace('<modules>', '<modules><!-- <module>old</module> -->'),
        'core/pom.xml': pom(),
        'core/src/main/java/c/C.java': 'package c;\npublic class C {}\n',
        'core/src/test/java/c/CTest.java': test5('c', 'CTest'),
        'apps/pom.xml': pom(['web/', '../tools/pom.xml']),
        'apps/web/pom.xml': pom(),
        'apps/web/src/test/java/w/WebTest.java': test5('w', 'WebTest'),
        'tools/pom.xml': pom(),
        'tools/src/test/java/t/ToolTest.java': test5('t', 'ToolTest'),
        'old/pom.xml': pom(),
        'old/src/test/java/o/OldTest.java': test5('o', 'OldTest'),
        'samples/pom.xml': pom(),
        'samples/src/test/java/s/SampleTest.java': test5('s', 'SampleTest'),
      }),
    );
    assert.deepEqual(mvn?.testFiles, [
      'apps/web/src/test/java/w/WebTest.java',
      'core/src/test/java/c/CTest.java',
      'tools/src/test/java/t/ToolTest.java',
    ]);
    assert.deepEqual(mvn?.sourceFiles, ['core/src/main/java/c/C.java']);
    const script = mvn?.script(mvn.testFiles) ?? '';
    assert.match(script, /mvn -o -B -q /);
    assert.match(script, /-Dsurefire\.failIfNoSpecifiedTests=false/);
  });

  it("a class the project's surefire <excludes> leave out (a parent's too) is no test file; a profile's excludes do not count", async () => {
    const surefire = (excludes: string[]): string =>
      `<build><plugins><plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-surefire-plugin</artifactId><configuration><excludes>${
        excludes.map((e) => `<exclude>${e}</exclude>`).join('')}</excludes></configuration></plugin></plugins></build>`;
    const profile = `<profiles><profile><id>all</id>${surefire(['**/*Test.java'])}</profile></profiles>`;
    const [mvn] = await detectRunners(
      await repo({
        'pom.xml': pom(['core']).replace('</project>', `${surefire(['**/LR*.java', '%regex[.*Slow.*]'])}${profile}</project>`),
        'core/pom.xml': pom().replace('</project>', `${surefire(['c/Flaky*', '**/Heavy*.class'])}</project>`),
        'core/src/test/java/c/CTest.java': test5('c', 'CTest'),
        'core/src/test/java/c/LRBigTest.java': test5('c', 'LRBigTest'),
        'core/src/test/java/c/FlakyNetTest.java': test5('c', 'FlakyNetTest'),
        'core/src/test/java/c/deep/HeavyTest.java': test5('c.deep', 'HeavyTest'),
        'core/src/test/java/c/deep/FlakyTest.java': test5('c.deep', 'FlakyTest'),
      }),
    );
    assert.deepEqual(mvn?.testFiles, ['core/src/test/java/c/CTest.java', 'core/src/test/java/c/deep/FlakyTest.java']);
  });

  it('no pom.xml, no maven; a Gradle-only build is named in the error', async () => {
    const files = { 'src/test/java/a/ATest.java': test5('a', 'ATest'), 'src/main/java/a/A.java': 'package a;\nclass A {}\n' };
    await assert.rejects(detectRunners(await repo(files)), NoTestRunnerError);
    await assert.rejects(detectRunners(await repo({ ...files, 'build.gradle.kts': 'plugins { java }\n' })), (err: unknown) => {
      assert.ok(err instanceof NoTestRunnerError);
      assert.match(err.message, /Gradle projects are not supported/);
      return true;
    });
  });
});

describe('generated scripts', () => {
  it('are valid bash, start with the shebang, and refuse paths outside the repository', async () => {
    for (const name of Object.keys(PROJECTS) as RunnerName[]) {
      const dir = await makeRepo(PROJECTS[name]);
      dirs.push(dir);
      const runner = (await detectRunners(dir, { pythonHasPytest: true })).find((r) => r.name === name);
      assert.ok(runner);
      const script = runner.script(runner.testFiles);
      assert.ok(script.startsWith('#!/usr/bin/env bash\n'), name);
      assert.match(script, /^set -u$/m);
      assert.doesNotMatch(script, /^set -e/m);
      const check = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
      assert.equal(check.status, 0, `${name}: ${check.stderr}`);
      assert.throws(() => runner.script(['../outside_test.py']), /relative to the repository root/);
      assert.throws(() => runner.script(['/etc/passwd']), /relative/);
      assert.throws(() => runner.script(['a\n@@ssr-file b']), /relative/);
      const quoted = runner.script(["tests/it's a test.py"]);
      assert.equal(spawnSync('bash', ['-n'], { input: quoted }).status, 0, name);
    }
  });

  it('with no test files, run cleanly and parse to {}', async () => {
    const dir = await makeRepo(PROJECTS['go-test']);
    dirs.push(dir);
    for (const runner of await detectRunners(dir)) {
      const run = spawnSync('bash', ['-c', runner.script([])], { cwd: dir, encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(runParser(runner.parser(), run.stdout + run.stderr).map, {});
    }
  });
});

describe('detectRunners: ctest', () => {
  const lib = { 'include/m.h': 'int twice(int x);\n', 'src/m.c': '#include "m.h"\nint twice(int x) { return 2 * x; }\n' };
  const cTest = '#include <assert.h>\n#include "m.h"\nint main(void) { assert(twice(2) == 4); return 0; }\n';
  const gTest = '#include <gtest/gtest.h>\nTEST(M, Twice) { EXPECT_EQ(2, 2); }\n';

  it('a root CMakeLists.txt enabling tests: test targets\' sources and test-named files holding tests; the rest is source', async () => {
    const [ct, ...rest] = await detectRunners(
      await repo({
        ...lib,
        'CMakeLists.txt': [
          'project(m C CXX)',
          '# add_test(NAME commented COMMAND old_test)',
          'set(CHECK_SOURCES checks/run_checks.c checks/helpers.c)',
          'add_library(m src/m.c)',
          'enable_testing()',
          'add_executable(run_checks ${CHECK_SOURCES})',
          'add_test(NAME checks COMMAND $<TARGET_FILE:run_checks> --all)',
          'add_subdirectory(tests)',
        ].join('\n'),
        'tests/CMakeLists.txt': 'add_executable(unit m_unittest.cc)\ngtest_discover_tests(unit)\n',
        'checks/run_checks.c': cTest,
        'checks/helpers.c': 'int helper(void) { return 1; }\n',
        'tests/m_unittest.cc': gTest,
        'tests/test_extra.c': cTest,
        'tests/fixture_data.h': '#define N 3\n',
        'src/cli_test_helpers.c': 'int nothing_here(void) { return 0; }\n',
        'fuzzing/fuzz_parse.c': 'int LLVMFuzzerTestOneInput(const char *d, int n) { return 0; }\n',
        'examples/demo.c': 'int main(void) { return 0; }\n',
        // A program beside the library (a header-only library's src/example.cpp): no test links its main, so it is no place for a bug.
        'src/tool.cc': '#include "m.h"\nint main(int argc, char** argv) { return argc; }\n',
        // A test framework's single header copied into the tests defines TEST_CASE: neither a test nor code.
        'tests/catch.hpp': '#define TEST_CASE(...) static void f()\n',
        'tests/doctest.h': '#define TEST_CASE(name) static void g()\n',
        'third_party/gtest/src/gtest_test.cc': gTest,
        'build/old_test.c': cTest,
      }),
    );
    assert.deepEqual(rest, []);
    assert.equal(ct?.name, 'ctest');
    assert.equal(ct?.language, 'cpp');
    // helpers.c is a source of the test target run_checks, so it is part of the tests (and never a place for a bug).
    assert.deepEqual(ct?.testFiles, ['checks/helpers.c', 'checks/run_checks.c', 'tests/m_unittest.cc', 'tests/test_extra.c']);
    assert.deepEqual(ct?.sourceFiles, ['include/m.h', 'src/cli_test_helpers.c', 'src/m.c']);
  });

  it('a C-only project is language c; the script configures outside the tree with Ninja and a Debug build', async () => {
    const [ct] = await detectRunners(await repo({
      ...lib,
      'CMakeLists.txt': 'project(m C)\ninclude(CTest)\noption(M_BUILD_TESTS "tests" OFF)\noption(M_TEST_COVERAGE "gcov" OFF)\noption(M_EXAMPLES "ex" ON)\nif(M_BUILD_TESTS)\nadd_executable(t tests/t.c)\nadd_test(t t)\nendif()\n',
      'tests/t.c': cTest,
    }));
    assert.equal(ct?.name, 'ctest');
    assert.equal(ct?.language, 'c');
    const script = ct?.script(ct.testFiles) ?? '';
    // The project's own switch for its tests is turned on; a coverage switch is not.
    assert.match(script, /cmake -S \. -B "\$ssr_build" .*-DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTING=ON .*-DM_BUILD_TESTS=ON -Wno-dev/);
    // GoogleTest declared with FetchContent comes from the system's sources where they exist (the sandbox is offline).
    assert.match(script, /-DFETCHCONTENT_SOURCE_DIR_GOOGLETEST=\/usr\/src\/googletest/);
    assert.match(script, /ssr_build="\$\{SSR_CMAKE_BUILD_DIR:-\/tmp\/ssr-cmake-/);
    assert.match(script, /ctest --test-dir "\$ssr_build" --output-junit "\$ssr_tmp\/junit.xml" --timeout/);
  });

  it('a vendored dependency\'s own tests in another language do not outrank the project\'s (a checked-out googletest)', async () => {
    const vendoredPy = Object.fromEntries(['a', 'b', 'c'].map((n) => [`third_party/googletest/googletest/test/gtest_${n}_test.py`, 'def test_x():\n    assert True\n']));
    const found = await detectRunners(await repo({
      ...lib,
      ...vendoredPy,
      'CMakeLists.txt': 'project(m CXX)\nenable_testing()\nadd_subdirectory(third_party/googletest)\nadd_executable(t tests/m_test.cc)\nadd_test(NAME t COMMAND t)\n',
      'tests/m_test.cc': gTest,
    }));
    assert.equal(found[0]?.name, 'ctest');
  });

  it('a test program\'s other sources under tests/ are tests, however named, where its add_test sits in a CMake module', async () => {
    const [ct] = await detectRunners(await repo({
      ...lib,
      'cmake/Tests.cmake': 'function(add_unit list unit name)\n  add_test(NAME "${unit}_${name}" COMMAND ${TARGET_${list}} ${unit} ${name})\nendfunction()\n',
      'CMakeLists.txt': 'project(m C)\ninclude(cmake/Tests.cmake)\nenable_testing()\nset(TEST_DIRECTORY ${PROJECT_SOURCE_DIR}/test)\nadd_unit(ALL twice small)\nadd_executable(unit_runner "${TEST_DIRECTORY}/main.c" "${TEST_DIRECTORY}/twice.c" src/m.c)\n',
      'test/main.c': '#include "tests.h"\nint main(int argc, char **argv) { return run(argc, argv); }\n',
      'test/twice.c': '#include "m.h"\nint twice_small(void) { return twice(1) == 2 ? 0 : 1; }\n',
    }));
    assert.deepEqual(ct?.testFiles, ['test/main.c', 'test/twice.c']);
    assert.deepEqual(ct?.sourceFiles, ['include/m.h', 'src/m.c']);
  });

  it('tests guarded by a variable nothing sets (if(ENABLE_TESTS), which CI passes with -D) are switched on', async () => {
    const [ct] = await detectRunners(await repo({
      ...lib,
      'CMakeLists.txt': [
        'project(m C)',
        'include(CTest)',
        'set(HAVE_TESTS_DIR ON)',
        'if(TARGET unit_tests OR HAVE_TESTS_DIR)\nendif()',
        'if(BUILD_TESTING AND ENABLE_TESTS)',
        '  add_executable(t tests/t.c)\n  add_test(t t)',
        'elseif(NOT M_DISABLE_TESTS)',
        'endif()',
      ].join('\n'),
      'tests/t.c': cTest,
    }));
    const flags = [...(ct?.script(ct.testFiles) ?? '').matchAll(/ -D(\w+)=ON/g)].map((m) => m[1]);
    assert.deepEqual(flags, ['BUILD_TESTING', 'ENABLE_TESTS']);
  });

  it('CMake without tests, or tests only in vendored code, is no ctest project', async () => {
    await assert.rejects(detectRunners(await repo({ ...lib, 'CMakeLists.txt': 'project(m C)\nadd_library(m src/m.c)\n', 'tests/t.c': cTest })), NoTestRunnerError);
    await assert.rejects(
      detectRunners(await repo({ ...lib, 'CMakeLists.txt': 'project(m C)\nadd_subdirectory(third_party/x)\n', 'third_party/x/CMakeLists.txt': 'enable_testing()\nadd_test(NAME x COMMAND x)\n', 'third_party/x/x_test.c': cTest })),
      NoTestRunnerError,
    );
  });

  it('tests declared in foreach() loops and run through their build path; a framework copied under tests/ is not the project\'s', async () => {
    const [ct] = await detectRunners(
      await repo({
        ...lib,
        'CMakeLists.txt': 'project(m C)\nenable_testing()\nset(T_SELF self_check)\nadd_executable("${T_SELF}" self.c)\nadd_test(NAME ${T_SELF} COMMAND "${CMAKE_CURRENT_BINARY_DIR}/${T_SELF}")\nadd_subdirectory(tests)\n',
        'self.c': cTest,
        'tests/CMakeLists.txt': 'set(unit_tests parse_a parse_b)\nforeach(t ${unit_tests})\n  add_executable("${t}" "${t}.c")\n  add_test(NAME "${t}" COMMAND "./${t}")\nendforeach()\n',
        'tests/parse_a.c': '#include "unity.h"\nstatic void parses(void) { TEST_ASSERT_EQUAL(1, 1); }\nint CDECL main(void) { UNITY_BEGIN(); RUN_TEST(parses); return UNITY_END(); }\n',
        'tests/parse_b.c': '#include "unity.h"\nstatic void parses(void) { TEST_ASSERT_EQUAL(2, 2); }\n',
        'tests/unity/src/unity.c': 'void UnityBegin(void) {}\n',
        'tests/unity/docs/license.txt': 'MIT\n',
        'tests/unity/test/test_unity_core.c': cTest,
      }),
    );
    assert.deepEqual(ct?.testFiles, ['self.c', 'tests/parse_a.c', 'tests/parse_b.c']);
    assert.deepEqual(ct?.sourceFiles, ['include/m.h', 'src/m.c']);
  });

  it('a Makefile-only C project says that only CMake/CTest is supported', async () => {
    await assert.rejects(detectRunners(await repo({ ...lib, Makefile: 'test:\n\t./run_tests\n', 'tests/test_m.c': cTest })), (err: unknown) => {
      assert.ok(err instanceof NoTestRunnerError);
      assert.match(err.message, /only CMake\/CTest builds are supported for C and C\+\+/);
      return true;
    });
  });
});
