/**
 * The ctest runner end to end in the real local sandbox, on the four CMake fixture projects (plain C programs with
 * add_test; C++ with GoogleTest and gtest_discover_tests; C++ with GoogleTest programs each registered as one plain
 * add_test, and with a Catch2 and a doctest program, each one ctest test: all reported case by case): detection, the generated script and parser run the way
 * the checks run them (runTestScript), with the build directory under the sandbox's /tmp. Without cmake, ninja, a
 * compiler or GoogleTest the tests fail and say what to install.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalSandboxProvider } from '../../src/sandbox/local.js';
import type { Sandbox } from '../../src/sandbox/types.js';
import { findExecutable } from '../../src/sandbox/bwrap.js';
import { detectRunners, type Runner } from '../../src/repo/runners/index.js';
import { runTestScript } from '../../src/repo/testrun.js';
import { findTests } from '../../src/agents/code/testsites.js';
import { cleanup, makeBase, tempDir, treeChecksum } from './helpers.js';

const HOW = 'apt-get install cmake ninja-build g++ libgtest-dev catch2 doctest-dev';
const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/runners');

function need(...packages: ('GTest' | 'Catch2' | 'doctest')[]): void {
  for (const cmd of ['cmake', 'ctest', 'ninja', 'cc', 'c++']) if (!findExecutable(cmd)) assert.fail(`${cmd} is missing: ${HOW}`);
  for (const pkg of packages) {
    const config = ['/usr/lib/x86_64-linux-gnu/cmake', '/usr/lib/aarch64-linux-gnu/cmake', '/usr/lib/cmake', '/usr/local/lib/cmake'].map((d) => `${d}/${pkg}`);
    if (!config.some((d) => existsSync(d))) assert.fail(`${pkg} is not installed: ${HOW}`);
  }
}

function filesOf(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[path.relative(dir, p)] = readFileSync(p, 'utf8');
    }
  };
  walk(dir);
  return out;
}

interface Project { base: string; sb: Sandbox; runner: Runner }
let stateDir = '';
const projects: Record<string, Project> = {};

async function project(name: 'cmake-c' | 'cmake-gtest' | 'cmake-gtest-plain' | 'cmake-catch'): Promise<Project> {
  const base = await makeBase(filesOf(path.join(FIXTURES, name)));
  const git = (...args: string[]): void => void execFileSync('git', args, { cwd: base, stdio: 'ignore' });
  git('init', '-q');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'fixture');
  const found = await detectRunners(base);
  assert.equal(found[0]?.name, 'ctest');
  const sb = await new LocalSandboxProvider({ stateDir, isolation: 'bwrap', defaults: { timeoutMs: 240_000 } }).create({ base });
  return { base, sb, runner: found[0]! };
}

before(async () => {
  stateDir = await tempDir('state');
  projects.c = await project('cmake-c');
  projects.gtest = await project('cmake-gtest');
  projects.gtestPlain = await project('cmake-gtest-plain');
  projects.catch = await project('cmake-catch');
});
after(async () => {
  for (const p of Object.values(projects)) {
    await p.sb.dispose();
    await cleanup(path.dirname(p.base));
  }
  await cleanup(stateDir);
});

test('ctest, C: per-test results from the sandbox, a selection, a bug and a compile error; the tree is left as it was', async () => {
  need();
  const { base, sb, runner } = projects.c!;
  assert.equal(runner.language, 'c');
  assert.deepEqual(runner.testFiles, ['tests/test_calc.c', 'tests/test_text.c']);
  const before = await treeChecksum(base);
  const run = await runTestScript(sb, runner.script(runner.testFiles), runner.parser(), 240_000);
  assert.equal(run.parserError, null, run.log);
  assert.deepEqual(run.results, {
    'tests/test_calc.c::main': 'passed',
    'tests/test_calc.c::test_add': 'passed',
    'tests/test_calc.c::test_clamp': 'passed',
    'tests/test_calc.c::test_even': 'passed',
    'tests/test_calc.c::test_sum': 'passed',
    'tests/test_text.c::test_count': 'passed',
    'tests/test_text.c::test_upper': 'passed',
  }, run.log);
  // CMake built under the sandbox's /tmp: nothing in the work dir for git to see, the base untouched.
  assert.equal((await sb.exec('git status --porcelain --ignored')).stdout, '');
  assert.equal(await treeChecksum(base), before);

  const one = await runTestScript(sb, runner.script(['tests/test_text.c']), runner.parser(), 240_000);
  assert.deepEqual(one.results, { 'tests/test_text.c::test_count': 'passed', 'tests/test_text.c::test_upper': 'passed' }, one.log);

  const calc = (await sb.readFile('src/calc.c')).toString();
  await sb.writeFile('src/calc.c', calc.replace('return x % 2 == 0;', 'return x % 2 == 1;'));
  const bug = await runTestScript(sb, runner.script(runner.testFiles), runner.parser(), 240_000);
  assert.equal(bug.results['tests/test_calc.c::test_even'], 'failed', bug.log);
  assert.equal(bug.results['tests/test_calc.c::main'], 'failed', bug.log);
  assert.equal(bug.results['tests/test_calc.c::test_add'], 'passed', bug.log);

  // A compile error in the library fails every test with the compiler's message, never a stale binary's pass.
  await sb.writeFile('src/calc.c', calc.replace('return a + b;', 'return a + ;'));
  const broken = await runTestScript(sb, runner.script(runner.testFiles), runner.parser(), 240_000);
  assert.ok(Object.keys(broken.results).length > 0, broken.log);
  for (const [id, status] of Object.entries(broken.results)) assert.equal(status, 'failed', `${id}\n${broken.log}`);
  assert.match(broken.log, /src\/calc\.c:\d+:\d+: error/);
  await sb.writeFile('src/calc.c', calc);
});

test('ctest, C++: GoogleTest tests discovered one by one and attributed to their files', async () => {
  need('GTest');
  const { sb, runner } = projects.gtest!;
  assert.equal(runner.language, 'cpp');
  const run = await runTestScript(sb, runner.script(runner.testFiles), runner.parser(), 240_000);
  assert.deepEqual(run.results, {
    'tests/shapes_test.cpp::DescribeTest.Square': 'passed',
    'tests/shapes_test.cpp::DescribeTest.Wide': 'passed',
    'tests/shapes_test.cpp::Rect.Area': 'passed',
    'tests/shapes_test.cpp::Rect.Perimeter': 'passed',
    'tests/shapes_test.cpp::Rect.Square': 'passed',
    'tests/stats_test.cpp::Stats.Max': 'passed',
    'tests/stats_test.cpp::Stats.Mean': 'passed',
    'tests/stats_test.cpp::TotalTest.LastIsSum': 'passed',
  }, run.log);
  const stats = (await sb.readFile('src/stats.cpp')).toString();
  await sb.writeFile('src/stats.cpp', stats.replace('acc += x;', 'acc -= x;'));
  const one = await runTestScript(sb, runner.script(['tests/stats_test.cpp']), runner.parser(), 240_000);
  assert.deepEqual(one.results, {
    'tests/stats_test.cpp::Stats.Max': 'passed',
    'tests/stats_test.cpp::Stats.Mean': 'passed',
    'tests/stats_test.cpp::TotalTest.LastIsSum': 'failed',
  }, one.log);
  assert.match(one.log, /--- FAIL Sizes\/TotalTest\.LastIsSum\/\d/);
  await sb.writeFile('src/stats.cpp', stats);
});

const GTEST_PLAIN_ALL = {
  'tests/bits_test.cpp::Popcount.AllOnes': 'passed',
  'tests/bits_test.cpp::Popcount.Small': 'passed',
  'tests/bits_test.cpp::PowerTest.ShiftedOne': 'passed',
  'tests/bits_test.cpp::ReverseTest.Twice': 'passed',
  'tests/parity_test.cpp::Parity.Even': 'passed',
  'tests/parity_test.cpp::Parity.Odd': 'passed',
  'tests/span_test.cpp::Clamp.Inside': 'passed',
  'tests/span_test.cpp::Clamp.Outside': 'passed',
  'tests/span_test.cpp::WindowTest.Pairs': 'passed',
  'tests/span_test.cpp::WindowTest.TooWide': 'passed',
} as const;

test('ctest, C++: a GoogleTest program registered by a plain add_test gives one result per TEST, named as its site', async () => {
  need('GTest');
  const { sb, runner } = projects.gtestPlain!;
  assert.equal(runner.language, 'cpp');
  assert.deepEqual(runner.testFiles, ['tests/bits_test.cpp', 'tests/parity_test.cpp', 'tests/span_test.cpp']);
  const run = await runTestScript(sb, runner.script(runner.testFiles), runner.parser(), 240_000);
  assert.equal(run.parserError, null, run.log);
  // A parameterized or typed test's instances are one result, under the name of the TEST that defines them.
  assert.deepEqual(run.results, GTEST_PLAIN_ALL, run.log);
  // Each result is a site the injector can weaken alone: the test-site finder names the same tests.
  for (const file of runner.testFiles) {
    const sites = (await findTests('cpp', (await sb.readFile(file)).toString())).map((s) => s.name).filter((n) => n !== 'main');
    const ran: string[] = Object.keys(run.results).filter((id) => id.startsWith(`${file}::`)).map((id) => id.slice(file.length + 2));
    assert.deepEqual(ran.sort(), sites.filter((n) => !n.includes('DISABLED_')).sort(), file);
  }

  // A bug fails the one TEST that sees it; a selection runs only the selected file's tests of the shared program.
  const span = (await sb.readFile('src/span.cpp')).toString();
  await sb.writeFile('src/span.cpp', span.replace('if (v > hi) return hi;', 'if (v > hi) return v;'));
  const one = await runTestScript(sb, runner.script(['tests/span_test.cpp']), runner.parser(), 240_000);
  assert.deepEqual(one.results, {
    'tests/span_test.cpp::Clamp.Inside': 'passed',
    'tests/span_test.cpp::Clamp.Outside': 'failed',
    'tests/span_test.cpp::WindowTest.Pairs': 'passed',
    'tests/span_test.cpp::WindowTest.TooWide': 'passed',
  }, one.log);
  assert.match(one.log, /--- FAIL tests\/span_test\.cpp::Clamp\.Outside\n(?:.*\n)*.*span_test\.cpp:11/);
  assert.doesNotMatch(one.log, /Popcount|Parity/);
  await sb.writeFile('src/span.cpp', span);
});

test('ctest, C++: a GoogleTest TEST that crashes its plain add_test program fails alone; one that does not compile fails them all', async () => {
  need('GTest');
  const { sb, runner } = projects.gtestPlain!;
  const bits = (await sb.readFile('src/bits.cpp')).toString();
  // popcount() aborts on all ones (SIGABRT): Popcount.AllOnes only; parity() (its own main, behind a wrapper) too.
  await sb.writeFile('src/bits.cpp', bits
    .replace('#include "bits.hpp"', '#include "bits.hpp"\n#include <cstdlib>')
    .replace('int n = 0;', 'int n = 0;\n  if (x == 0xFFFFFFFFu || x == 7u) std::abort();'));
  const run = await runTestScript(sb, runner.script(runner.testFiles), runner.parser(), 240_000);
  assert.deepEqual(run.results, {
    ...GTEST_PLAIN_ALL,
    'tests/bits_test.cpp::Popcount.AllOnes': 'failed',
    'tests/parity_test.cpp::Parity.Odd': 'failed',
  }, run.log);
  assert.match(run.log, /Popcount\.AllOnes: the program stopped in this test/);

  await sb.writeFile('src/bits.cpp', bits.replace('return r;', 'return r'));
  const broken = await runTestScript(sb, runner.script(['tests/bits_test.cpp', 'tests/parity_test.cpp']), runner.parser(), 240_000);
  assert.deepEqual(broken.results, {
    'tests/bits_test.cpp::Popcount.AllOnes': 'failed',
    'tests/bits_test.cpp::Popcount.Small': 'failed',
    'tests/bits_test.cpp::PowerTest.ShiftedOne': 'failed',
    'tests/bits_test.cpp::ReverseTest.Twice': 'failed',
    'tests/parity_test.cpp::Parity.Even': 'failed',
    'tests/parity_test.cpp::Parity.Odd': 'failed',
  }, broken.log);
  assert.match(broken.log, /src\/bits\.cpp:\d+:\d+: error/);
  await sb.writeFile('src/bits.cpp', bits);
});

const CATCH_ALL = {
  'tests/clamp_test.cpp::clamp leaves values inside the range': 'passed',
  'tests/clamp_test.cpp::clamp lowers values above the range': 'passed',
  'tests/clamp_test.cpp::clamp raises values below the range': 'passed',
  'tests/ring_test.cpp::Scenario: a ring of one slot': 'passed',
  'tests/ring_test.cpp::head, of a list [with brackets], gives the first value': 'passed',
  'tests/ring_test.cpp::wrap counts negative values backwards': 'passed',
  'tests/ring_test.cpp::wrap keeps values in range': 'passed',
  'tests/words_test.cpp::count_words skips runs of spaces': 'passed',
  'tests/words_test.cpp::shout upper-cases and adds a mark': 'passed',
  'tests/words_test.cpp::split keeps empty fields': 'passed',
} as const;

test('ctest, C++: a Catch2 and a doctest program, one ctest test each, give one result per test case, attributed to its file', async () => {
  need('Catch2', 'doctest');
  const { sb, runner } = projects.catch!;
  assert.equal(runner.language, 'cpp');
  assert.deepEqual(runner.testFiles, ['tests/clamp_test.cpp', 'tests/main.cpp', 'tests/ring_test.cpp', 'tests/words_test.cpp']);
  const run = await runTestScript(sb, runner.script(runner.testFiles), runner.parser(), 240_000);
  assert.equal(run.parserError, null, run.log);
  assert.deepEqual(run.results, CATCH_ALL, run.log);

  // A selection runs only the selected files' cases: words_test.cpp shares its program with ring_test.cpp.
  const words = (await sb.readFile('src/words.cpp')).toString();
  await sb.writeFile('src/words.cpp', words.replace('std::size_t n = 0;', 'std::size_t n = 1;'));
  const one = await runTestScript(sb, runner.script(['tests/words_test.cpp', 'tests/clamp_test.cpp']), runner.parser(), 240_000);
  assert.deepEqual(one.results, {
    'tests/clamp_test.cpp::clamp leaves values inside the range': 'passed',
    'tests/clamp_test.cpp::clamp lowers values above the range': 'passed',
    'tests/clamp_test.cpp::clamp raises values below the range': 'passed',
    'tests/words_test.cpp::count_words skips runs of spaces': 'failed',
    'tests/words_test.cpp::shout upper-cases and adds a mark': 'passed',
    'tests/words_test.cpp::split keeps empty fields': 'passed',
  }, one.log);
  assert.match(one.log, /--- FAIL tests\/words_test\.cpp::count_words skips runs of spaces\n.*words_test\.cpp:11:.*CHECK/);
  // The selection was made in the program (Catch2's test names): ring_test.cpp's cases never ran.
  assert.doesNotMatch(one.log, /ring_test/);
  await sb.writeFile('src/words.cpp', words);
});

test('ctest, C++: a Catch2 or doctest case that crashes the program fails alone, the cases after it still run', async () => {
  need('Catch2', 'doctest');
  const { sb, runner } = projects.catch!;
  const ring = (await sb.readFile('src/ring.cpp')).toString();
  // head() aborts (SIGABRT) in the Catch2 program; clamp() dereferences null (SIGSEGV) in the doctest one.
  await sb.writeFile('src/ring.cpp', ring
    .replace('#include "ring.hpp"', '#include "ring.hpp"\n#include <cstdlib>')
    .replace('return values.front();', 'if (!values.empty()) std::abort();\n  return values.front();')
    .replace('if (v < lo) return lo;', 'if (v < lo) { volatile int* p = nullptr; return *p; }'));
  const run = await runTestScript(sb, runner.script(runner.testFiles), runner.parser(), 240_000);
  assert.deepEqual(run.results, {
    ...CATCH_ALL,
    'tests/clamp_test.cpp::clamp raises values below the range': 'failed',
    'tests/ring_test.cpp::head, of a list [with brackets], gives the first value': 'failed',
  }, run.log);
  assert.match(run.log, /SIGABRT/);
  assert.match(run.log, /SIGSEGV/);

  // A program that does not compile fails every case its selected files define, with the compiler's message.
  await sb.writeFile('src/ring.cpp', ring.replace('return r;', 'return r'));
  const broken = await runTestScript(sb, runner.script(['tests/ring_test.cpp', 'tests/clamp_test.cpp']), runner.parser(), 240_000);
  assert.deepEqual(broken.results, {
    'tests/clamp_test.cpp::clamp leaves values inside the range': 'failed',
    'tests/clamp_test.cpp::clamp lowers values above the range': 'failed',
    'tests/clamp_test.cpp::clamp raises values below the range': 'failed',
    'tests/ring_test.cpp::Scenario: a ring of one slot': 'failed',
    'tests/ring_test.cpp::head, of a list [with brackets], gives the first value': 'failed',
    'tests/ring_test.cpp::wrap counts negative values backwards': 'failed',
    'tests/ring_test.cpp::wrap keeps values in range': 'failed',
  }, broken.log);
  assert.match(broken.log, /src\/ring\.cpp:\d+:\d+: error/);
  await sb.writeFile('src/ring.cpp', ring);
});
