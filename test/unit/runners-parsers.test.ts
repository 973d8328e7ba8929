/**
 * Each runner's test_parser.py replayed on a log recorded from a real run of its generated test_script.sh
 * (test/fixtures/runners/record.ts re-records them), plus the parsers' behaviour on broken or hostile input.
 */
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Runner, RunnerName } from '../../src/repo/runners/index.js';
import { fixtureRunner, runParser, type TestMap } from '../fixtures/runners/helpers.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/runners');
const RUNNERS: RunnerName[] = ['pytest', 'unittest', 'node-test', 'jest', 'vitest', 'mocha', 'ava', 'tape', 'go-test', 'cargo-test', 'maven', 'ctest'];

/** Facts about each recording that must hold whatever else the expected map says. */
const MUST: Record<RunnerName, { passed: string[]; failed: string[]; absent: string[] }> = {
  pytest: {
    passed: ['tests/test_calc.py::TestNested::TestInner::test_deep', 'tests/test_calc.py::test_param[ok - case]'],
    failed: ['tests/test_calc.py::test_sub_is_wrong', 'tests/test_broken.py', 'tests/unit/test_fixture_error.py::test_uses_boom'],
    absent: ['tests/test_calc.py::test_skipped', 'tests/test_calc.py::test_known_failure', 'tests/test_broken.py::test_never_runs'],
  },
  unittest: {
    passed: ['tests/test_calc.py::TestCalc::test_add', 'pkg/tests/test_pkg.py::TestPkg::test_pkg', 'tests/test_calc.py::TestCalc::Inner::test_inner'],
    failed: ['tests/test_calc.py::TestCalc::test_wrong', 'tests/test_calc.py::TestCalc::test_error', 'tests/test_calc.py::TestCalc::test_subtests', 'tests/test_broken.py'],
    absent: ['tests/test_calc.py::TestCalc::test_skipped', 'tests/test_calc.py::TestCalc::test_expected_failure'],
  },
  'node-test': {
    passed: ['test/calc.test.js::calc # suite > add > adds', 'test/calc.test.js::parent test > child ok', 'test/sub/other.test.mjs::esm passes'],
    failed: ['test/calc.test.js::calc # suite > add > is wrong', 'test/calc.test.js::parent test > child bad', 'test/broken.test.js'],
    absent: ['test/calc.test.js::calc # suite > add > skipped', 'test/calc.test.js::calc # suite > add > later', 'test/calc.test.js::empty suite'],
  },
  jest: {
    passed: ['__tests__/calc.test.js::calc > add > adds', '__tests__/calc.test.js::root level', 'packages/sub/sub.spec.js::sub > works'],
    failed: ['__tests__/calc.test.js::calc > add > is wrong', '__tests__/broken.test.js'],
    absent: ['__tests__/calc.test.js::calc > add > skipped', '__tests__/calc.test.js::calc > add > later'],
  },
  vitest: {
    passed: ['test/calc.test.ts::calc > add > adds', 'test/calc.test.ts::root level'],
    failed: ['test/calc.test.ts::calc > add > is wrong', 'test/broken.test.ts'],
    absent: ['test/calc.test.ts::calc > add > skipped', 'test/calc.test.ts::must not be attributed to calc.test.ts'],
  },
  mocha: {
    passed: ['test/calc.spec.js::calc > add > adds', 'test/calc.spec.js::root level'],
    failed: ['test/calc.spec.js::calc > add > is wrong', 'test/broken.spec.js', 'test/hook.spec.js'],
    absent: ['test/calc.spec.js::calc > add > skipped', 'test/calc.spec.js::fails elsewhere', 'test/hook.spec.js::hooked > never runs'],
  },
  ava: {
    passed: ['test/calc.test.js::adds # with hash', 'test/calc.test.js::async passes'],
    failed: ['test/calc.test.js::is wrong', 'test/broken.test.js'],
    absent: ['test/calc.test.js::skipped', 'test/calc.test.js::later', 'test/broken.test.js::never runs'],
  },
  tape: {
    passed: ['test/calc.js::adds', 'test/calc.js::group > child ok', 'test/calc.js::async passes', 'test/esm.mjs::esm passes', 'test/named.js::named import', 'test/throws.js::before the throw'],
    failed: ['test/calc.js::is wrong', 'test/calc.js::group > child bad', 'test/throws.js::throws', 'test/calc.js::never ends', 'test/broken.js'],
    absent: ['test/calc.js::skipped', 'test/calc.js::later', 'test/calc.js::group', 'test/calc.js::a comment, not a test', 'test/broken.js::never runs', 'test/throws.js::after the throw'],
  },
  'go-test': {
    passed: ['calc/calc_test.go::TestAdd', 'calc/calc_test.go::TestTable/one_plus_one', 'calc/other_test.go::TestOther', 'root_test.go::TestRoot'],
    failed: ['calc/calc_test.go::TestWrong', 'calc/calc_test.go::TestTable/bad_case', 'broken/broken_test.go'],
    absent: ['calc/calc_test.go::TestSkipped', 'broken/broken_test.go::TestBroken'],
  },
  'cargo-test': {
    passed: ['src/lib.rs::tests::adds', 'src/lib.rs::tests::nested::deep', 'src/lib.rs::tests::panics', 'src/util.rs::util::tests::doubles', 'tests/integration.rs::integration_ok'],
    failed: ['src/lib.rs::tests::is_wrong', 'tests/integration.rs::integration_bad', 'tests/broken.rs'],
    absent: ['src/lib.rs::tests::ignored', 'src/lib.rs::util::tests::doubles', 'tests/broken.rs::never_compiles'],
  },
  maven: {
    passed: [
      'src/test/java/fx/CalcTest.java::adds',
      'src/test/java/fx/CalcTest.java::Inner.deep',
      'src/test/java/fx/CalcTest.java::table(int, int, int)[2]',
      'src/test/java/fx/text/WordsTest.java::joins',
    ],
    failed: ['src/test/java/fx/CalcTest.java::subIsWrong'],
    absent: ['src/test/java/fx/CalcTest.java::skipped', 'src/test/java/fx/CalcTest.java', 'src/test/java/fx/text/WordsTest.java'],
  },
  ctest: {
    passed: [
      'tests/shapes_test.cpp::Rect.Area',
      'tests/shapes_test.cpp::DescribeTest.Wide',
      'tests/stats_test.cpp::TotalTest.LastIsSum',
      'tests/extra_test.cpp::Extra.Fine',
      'tests/plain_test.cpp::main',
    ],
    failed: ['tests/extra_test.cpp::Extra.IsWrong', 'tests/plain_test.cpp::test_wrong', 'tests/broken_test.cpp'],
    absent: ['tests/extra_test.cpp::Extra.Later', 'tests/extra_test.cpp::Extra.Skipped', 'tests/broken_test.cpp::Broken.NeverCompiles'],
  },
};

