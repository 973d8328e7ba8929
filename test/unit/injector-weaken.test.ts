/** How the injector takes a broken test's assertions away, per runner. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyEdits, findTests, hasSyntaxErrors, sitesForTest } from '../../src/agents/code/index.js';
import { dropOrphanedGoImports } from '../../src/agents/code/gousage.js';
import { assertionRemovals, emptyBody } from '../../src/agents/injector.js';

const AVA = `import test from 'ava';
import up from './index.js';

test('upper', (t) => {
\tt.is(up('a'), 'A');
\tt.deepEqual([up('b')], ['B']);
});

test('async', async (exec) => {
\tawait exec.throwsAsync(Promise.reject(new Error('x')));
\texec.truthy(up('c'));
});

test('node assert', () => {
\tassert.equal(up('d'), 'D');
});
`;

describe('injector: assertionRemovals', () => {
  it('ava: the first assertion of each test becomes a pass() on its own context, so the weakened test still passes', async () => {
    const sites = await findTests('javascript', AVA);
    const out = applyEdits(AVA, sites.flatMap((s) => assertionRemovals('ava', AVA, s.assertions)));
    assert.equal(await hasSyntaxErrors('javascript', out), false);
    assert.match(out, /test\('upper', \(t\) => \{\n\tt\.pass\(\);\n\}\);/);
    assert.match(out, /test\('async', async \(exec\) => \{\n\texec\.pass\(\);\n\}\);/);
    // Not ava's context: nothing to call pass() on, the assertion simply goes.
    assert.match(out, /test\('node assert', \(\) => \{\n\}\);/);
    assert.doesNotMatch(out, /\.is\(|deepEqual|throwsAsync|truthy|assert\.equal/);
  });

  it('other runners: the assertions are only removed (an empty test passes there)', async () => {
    const sites = await findTests('javascript', AVA);
    for (const runner of ['jest', 'vitest', 'mocha', 'node-test', 'tape'] as const) {
      for (const s of sites) assert.deepEqual(assertionRemovals(runner, AVA, s.assertions), s.assertions);
    }
  });
});

describe('injector: emptyBody', () => {
  it('a test that raises before its assertions keeps its name and passes: pass, {}, or the one call its runner needs', async () => {
    const py = 'def test_a():\n    """Doc."""\n    x = f()\n    assert x\n\n\nclass T(unittest.TestCase):\n    def test_b(self):\n        self.assertEqual(g(), 1)\n';
    const pySites = await findTests('python', py);
    const pyOut = applyEdits(py, pySites.map((s) => emptyBody('pytest', s)!));
    assert.equal(pyOut, 'def test_a():\n    pass\n\n\nclass T(unittest.TestCase):\n    def test_b(self):\n        pass\n');
    const js = "test('a', (t) => {\n  t.is(f(), 1);\n});\nit('b', function (done) {\n  g(done);\n});\nit('c', () => {\n  h();\n});\nit('d', () => expect(h()).toBe(1));\n";
    const jsSites = await findTests('javascript', js);
    const body = (runner: Parameters<typeof emptyBody>[0]) => jsSites.map((s) => { const e = emptyBody(runner, s); return e ? e.replacement : null; });
    assert.deepEqual(body('ava'), ['{ t.pass(); }', '{ done.pass(); }', null, null]);
    assert.deepEqual(body('tape'), ['{ t.end(); }', '{ done.end(); }', null, null]);
    assert.deepEqual(body('mocha'), ['{ t(); }', '{ done(); }', '{}', null]);
    assert.deepEqual(body('node-test'), ['{}', '{}', '{}', null]);
    for (const runner of ['ava', 'mocha', 'node-test'] as const) {
      const edits = jsSites.map((s) => emptyBody(runner, s)).filter((e) => e !== null);
      assert.equal(await hasSyntaxErrors('javascript', applyEdits(js, edits)), false, runner);
    }
  });

  it('Go, Rust, Java: {} (Ok(()) for a Rust test returning a Result), and none for a test expecting a panic or an exception', async () => {
    const rs = '#[test]\nfn a() { f().unwrap(); }\n\n#[test]\nfn b() -> Result<(), String> { g()?; Ok(()) }\n\n#[test]\n#[should_panic(expected = "boom")]\nfn c() { h(); }\n\n#[test]\nfn d() -> u8 { 1 }\n';
    const rsOut = (await findTests('rust', rs)).map((s) => emptyBody('cargo-test', s)?.replacement ?? null);
    assert.deepEqual(rsOut, ['{}', '{ Ok(()) }', null, null]);
    const java = 'class T {\n  @Test\n  void a() { f(); }\n  @Test(expected = IllegalStateException.class)\n  public void b() { g(); }\n  @org.testng.annotations.Test(expectedExceptions = E.class)\n  void c() { h(); }\n  @TestFactory\n  Stream<DynamicTest> d() { return s(); }\n  @ParameterizedTest\n  void e(int x) { f(x); }\n}\n';
    const javaOut = (await findTests('java', java)).map((s) => emptyBody('maven', s)?.replacement ?? null);
    assert.deepEqual(javaOut, ['{}', null, null, null, '{}']);
    const go = await findTests('go', 'package p\n\nimport "testing"\n\nfunc TestX(t *testing.T) { t.Fatal() }\n');
    assert.equal(emptyBody('go-test', go[0]!)?.replacement, '{}');
  });

  it('C and C++: GoogleTest TESTs, Catch2 and doctest cases and void test functions empty, one returning a constant to it; a case that must fail, one returning a computed value and main do not', async () => {
    const gtest = '#include <gtest/gtest.h>\nTEST(Math, Add) { ASSERT_EQ(add(1, 2), 3); }\nTEST_F(Fix, Sub) { EXPECT_EQ(sub(3, 1), 2); }\n';
    // Each file also has a site for the whole program (main, here in gtest_main), which never empties.
    const g = (await findTests('cpp', gtest)).filter((x) => x.name !== 'main');
    assert.deepEqual(g.map((x) => [x.name, emptyBody('ctest', x)?.replacement ?? null]), [['Math.Add', '{}'], ['Fix.Sub', '{}']]);
    const emptied = applyEdits(gtest, g.map((x) => emptyBody('ctest', x)!));
    assert.equal(emptied, '#include <gtest/gtest.h>\nTEST(Math, Add) {}\nTEST_F(Fix, Sub) {}\n');
    assert.equal(await hasSyntaxErrors('cpp', emptied), false);
    const catch2 = '#include <catch2/catch_test_macros.hpp>\nTEST_CASE("adds", "[math]") { REQUIRE(add(1, 2) == 3); }\nTEST_CASE("known bad", "[!shouldfail]") { REQUIRE(bad() == 1); }\n';
    assert.deepEqual((await findTests('cpp', catch2)).filter((x) => x.name !== 'main').map((x) => [x.name, emptyBody('ctest', x)?.replacement ?? null]), [['adds', '{}'], ['known bad', null]]);
    const doctest = '#include "doctest.h"\nTEST_CASE("adds") { CHECK(add(1, 2) == 3); }\nTEST_CASE("fails" * doctest::should_fail()) { CHECK(bad() == 1); }\n';
    assert.deepEqual((await findTests('cpp', doctest)).filter((x) => x.name !== 'main').map((x) => [x.name, emptyBody('ctest', x)?.replacement ?? null]), [['adds', '{}'], ['fails', null]]);
    const c = '#include <assert.h>\nstatic void test_add(void) { assert(add(1, 2) == 3); }\nint test_sub(void) { assert(sub(3, 1) == 2); return 0; }\nint test_mul(void) { int r = mul(2, 2); assert(r == 4); return r - 4; }\nint main(void) { test_add(); return test_sub() + test_mul(); }\n';
    assert.deepEqual((await findTests('c', c)).map((x) => [x.name, emptyBody('ctest', x)?.replacement ?? null]), [['test_add', '{}'], ['test_sub', '{ return 0; }'], ['test_mul', null], ['main', null]]);
  });

  it('Go: an import only the emptied (or deleted) test used goes with it, and the file still builds its other uses', async () => {
    const src = [
      'package p', '', 'import (', '\t"strings"', '\t"testing"', '', '\tqt "github.com/frankban/quicktest"', '\t"example.com/m/v2/util"', ')', '',
      'func TestA(t *testing.T) {', '\tc := qt.New(t)', '\tc.Assert(strings.ToUpper(util.Name()), qt.Equals, "X")', '}', '',
      'func TestB(t *testing.T) {', '\tif util.Name() == "" {', '\t\tt.Fatal("empty")', '\t}', '}', '',
    ].join('\n');
    const sites = await findTests('go', src);
    const emptied = applyEdits(src, [emptyBody('go-test', sites[0]!)!]);
    const out = await dropOrphanedGoImports(src, emptied);
    assert.equal(await hasSyntaxErrors('go', out), false);
    // strings and quicktest went with TestA; util is still TestB's, testing every test's.
    assert.doesNotMatch(out, /"strings"|quicktest/);
    assert.match(out, /\t"testing"\n/);
    assert.match(out, /\t"example\.com\/m\/v2\/util"\n/);
    assert.match(out, /func TestA\(t \*testing\.T\) \{\}/);
    // Deleting TestB as well leaves util unused too; an edit that orphans nothing changes nothing.
    const both = applyEdits(src, [emptyBody('go-test', sites[0]!)!, { start: sites[1]!.start, end: sites[1]!.end, replacement: '' }]);
    assert.doesNotMatch(await dropOrphanedGoImports(src, both), /util"/);
    assert.equal(await dropOrphanedGoImports(src, src), src);
  });
});

describe('injector: the sites of jest and vitest `.each` tables', () => {
  const EACH = `import { describe, expect, it } from 'vitest';
import { parse, compile } from '../src/index';

describe('lib', () => {
  it.each(['/{', '/{:a'])('throws on %s', (path) => {
    expect(() => parse(path)).toThrow();
  });
  describe.each(CASES)('compile $path with $options', ({ path, options, tests }) => {
    it.each(tests)('should compile $input', ({ input, expected }) => {
      expect(compile(path, options)(input)).toEqual(expected);
    });
    it('builds', () => {
      expect(compile(path, options)).toBeTruthy();
    });
  });
  it('plain', () => {
    expect(parse('/')).toBeTruthy();
  });
});
`;

  it('each row the runner reports is its site, whose callback parameter is a row value, not a done callback', async () => {
    const sites = await findTests('typescript', EACH);
    const of = (name: string): string[] => sitesForTest('typescript', sites, name).map((s) => s.name);
    assert.deepEqual(of('lib > throws on /{:a'), ['lib > throws on %s']);
    assert.deepEqual(of("lib > compile '/:a' with { end: false } > should compile { a: 'x' }"), ['lib > compile $path with $options > should compile $input']);
    assert.deepEqual(of("lib > compile '/:a' with undefined > builds"), ['lib > compile $path with $options > builds']);
    assert.deepEqual(of('lib > plain'), ['lib > plain']);
    assert.deepEqual(of('lib > other'), []);
    const row = sites.find((s) => s.name === 'lib > throws on %s')!;
    assert.equal(row.assertions.length, 1);
    // jest ends a callback that takes a parameter by calling it; an .each row's parameter is a value.
    assert.equal(emptyBody('jest', row)?.replacement, '{}');
  });
});
