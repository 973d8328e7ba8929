import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addsSyntaxErrors, applyEdits, findMutations, hasSyntaxErrors, langOfPath } from '../../src/agents/code/index.js';
import { sameCode } from '../../src/agents/code/sameCode.js';

describe('code: langOfPath', () => {
  it('maps extensions to grammars', () => {
    assert.equal(langOfPath('src/a.py'), 'python');
    assert.equal(langOfPath('a/b/c.mjs'), 'javascript');
    assert.equal(langOfPath('x.cjs'), 'javascript');
    assert.equal(langOfPath('x.jsx'), 'javascript');
    assert.equal(langOfPath('x.ts'), 'typescript');
    assert.equal(langOfPath('x.mts'), 'typescript');
    assert.equal(langOfPath('x.cts'), 'typescript');
    assert.equal(langOfPath('x.tsx'), 'tsx');
    assert.equal(langOfPath('pkg/x_test.go'), 'go');
    assert.equal(langOfPath('src/lib.rs'), 'rust');
    assert.equal(langOfPath('A.java'), 'java');
    assert.equal(langOfPath('src/ring.c'), 'c');
    for (const f of ['a.cc', 'a.cpp', 'a.cxx', 'a.hpp', 'a.hh', 'a.hxx', 'a.C']) assert.equal(langOfPath(f), 'cpp', f);
    // A .h may be C or C++; the C++ grammar parses both.
    assert.equal(langOfPath('include/ring.h'), 'cpp');
    assert.equal(langOfPath('README.md'), null);
    assert.equal(langOfPath('Makefile'), null);
    assert.equal(langOfPath('.py'), null);
    assert.equal(langOfPath('types/index.d.ts'), null);
  });
});

describe('code: hasSyntaxErrors', () => {
  const cases: [Parameters<typeof hasSyntaxErrors>[0], string, string][] = [
    ['python', 'def f(x):\n    return x + 1\n', 'def f(x:\n    return x\n'],
    ['javascript', 'const f = (x) => x + 1;\n', 'const f = (x => x + ;\n'],
    ['typescript', 'function f(x: number): number { return x; }\n', 'function f(x: number): { return x; }\n'],
    ['tsx', 'const a = <div className="x">{1}</div>;\n', 'const a = <div className="x">{1}</span;\n'],
    ['go', 'package p\n\nfunc F() int { return 1 }\n', 'package p\n\nfunc F() int { return 1 \n'],
    ['rust', 'fn f() -> i32 { 1 }\n', 'fn f() -> i32 { 1 \n'],
    ['java', 'class A { int f() { return 1; } }\n', 'class A { int f() { return 1; }\n'],
    ['c', 'int f(int x) { return x + 1; }\n', 'int f(int x) { return x + ; }\n'],
    ['cpp', 'namespace n { template <class T> T f(T x) { return x; } }\n', 'namespace n { template <class T> T f(T x) { return x; }\n'],
  ];
  for (const [lang, good, bad] of cases) {
    it(`${lang}: valid and invalid sources`, async () => {
      assert.equal(await hasSyntaxErrors(lang, good), false);
      assert.equal(await hasSyntaxErrors(lang, bad), true);
    });
  }
});

describe('code: addsSyntaxErrors', () => {
  it('judges an edit of a file the grammar already stumbles on by its number of errors', async () => {
    // A calling-convention macro is plain C to a compiler and an error to tree-sitter, whatever the edit.
    const src = '#define CDECL\nstruct hooks {\n    void *(CDECL *alloc)(int n);\n};\nint half(int x) {\n    return x / 2;\n}\n';
    assert.equal(await hasSyntaxErrors('c', src), true);
    assert.equal(await addsSyntaxErrors('c', src, src.replace('x / 2', 'x * 2')), false);
    assert.equal(await addsSyntaxErrors('c', src, src.replace('x / 2;', 'x / ;')), true);
    assert.equal(await addsSyntaxErrors('c', 'int f(void) { return 1; }\n', 'int f(void) { return ; 1; }\n'), false);
    assert.equal(await addsSyntaxErrors('c', 'int f(void) { return 1; }\n', 'int f(void) { return 1 }\n'), true);
    assert.equal(await addsSyntaxErrors('c', null, 'int f(void) { return 1 }\n'), true);
  });
});