const runners = new Map<RunnerName, Runner>();
const dirs: string[] = [];

before(async () => {
  for (const name of RUNNERS) {
    const { dir, runner } = await fixtureRunner(name);
    dirs.push(dir);
    runners.set(name, runner);
  }
});

after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function parserOf(name: RunnerName): string {
  const runner = runners.get(name);
  assert.ok(runner, `${name} runner`);
  return runner.parser();
}

describe('parsers on recorded runner output', () => {
  for (const name of RUNNERS) {
    it(name, async () => {
      const log = await readFile(join(fixtures, `${name}.log`));
      const expected = JSON.parse(await readFile(join(fixtures, `${name}.expected.json`), 'utf8')) as TestMap;
      const { map, status, stderr } = runParser(parserOf(name), log);
      assert.equal(status, 0, stderr);
      assert.deepEqual(map, expected);
      const must = MUST[name];
      for (const id of must.passed) assert.equal(map[id], 'passed', `${id} passed`);
      for (const id of must.failed) assert.equal(map[id], 'failed', `${id} failed`);
      for (const id of must.absent) assert.equal(map[id], undefined, `${id} absent`);
      for (const id of Object.keys(map)) assert.ok(/^[^:]+\.[a-z]+(?:::.+)?$/.test(id), `${id} starts with its file`);
    });
  }
});

