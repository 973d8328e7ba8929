import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { applyEdits, findTests, hasSyntaxErrors, testCodeRanges, type Lang, type TestSite } from '../../src/agents/code/index.js';
import { mergeEdits } from '../../src/agents/injector.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/code/${name}`, import.meta.url), 'utf8');

async function assertAssertionRemovalParses(lang: Lang, src: string, sites: TestSite[]): Promise<void> {
  for (const t of sites) {
    assert.equal(await hasSyntaxErrors(lang, applyEdits(src, t.assertions)), false, `all assertions of ${t.name}`);
    for (const a of t.assertions) {
      assert.ok(t.start <= a.start && a.end <= t.end + 1, `assertion inside ${t.name}`);
      assert.equal(await hasSyntaxErrors(lang, applyEdits(src, [a])), false, `one assertion of ${t.name}`);
    }
    assert.equal(await hasSyntaxErrors(lang, applyEdits(src, [{ start: t.start, end: t.end, replacement: '' }])), false, `deleting ${t.name}`);
  }
  const all = sites.flatMap((t) => t.assertions);
  assert.equal(await hasSyntaxErrors(lang, applyEdits(src, all)), false, 'every assertion of the file');
}

const byName = (sites: TestSite[], name: string): TestSite => {
  const t = sites.find((s) => s.name === name);
  assert.ok(t, `no test ${name}: ${sites.map((s) => s.name).join(', ')}`);
  return t;
};