describe('code: sameCode', () => {
  it('comments, docstrings and layout are not code; a changed token, string or comment marker inside a string is', async () => {
    assert.equal(await sameCode('python', 'def f(x):\n    """Old."""\n    return x  # a\n', 'def f(x):\n    """New words."""\n\n    return x   # b\n'), true);
    assert.equal(await sameCode('python', 'def f(x):\n    return "a"\n', 'def f(x):\n    return "b"\n'), false);
    assert.equal(await sameCode('rust', '/// doc\nfn f() -> u8 { 1 } // x\n', '/// other doc\nfn f() -> u8 {\n    1\n}\n'), true);
    assert.equal(await sameCode('rust', 'fn f() -> u8 { 1 }\n', 'fn f() -> u8 { 2 }\n'), false);
    assert.equal(await sameCode('go', 'package p\n\n// A.\nfunc F() string { return "// not a comment" }\n', 'package p\n\n// B.\nfunc F() string { return "// not a comment" }\n'), true);
    assert.equal(await sameCode('go', 'package p\n\nfunc F() string { return "// a" }\n', 'package p\n\nfunc F() string { return "// b" }\n'), false);
    assert.equal(await sameCode('javascript', '/* a */ const x = 1;\n', '// b\nconst x = 1;\n'), true);
    assert.equal(await sameCode('javascript', 'const x = 1;\n', 'let x = 1;\n'), false);
  });
});

describe('code: applyEdits', () => {
  it('applies edits in any order', () => {
    const src = 'abcdef';
    assert.equal(
      applyEdits(src, [
        { start: 4, end: 5, replacement: 'E' },
        { start: 0, end: 1, replacement: 'AA' },
        { start: 2, end: 2, replacement: '+' },
      ]),
      'AAb+cdEf',
    );
    assert.equal(applyEdits(src, []), src);
  });
  it('rejects overlapping or out-of-range edits', () => {
    assert.throws(() => applyEdits('abcdef', [{ start: 0, end: 3, replacement: '' }, { start: 2, end: 4, replacement: '' }]));
    assert.throws(() => applyEdits('abc', [{ start: 1, end: 1, replacement: 'x' }, { start: 1, end: 1, replacement: 'y' }]));
    assert.throws(() => applyEdits('abc', [{ start: 2, end: 9, replacement: '' }]));
  });
});

describe('code: non-ASCII sources', () => {
  it('python: offsets are JS string indices after é and an emoji', async () => {
    const src = 'def f(a, b):\n    s = "é😀 naïve"; t = "🚀"\n    if a < b:\n        return a - 1\n    return b\n';
    const muts = await findMutations('python', src);
    const flip = muts.find((m) => m.kind === 'compare-flip' && m.edit.replacement === '<=');
    assert.ok(flip);
    assert.equal(src.slice(flip.edit.start, flip.edit.end), '<');
    assert.equal(flip.edit.start, src.indexOf('<'));
    assert.equal(flip.line, 3);
    const off = muts.find((m) => m.kind === 'off-by-one');
    assert.ok(off);
    assert.equal(src.slice(off.edit.start, off.edit.end), 'a - 1');
    assert.equal(applyEdits(src, [off.edit]), src.replace('a - 1', 'a'));
  });

  it('typescript: mutations on the same line as an emoji string', async () => {
    const src = 'export function g(x: number): boolean {\n  const s = "café 😀"; return x > 2;\n}\n';
    const muts = await findMutations('typescript', src);
    const flip = muts.find((m) => m.kind === 'compare-flip' && m.edit.replacement === '>=');
    assert.ok(flip);
    assert.equal(flip.edit.start, src.indexOf('>'));
    assert.equal(flip.line, 2);
    const constant = muts.find((m) => m.kind === 'constant-change' && m.edit.replacement === '3');
    assert.ok(constant);
    assert.equal(src.slice(constant.edit.start, constant.edit.end), '2');
    for (const m of muts) assert.equal(await hasSyntaxErrors('typescript', applyEdits(src, [m.edit])), false, m.description);
  });

  it('go: removal-style edits after multi-byte runes', async () => {
    const src = 'package p\n\nfunc F(a int) int {\n\t_ = "日本語 é 😀"\n\tif a == 0 {\n\t\treturn 1\n\t}\n\treturn a\n}\n';
    const muts = await findMutations('go', src);
    const neg = muts.find((m) => m.kind === 'negate-condition');
    assert.ok(neg);
    assert.equal(src.slice(neg.edit.start, neg.edit.end), 'a == 0');
    assert.equal(neg.edit.replacement, '!(a == 0)');
  });
});