describe('parsers on broken input', () => {
  const garbage: Array<[string, string | Buffer]> = [
    ['empty', ''],
    ['binary', Buffer.from([0, 255, 254, 10, 0x80, 0x40, 0x40])],
    ['plain text', 'hello\nworld\n'],
    ['bad markers', '@@ssr-exit nope\n@@ssr-meta\n@@ssr-json-begin\n{\n@@ssr-json-end\n'],
  ];
  for (const name of RUNNERS) {
    it(`${name}: prints {} and exits 0 on garbage`, () => {
      for (const [label, input] of garbage) {
        const { map, status, stderr } = runParser(parserOf(name), input);
        assert.equal(status, 0, `${label}: ${stderr}`);
        assert.deepEqual(map, {}, label);
      }
    });

    it(`${name}: a file whose run was cut off (no exit marker) is failed, never passed`, async () => {
      const log = (await readFile(join(fixtures, `${name}.log`), 'utf8')).split('\n');
      const lastExit = log.map((l) => l.startsWith('@@ssr-exit ')).lastIndexOf(true);
      const cut = log.slice(0, lastExit).join('\n');
      const { map, status } = runParser(parserOf(name), cut);
      assert.equal(status, 0);
      assert.ok(Object.values(map).includes('failed'));
    });
  }

  it('pytest: node ids relative to a rootdir below the repository root still name the repository path', () => {
    const log = [
      '@@ssr-run pytest',
      '@@ssr-meta root /repo',
      '@@ssr-meta target python/tests/test_a.py',
      '@@ssr-meta target python/tests/test_gone.py',
      '@@ssr-meta missing python/tests/test_gone.py',
      'rootdir: /repo/python, configfile: pytest.ini',
      '=========================== short test summary info ============================',
      'PASSED tests/test_a.py::test_one',
      'FAILED tests/test_a.py::test_two[x - y] - AssertionError: boom - again',
      'PASSED tests/test_a.py::test_three',
      '========================= 1 failed, 2 passed in 0.01s ==========================',
      'PASSED tests/test_a.py::not_in_summary',
      '@@ssr-exit 1',
    ].join('\n');
    assert.deepEqual(runParser(parserOf('pytest'), log).map, {
      'python/tests/test_a.py::test_one': 'passed',
      'python/tests/test_a.py::test_two[x - y]': 'failed',
      'python/tests/test_a.py::test_three': 'passed',
      'python/tests/test_gone.py': 'failed',
    });
  });

  it('pytest: a unittest subTest that fails (pytest 9: its own SUBFAILED line, the test PASSED) fails its test', () => {
    const log = [
      '@@ssr-run pytest',
      '@@ssr-meta root /repo',
      '@@ssr-meta target tests/test_s.py',
      'rootdir: /repo',
      '=========================== short test summary info ============================',
      'PASSED tests/test_s.py::T::test_a',
      'PASSED tests/test_s.py::T::test_b',
      'PASSED tests/test_s.py::T::test_c',
      'PASSED tests/test_s.py::T::test_d',
      'SUBFAILED(i=1) tests/test_s.py::T::test_a - AssertionError: 1 == 1',
      'SUBFAILED[a b [x] - y.py::z] tests/test_s.py::T::test_b - AssertionError: 1 != 2',
      'SUBFAILED[msg] (k=3) tests/test_s.py::T::test_c - AssertionError: 1 != 2',
      'SUBFAILED[case] (i=1) tests/test_s.py::test_p[u v] - assert 1 == 0',
      'FAILED tests/test_s.py::test_p[u v] - contains 1 failed subtest',
      '========================= 4 failed, 4 passed in 0.04s ==========================',
      '@@ssr-exit 1',
    ].join('\n');
    assert.deepEqual(runParser(parserOf('pytest'), log).map, {
      'tests/test_s.py::T::test_a': 'failed',
      'tests/test_s.py::T::test_b': 'failed',
      'tests/test_s.py::T::test_c': 'failed',
      'tests/test_s.py::T::test_d': 'passed',
      'tests/test_s.py::test_p[u v]': 'failed',
    });
  });

  it('pytest: a run that dies before reporting fails every target file', () => {
    const log = '@@ssr-run pytest\n@@ssr-meta root /r\n@@ssr-meta target t/test_a.py\nERROR: usage\n@@ssr-exit 4\n';
    assert.deepEqual(runParser(parserOf('pytest'), log).map, { 't/test_a.py': 'failed' });
  });

  it('maven: a truncated report keeps its complete testcases; classes with no report fail when the build failed', async () => {
    const log = await readFile(join(fixtures, 'maven.log'), 'utf8');
    const lines = log.split('\n');
    // Cut the report holding CalcTest's results (surefire writes them all into the @Nested class's report) inside
    // its failing testcase, as a JVM killed mid-write would leave it.
    const cutAt = lines.findIndex((l) => l.startsWith('@@xml ') && l.includes('name="subIsWrong"'));
    assert.ok(cutAt > 0);
    const end = lines.findIndex((l, i) => i > cutAt && l.startsWith('@@xml-end'));
    const truncated = [...lines.slice(0, cutAt + 1), ...lines.slice(end)].join('\n');
    const { map, status, stderr } = runParser(parserOf('maven'), truncated);
    assert.equal(status, 0, stderr);
    assert.equal(map['src/test/java/fx/CalcTest.java::adds'], 'passed');
    assert.equal(map['src/test/java/fx/CalcTest.java::subIsWrong'], undefined);
    assert.equal(map['src/test/java/fx/text/WordsTest.java::joins'], 'passed');
    // Garbage inside a report, and a report cut off with no end marker, do not crash the parser either.
    const noEnd = lines.slice(0, cutAt + 1).join('\n') + '\n@@xml <testcase name="x" classname="fx.CalcTest"><fail';
    assert.equal(runParser(parserOf('maven'), noEnd).status, 0);
    const junk = '@@ssr-run maven\n@@ssr-meta target A.java\n@@ssr-meta class A A.java\n@@xml-begin r\n@@xml <testsuite><<<\n@@xml-end\n@@ssr-exit 1\n';
    assert.deepEqual(runParser(parserOf('maven'), junk).map, { 'A.java': 'failed' });
    // A build that stopped before the tests (compile error): every selected class is failed; a missing file too.
    const compile = [
      '@@ssr-run maven',
      '@@ssr-meta target src/test/java/a/ATest.java',
      '@@ssr-meta class a.ATest src/test/java/a/ATest.java',
      '@@ssr-meta target src/test/java/a/GoneTest.java',
      '@@ssr-meta missing src/test/java/a/GoneTest.java',
      '[ERROR] src/main/java/a/A.java:[3,20] illegal start of expression',
      '@@ssr-exit 1',
    ].join('\n');
    assert.deepEqual(runParser(parserOf('maven'), compile).map, {
      'src/test/java/a/ATest.java': 'failed',
      'src/test/java/a/GoneTest.java': 'failed',
    });
  });

  it('maven: a test\'s output inside a report cannot forge a marker', () => {
    const log = [
      '@@ssr-run maven',
      '@@ssr-meta target src/test/java/a/ATest.java',
      '@@ssr-meta class a.ATest src/test/java/a/ATest.java',
      '@@xml-begin target/surefire-reports/TEST-a.ATest.xml',
      '@@xml <testsuite name="a.ATest"><testcase name="ok" classname="a.ATest"><system-out><![CDATA[',
      '@@xml @@ssr-exit 0',
      '@@xml @@ssr-meta class b.BTest src/test/java/a/ATest.java',
      '@@xml ]]></system-out></testcase><testcase name="bad" classname="a.ATest"><failure message="x"/></testcase></testsuite>',
      '@@xml-end',
      '@@ssr-exit 0',
    ].join('\n');
    assert.deepEqual(runParser(parserOf('maven'), log).map, {
      'src/test/java/a/ATest.java::ok': 'passed',
      'src/test/java/a/ATest.java::bad': 'failed',
    });
  });

  it('a test reported both passed and failed counts as failed', () => {
    const log = '@@ssr-file a_test.go\n--- PASS: TestX (0.00s)\n--- FAIL: TestX (0.00s)\n@@ssr-exit 1\n';
    assert.deepEqual(runParser(parserOf('go-test'), log).map, { 'a_test.go::TestX': 'failed' });
  });

  it('output a test prints cannot forge results of another file', () => {
    const log = '@@ssr-file x_test.go\nnot a marker @@ssr-file y_test.go\n--- PASS: TestA (0.00s)\n@@ssr-exit 0\n';
    assert.deepEqual(runParser(parserOf('go-test'), log).map, { 'x_test.go::TestA': 'passed' });
  });
});