describe('code: findTests', () => {
  it('python: pytest functions, Test* classes, unittest cases', async () => {
    const src = fixture('test_inventory.py');
    const sites = await findTests('python', src);
    assert.deepEqual(
      sites.map((s) => s.name),
      ['test_clamp_low', 'test_find_index', 'TestStore::test_add', 'TestStore::test_full', 'StoreCase::testValue'],
    );
    const fi = byName(sites, 'test_find_index');
    assert.ok(src.slice(fi.start).startsWith('# Checks lookup by name.\n@pytest.mark.parametrize'));
    assert.equal(fi.line, 14);
    assert.equal(src.slice(fi.end - 30, fi.end), 'assert items[idx].name == name');
    // A block of nothing but an assertion keeps a `pass`.
    assert.deepEqual(fi.assertions.map((a) => a.replacement), ['pass']);
    assert.equal(byName(sites, 'TestStore::test_full').assertions.length, 0, 'pytest.raises blocks are kept');
    const tv = byName(sites, 'StoreCase::testValue');
    assert.equal(tv.assertions.length, 2);
    assert.ok(!applyEdits(src, tv.assertions).includes('assertEqual'));
    await assertAssertionRemovalParses('python', src, sites);
  });

  it('python: tests a class inherits from a mixin or base class of the same file, at the base\'s method', async () => {
    const src = [
      'import unittest',
      '',
      '',
      'class SharedChecks:',
      '    def test_size(self):',
      '        self.assertEqual(self.make().size, 1)',
      '',
      '    def test_kind(self):',
      '        self.assertTrue(self.make().kind)',
      '',
      '',
      'class BaseCase(unittest.TestCase):',
      '    def test_base(self):',
      '        assert self.make()',
      '',
      '',
      'class ListCase(BaseCase, SharedChecks):',
      '    def make(self):',
      '        return [1]',
      '',
      '    def test_kind(self):',
      '        assert True',
      '',
      '',
      'class TestPlain(SharedChecks):',
      '    pass',
      '',
    ].join('\n');
    const sites = await findTests('python', src);
    assert.deepEqual(sites.map((s) => s.name).sort(), [
      'BaseCase::test_base', 'ListCase::test_base', 'ListCase::test_kind', 'ListCase::test_size', 'TestPlain::test_kind', 'TestPlain::test_size',
    ]);
    // An inherited test's site is the base's definition; an override is the class's own.
    assert.ok(src.slice(byName(sites, 'ListCase::test_size').start).startsWith('def test_size(self):'));
    assert.equal(byName(sites, 'ListCase::test_base').line, 13);
    assert.equal(byName(sites, 'ListCase::test_kind').line, 21);
    assert.equal(byName(sites, 'TestPlain::test_kind').line, 8);
    assert.deepEqual(byName(sites, 'ListCase::test_size').assertions.map((a) => a.replacement), ['pass']);
  });

  it('javascript: nested describe titles joined with " > "', async () => {
    const src = fixture('cart.test.js');
    const sites = await findTests('javascript', src);
    assert.deepEqual(sites.map((s) => s.name), ['cart > clamp > clamps low', 'cart > clamp > clamps high', 'cart > adds items', 'top level']);
    const low = byName(sites, 'cart > clamp > clamps low');
    assert.ok(src.slice(low.start).startsWith('// lower bound\n'));
    assert.equal(low.assertions.length, 2);
    const high = byName(sites, 'cart > clamp > clamps high');
    assert.deepEqual(high.assertions.map((a) => a.replacement), ['{}', ''], 'brace-less if body becomes {}');
    assert.equal(byName(sites, 'cart > adds items').assertions.length, 2, 'node:assert calls');
    assert.equal(byName(sites, 'top level').assertions.length, 1, 'ava-style t.is');
    await assertAssertionRemovalParses('javascript', src, sites);
  });

  it('typescript: vitest suites', async () => {
    const src = fixture('shapes.test.ts');
    const sites = await findTests('typescript', src);
    assert.deepEqual(sites.map((s) => s.name), ['shapes > distance > is zero for the same point', 'shapes > computes circle area']);
    assert.equal(byName(sites, 'shapes > computes circle area').assertions.length, 2);
    await assertAssertionRemovalParses('typescript', src, sites);
  });

  it('go: TestX functions; failing calls go, ifs and used variables stay', async () => {
    const src = fixture('calc_test.go');
    const sites = await findTests('go', src);
    assert.deepEqual(sites.map((s) => s.name), ['TestDivide', 'TestClamp', 'TestSum']);
    const div = byName(sites, 'TestDivide');
    const out = applyEdits(src, div.assertions);
    const weakened = out.slice(div.start, out.indexOf('\n}\n', div.start) + 2);
    assert.equal(weakened, 'func TestDivide(t *testing.T) {\n\tgot, err := Divide(6, 3)\n\tif err != nil {\n\t}\n\tif got != 2 {\n\t}\n}');
    const clamp = byName(sites, 'TestClamp');
    assert.ok(src.slice(clamp.start).startsWith('// TestClamp checks the bounds.'));
    // One assertion inside a t.Run subtest; the other is the only use of `v`.
    assert.deepEqual(clamp.assertions.map((a) => a.replacement), ['', '_ = v']);
    await assertAssertionRemovalParses('go', src, sites);
    const odd = await findTests('go', 'package p\n\nimport "testing"\n\nfunc Testlower(t *testing.T) {}\nfunc Test(t *testing.T) {}\nfunc TestÄ(t *testing.T) {}\nfunc TestN(n int) {}\n');
    assert.deepEqual(odd.map((s) => s.name), ['Test', 'TestÄ']);
  });

  it('go: assertion libraries (quicktest, testify objects, matryer/is, gomega) and helpers handed t; subtests and setup stay', async () => {
    const src = `package p

import (
\t"testing"

\tqt "github.com/frankban/quicktest"
\t"github.com/matryer/is"
\t. "github.com/onsi/gomega"
\t"github.com/stretchr/testify/assert"
)

func TestQt(t *testing.T) {
\tc := qt.New(t)
\tc.Parallel()
\tc.Run("sub", func(c *qt.C) {
\t\tgot := Parse("x")
\t\tc.Assert(got, qt.Equals, 1)
\t})
\tqt.Check(t, Parse("y"), qt.Equals, 2)
}

func TestObjects(t *testing.T) {
\ta := assert.New(t)
\ti := is.New(t)
\tg := NewWithT(t)
\tv := Parse("z")
\ta.Equal(3, v)
\ti.Equal(v, 3)
\tg.Expect(v).To(Equal(3))
\tExpect(v).NotTo(BeZero())
}

func TestTable(t *testing.T) {
\tcases := []struct{ in string; want int }{{"a", 1}}
\tt.Parallel()
\trunCases(t, cases)
\tfor _, c := range cases {
\t\tt.Run(c.in, func(t *testing.T) { check(t, Parse(c.in), c.want) })
\t}
}
`;
    const sites = await findTests('go', src);
    const text = (t: TestSite) => t.assertions.map((a) => src.slice(a.start, a.end).trim().replace(/\s+/g, ' '));
    // c.Run and c.Parallel are the subtest and its setup, not checks: they stay, and the Assert inside the subtest goes.
    assert.deepEqual(text(byName(sites, 'TestQt')), ['c.Assert(got, qt.Equals, 1)', 'qt.Check(t, Parse("y"), qt.Equals, 2)']);
    // Objects from the libraries' constructors assert; `v` is then read by assertions only, and is kept used.
    const obj = byName(sites, 'TestObjects');
    assert.deepEqual(text(obj), ['a.Equal(3, v)', 'i.Equal(v, 3)', 'g.Expect(v).To(Equal(3))', 'Expect(v).NotTo(BeZero())']);
    assert.ok(obj.assertions.some((a) => a.replacement.includes('_ = v')), 'v stays used');
    // A helper handed t holds a table-driven test's checks; t.Parallel and t.Run do not.
    assert.deepEqual(text(byName(sites, 'TestTable')), ['runCases(t, cases)', 'check(t, Parse(c.in), c.want)']);
    await assertAssertionRemovalParses('go', src, sites);
    // Without an assertion library imported, a method call on a local is not an assertion.
    const plain = await findTests('go', 'package p\n\nimport "testing"\n\nfunc TestP(t *testing.T) {\n\tc := New(t)\n\tc.Equal(1, 2)\n}\n');
    assert.deepEqual(plain[0]!.assertions, []);
  });

  it('assertions by import and by chain: destructured node:assert and chai, assertpy, insta and approx macros', async () => {
    const js = `import { strictEqual as eq, ok } from 'node:assert';
const { deepStrictEqual } = require('assert');
import { test } from 'vitest';
const helper = (x) => x;
test('t', () => {
  const v = helper(1);
  eq(v, 1);
  ok(v);
  deepStrictEqual([v], [1]);
  helper(v);
});
`;
    const jsSites = await findTests('javascript', js);
    assert.deepEqual(byName(jsSites, 't').assertions.map((a) => js.slice(a.start, a.end).trim()), ['eq(v, 1);', 'ok(v);', 'deepStrictEqual([v], [1]);']);
    await assertAssertionRemovalParses('javascript', js, jsSites);
    const py = 'from assertpy import assert_that\n\ndef test_a():\n    v = f()\n    assert_that(v).is_equal_to(1)\n    g(v).check()\n';
    const pySites = await findTests('python', py);
    assert.deepEqual(byName(pySites, 'test_a').assertions.map((a) => py.slice(a.start, a.end).trim()), ['assert_that(v).is_equal_to(1)']);
    const rs = '#[test]\nfn snap() {\n    let v = f();\n    insta::assert_snapshot!(v);\n    assert_relative_eq!(1.0, 1.0);\n    println!("{v}");\n}\n';
    const rsSites = await findTests('rust', rs);
    assert.deepEqual(byName(rsSites, 'snap').assertions.map((a) => rs.slice(a.start, a.end).trim()), ['insta::assert_snapshot!(v);', 'assert_relative_eq!(1.0, 1.0);']);
  });

  it('rust: #[test] fns with their module path', async () => {
    const src = fixture('lib.rs');
    const sites = await findTests('rust', src);
    assert.deepEqual(sites.map((s) => s.name), ['top_level', 'tests::clamps_low', 'tests::nested::inner']);
    const low = byName(sites, 'tests::clamps_low');
    assert.ok(src.slice(low.start).startsWith('// clamps\n    #[test]\n    fn clamps_low'));
    assert.equal(low.assertions.length, 2);
    assert.ok(src.slice(byName(sites, 'tests::nested::inner').start).startsWith('#[tokio::test]'));
    await assertAssertionRemovalParses('rust', src, sites);
  });

  it('java: @Test methods', async () => {
    const src = fixture('Calc.java');
    const sites = await findTests('java', src);
    assert.deepEqual(sites.map((s) => s.name), ['clampsLow', 'fails']);
    assert.deepEqual(byName(sites, 'clampsLow').assertions.map((a) => a.replacement), ['', '', ';']);
    assert.equal(byName(sites, 'fails').assertions.length, 1);
    await assertAssertionRemovalParses('java', src, sites);
  });

  it('cpp: GoogleTest TEST/TEST_F/TEST_P as Suite.Name; EXPECT_/ASSERT_ statements, streamed messages included', async () => {
    const src = fixture('shelf_test.cpp');
    const sites = await findTests('cpp', src);
    assert.deepEqual(sites.map((s) => s.name), ['Shelf.EmptyTotal', 'ShelfTest.Total', 'PriceTest.Positive', 'main']);
    const empty = byName(sites, 'Shelf.EmptyTotal');
    assert.ok(src.slice(empty.start).startsWith('// Totals of an empty list.\nTEST(Shelf, EmptyTotal)'));
    // `for (const auto &it : items) EXPECT_GT(it.price, 0);` keeps a body that uses `it`: g++ -Werror rejects an
    // unused range-for variable.
    assert.deepEqual(byName(sites, 'ShelfTest.Total').assertions.map((a) => a.replacement), ['', '', '{ (void)sizeof(it); }']);
    assert.ok(!applyEdits(src, byName(sites, 'ShelfTest.Total').assertions).includes('two items'));
    // The program run whole (gtest_main's main): every assertion, and no text of its own.
    const main = byName(sites, 'main');
    assert.equal(main.assertions.length, 5);
    assert.equal(main.start, main.end);
    await assertAssertionRemovalParses('cpp', src, sites.filter((s) => s.name !== 'main'));
  });

  it('cpp: Catch2 and doctest TEST_CASE/SCENARIO/TEST_CASE_METHOD named as the frameworks report them', async () => {
    const src = [
      '#include <catch2/catch.hpp>',
      '// Adds.',
      'TEST_CASE("adds, \\"quoted\\" [ok]", "[math]") {',
      '  REQUIRE(add(1, 2) == 3);',
      '  SECTION("zero") { CHECK(add(0, 0) == 0); }',
      '}',
      'SCENARIO("a story") { GIVEN("x") { CHECK(add(1, 1) == 2); } }',
      'TEST_CASE_METHOD(Fixture, "with a fixture") { CHECK(value == 1); }',
      '',
    ].join('\n');
    const sites = await findTests('cpp', src);
    assert.deepEqual(sites.map((s) => [s.name, s.line, s.assertions.length]), [
      ['adds, "quoted" [ok]', 3, 2],
      ['Scenario: a story', 7, 1],
      ['with a fixture', 8, 1],
      ['main', 9, 4],
    ]);
    assert.ok(src.slice(byName(sites, 'adds, "quoted" [ok]').start).startsWith('// Adds.\nTEST_CASE('));
    assert.ok(!applyEdits(src, byName(sites, 'adds, "quoted" [ok]').assertions).includes('add(0, 0)'));
    // doctest prefixes a scenario's name with two spaces.
    const doc = await findTests('cpp', '#include "doctest/doctest.h"\nSCENARIO("s") { CHECK(f()); }\n');
    assert.deepEqual(doc.map((s) => s.name), ['  Scenario: s', 'main']);
    // A local only the removed assertions read stays used (projects test with -Werror -Wunused-variable): the case's
    // block is its scope as a function's body would be.
    const used = await findTests('cpp', '#include <catch2/catch.hpp>\nTEST_CASE("v")\n{\n  int v = add(1, 2);\n  auto& w = items();\n  CHECK(v == 3);\n  SECTION("s") { CHECK(w.size() == 2); }\n}\n');
    assert.deepEqual(byName(used, 'v').assertions.map((a) => a.replacement), ['(void)sizeof(v);', '(void)sizeof(w);']);
  });

  it('c: test functions and the program\'s main; assert() calls, a brace-less one kept well-formed', async () => {
    const src = fixture('test_ring.c');
    const sites = await findTests('c', src);
    assert.deepEqual(sites.map((s) => s.name), ['test_push', 'test_modes', 'main']);
    assert.deepEqual(byName(sites, 'test_push').assertions.map((a) => a.replacement), ['', ';']);
    // main stands for the whole program: the assertions of every function, helpers included.
    assert.equal(byName(sites, 'main').assertions.length, 5);
    await assertAssertionRemovalParses('c', src, sites.filter((s) => s.name !== 'main'));
    assert.equal(await hasSyntaxErrors('c', applyEdits(src, byName(sites, 'main').assertions)), false);
  });

  it('c: the sites of one program share assertions; the injector applies each shared edit once', async () => {
    const src = fixture('test_ring.c');
    const sites = await findTests('c', src);
    const both = [...byName(sites, 'test_push').assertions, ...byName(sites, 'main').assertions];
    assert.throws(() => applyEdits(src, both), /overlapping/);
    const merged = mergeEdits(both);
    assert.equal(merged.length, byName(sites, 'main').assertions.length);
    assert.equal(applyEdits(src, merged), applyEdits(src, byName(sites, 'main').assertions));
    // An assertion inside a test deleted whole goes with it.
    const t = byName(sites, 'test_modes');
    assert.deepEqual(mergeEdits([{ start: t.start, end: t.end, replacement: '' }, ...t.assertions]), [{ start: t.start, end: t.end, replacement: '' }]);
  });

  it('c: functions a harness calls by name are sites only by that name; one returning a constant empties to it', async () => {
    const src = [
      '#include <stdlib.h>',
      '#include "m.h"',
      'static int in_range(int v) { return v >= 0; }',
      'int twice_small(void)\n{\n  if (!in_range(twice(1))) {\n    return EXIT_FAILURE;\n  }\n  return EXIT_SUCCESS;\n}',
      'int twice_zero() { int r = twice(0); if (r) return 1; return 0; }',
      'int twice_value(void) { int r = twice(3); return r; }',
      'void twice_abort(void) { if (twice(2) != 4) abort(); }',
      'int test_twice(void) { return twice(2) == 4 ? 0 : 1; }',
      'int test_plain(void) { if (twice(2) != 4) return 1; return 0; }',
      'int zero(void) { return 0; }',
      'int twice_helped(void) { return zero(); }',
      '',
    ].join('\n');
    const sites = await findTests('c', src);
    const view = sites.map((s) => [s.name, !!s.byName, s.body ? (s.body.empty ?? '') : null]);
    assert.deepEqual(view, [
      ['twice_small', true, '{ return EXIT_SUCCESS; }'],
      ['twice_zero', true, '{ return 0; }'],
      // A local's value, or a call's, is no convention of the harness: not emptied.
      ['twice_value', true, null],
      ['twice_abort', true, ''],
      ['test_twice', false, null],
      ['test_plain', false, '{ return 0; }'],
      ['twice_helped', true, null],
    ]);
    assert.equal(await hasSyntaxErrors('c', applyEdits(src, [{ ...byName(sites, 'twice_small').body!, replacement: byName(sites, 'twice_small').body!.empty! }])), false);
    // Code files have such functions too: they are test code only where they are named like tests.
    const ranges = await testCodeRanges('c', src);
    assert.deepEqual(ranges.map((r) => src.slice(r.start, r.end).split('(')[0]), ['int test_twice', 'int test_plain']);
  });

  it('c: a name that only assertions read is kept used where its function\'s first assertion stood', async () => {
    const src = fixture('test_werror.c');
    const sites = await findTests('c', src);
    assert.deepEqual(sites.map((s) => s.name), ['test_hash', 'main']);
    // h and r (only written outside the assertions) keep a use; twice, a static helper, too; check_hash is no assertion.
    assert.deepEqual(byName(sites, 'test_hash').assertions.map((a) => a.replacement), ['(void)sizeof(h);', '(void)sizeof(r);', '(void)twice;']);
    assert.deepEqual(byName(sites, 'main').assertions.map((a) => a.replacement), ['(void)sizeof(s); (void)sizeof(expected);', '(void)sizeof(h);', '(void)sizeof(r);', '(void)twice;']);
    await assertAssertionRemovalParses('c', src, sites.filter((s) => s.name !== 'main'));
  });
});
