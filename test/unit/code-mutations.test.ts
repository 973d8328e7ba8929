import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { applyEdits, findMutations, hasSyntaxErrors, type Lang, type Mutation } from '../../src/agents/code/index.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/code/${name}`, import.meta.url), 'utf8');

function find(muts: Mutation[], pred: (m: Mutation) => boolean, what: string): Mutation {
  const m = muts.find(pred);
  assert.ok(m, `expected ${what}; got:\n${muts.map((x) => `  ${x.kind} L${x.line} ${x.description}`).join('\n')}`);
  return m;
}

async function assertAllValid(lang: Lang, src: string, muts: Mutation[]): Promise<void> {
  for (const m of muts) {
    assert.equal(await hasSyntaxErrors(lang, applyEdits(src, [m.edit])), false, `${m.kind}: ${m.description}`);
  }
}

function assertWellFormed(src: string, muts: Mutation[]): void {
  for (let i = 1; i < muts.length; i++) assert.ok(muts[i - 1]!.edit.start <= muts[i]!.edit.start, 'source order');
  for (const m of muts) {
    assert.ok(m.line >= 1 && m.depth > 0 && m.size >= 0 && m.description.length > 0);
    assert.ok(m.edit.start <= m.edit.end && m.edit.end <= src.length);
    assert.notEqual(src.slice(m.edit.start, m.edit.end), m.edit.replacement, 'a mutation changes something');
  }
}

describe('code: findMutations python', async () => {
  const src = fixture('inventory.py');
  const muts = await findMutations('python', src);

  it('finds operator, condition and value mutations with lines and functions', () => {
    const flip = find(muts, (m) => m.kind === 'compare-flip' && m.line === 26 && m.edit.replacement === '<=', '< to <= in clamp');
    assert.equal(flip.functionName, 'clamp');
    assert.equal(flip.nodeType, 'comparison_operator');
    assert.equal(flip.description, 'flip < to <= in clamp() at line 26');
    find(muts, (m) => m.kind === 'compare-flip' && m.line === 26 && m.edit.replacement === '>', '< to > swap');
    const rng = find(muts, (m) => m.kind === 'off-by-one' && m.line === 35, 'range(n) off-by-one');
    assert.equal(rng.edit.replacement, 'len(items) - 1');
    assert.equal(rng.functionName, 'find_index');
    find(muts, (m) => m.kind === 'off-by-one' && m.functionName === 'last_index' && m.edit.replacement === 'len(items)', 'len(x) - 1 to len(x)');
    find(muts, (m) => m.kind === 'logic-swap' && m.line === 65 && m.edit.replacement === 'and', 'or to and');
    const neg = find(muts, (m) => m.kind === 'negate-condition' && m.line === 52, 'negation of `not items`');
    assert.equal(neg.edit.replacement, 'items');
    find(muts, (m) => m.kind === 'negate-condition' && m.line === 28 && m.edit.replacement === 'not (value > high)', 'elif negation');
    const ret = find(muts, (m) => m.kind === 'return-change' && m.functionName === 'add', 'return None in Store.add');
    assert.equal(ret.edit.replacement, 'None');
    find(muts, (m) => m.kind === 'constant-change' && m.line === 64 && m.edit.replacement === 'True', 'False to True');
    find(muts, (m) => m.kind === 'constant-change' && m.line === 44 && m.edit.replacement === '6', '5 to 6');
    find(muts, (m) => m.kind === 'arith-swap' && m.line === 45 && m.edit.replacement === '-=', '+= to -=');
    const rm = find(muts, (m) => m.kind === 'remove-statement' && m.line === 47, 'remove print');
    assert.equal(src.slice(rm.edit.start, rm.edit.end), '            print("restocked", item.name)\n');
    find(muts, (m) => m.kind === 'remove-branch' && m.line === 28 && m.nodeType === 'elif_clause', 'remove elif');
    find(muts, (m) => m.kind === 'remove-branch' && m.line === 30 && m.nodeType === 'else_clause', 'remove else');
    find(muts, (m) => m.kind === 'remove-branch' && m.line === 27 && m.edit.replacement === 'pass', 'empty if body');
  });

  it('skips mutations that hang loops, the __main__ guard and module-level statements', () => {
    // `n -= 1` drives `while n > 0`: flipping or dropping it would spin forever.
    assert.ok(!muts.some((m) => m.line === 75 && m.kind !== 'remove-statement' && m.kind !== 'constant-change'));
    assert.ok(!muts.some((m) => m.line === 75));
    assert.ok(!muts.some((m) => m.line >= 94), '__main__ block');
    assert.ok(!muts.some((m) => m.kind === 'remove-statement' && m.functionName === null));
  });

  it('each mutation alone parses', async () => {
    assertWellFormed(src, muts);
    await assertAllValid('python', src, muts);
  });

  it('flips the two-token operators `is not` and `not in` as one', async () => {
    const s = 'def f(a, b, c):\n    if a is not None and b not in c:\n        return 1\n    return a in c\n';
    const m = (await findMutations('python', s)).filter((x) => x.kind === 'compare-flip');
    assert.deepEqual(
      m.map((x) => applyEdits(s, [x.edit]).split('\n')[x.line - 1]!.trim()),
      ['if a is None and b not in c:', 'if a is not None and b in c:', 'return a not in c'],
    );
  });

  it('leaves module-level conditions alone', async () => {
    const s = 'import sys\nif sys.version_info >= (3, 8):\n    import json\nelse:\n    json = None\n';
    const m = await findMutations('python', s);
    assert.deepEqual(m, []);
  });
});

describe('code: findMutations javascript', async () => {
  const src = fixture('cart.js');
  const muts = await findMutations('javascript', src);

  it('finds loop-condition flips, branch removals and statement removals', () => {
    const flip = find(muts, (m) => m.kind === 'compare-flip' && m.line === 17 && m.edit.replacement === '<=', '< in for condition');
    assert.equal(flip.functionName, 'sum');
    find(muts, (m) => m.kind === 'remove-branch' && m.functionName === 'add' && m.nodeType === 'else_clause', 'remove else in add');
    find(muts, (m) => m.kind === 'remove-branch' && m.functionName === 'clamp' && m.description.startsWith('remove else if'), 'remove else-if');
    find(muts, (m) => m.kind === 'remove-statement' && m.functionName === 'add' && m.line === 38, 'remove assignment');
    find(muts, (m) => m.kind === 'off-by-one' && m.functionName === 'lastIndex', 'arrow function off-by-one');
    find(muts, (m) => m.kind === 'logic-swap' && m.functionName === 'isEmpty', '&& to ||');
    const neg = find(muts, (m) => m.kind === 'negate-condition' && m.line === 36, 'negate `existing`');
    assert.equal(neg.edit.replacement, '!(existing)');
    const ret = find(muts, (m) => m.kind === 'return-change' && m.functionName === 'total', 'return undefined');
    assert.equal(ret.edit.replacement, 'undefined');
  });

  it('leaves loop counters, super() and top-level statements alone', () => {
    assert.ok(!muts.some((m) => m.line === 17 && m.kind === 'arith-swap'), 'i++ of a for loop');
    assert.ok(!muts.some((m) => m.line === 62), 'n-- of a while loop');
    assert.ok(!muts.some((m) => m.kind === 'remove-statement' && m.functionName === null));
  });

  it('each mutation alone parses', async () => {
    assertWellFormed(src, muts);
    await assertAllValid('javascript', src, muts);
  });
});

describe('code: findMutations typescript', async () => {
  const src = fixture('shapes.ts');
  const muts = await findMutations('typescript', src);

  it('uses declared return types for return changes', () => {
    assert.equal(find(muts, (m) => m.kind === 'return-change' && m.functionName === 'distance', 'distance').edit.replacement, '0');
    assert.equal(find(muts, (m) => m.kind === 'return-change' && m.functionName === 'loadShapes', 'async').edit.replacement, '[]');
    assert.equal(find(muts, (m) => m.kind === 'return-change' && m.functionName === 'isBig', 'boolean').edit.replacement, 'false');
    assert.ok(!muts.some((m) => m.kind === 'return-change' && m.functionName === 'findShape'), 'no zero for an interface type');
    assert.ok(!muts.some((m) => m.kind === 'return-change' && m.functionName === 'describeShape' && m.line === 35), 'already undefined');
  });

  it('finds operator mutations after a non-ASCII literal, in methods and arrows', () => {
    const swap = find(muts, (m) => m.kind === 'arith-swap' && m.line === 19, 'a.x - b.x');
    assert.equal(src.slice(swap.edit.start, swap.edit.end), '-');
    assert.equal(swap.functionName, 'distance');
    find(muts, (m) => m.kind === 'arith-swap' && m.functionName === 'area' && m.edit.replacement === '*', '** to *');
    find(muts, (m) => m.kind === 'constant-change' && m.functionName === 'perimeter', 'arrow constant');
    find(muts, (m) => m.kind === 'negate-condition' && m.functionName === 'loadShapes' && m.edit.replacement === '!(opts.limit > 0)', 'wrap');
    // `if (!s) return` narrows `s` for the code after it: unwrapped, `s.name` is a type error, not a bug.
    assert.ok(!muts.some((m) => m.kind === 'negate-condition' && m.functionName === 'describeShape'), 'a type guard is left alone');
    assert.ok(!muts.some((m) => m.kind === 'remove-statement' && src.slice(m.edit.start, m.edit.end).includes('super(')));
  });

  it('each mutation alone parses', async () => {
    assertWellFormed(src, muts);
    await assertAllValid('typescript', src, muts);
  });

  it('tsx sources parse and mutate', async () => {
    const tsx = 'export function View({ n }: { n: number }) {\n  if (n > 1) {\n    return <ul>{[1, 2].map((i) => <li key={i}>{i * n}</li>)}</ul>;\n  }\n  return <p>none</p>;\n}\n';
    const m = await findMutations('tsx', tsx);
    find(m, (x) => x.kind === 'compare-flip' && x.line === 2, 'flip in tsx');
    find(m, (x) => x.kind === 'arith-swap' && x.line === 3, 'swap in jsx expression');
    await assertAllValid('tsx', tsx, m);
  });
});

describe('code: findMutations go', async () => {
  const src = fixture('calc.go');
  const muts = await findMutations('go', src);

  it('finds mutations with Go zero values', () => {
    const flip = find(muts, (m) => m.kind === 'compare-flip' && m.line === 32 && m.edit.replacement === '<=', 'v < lo');
    assert.equal(flip.functionName, 'Clamp');
    assert.equal(find(muts, (m) => m.kind === 'return-change' && m.line === 28, 'Divide return').edit.replacement, '0, nil');
    assert.equal(find(muts, (m) => m.kind === 'return-change' && m.line === 65, 'struct return').edit.replacement, 'Stats{}, nil');
    assert.equal(find(muts, (m) => m.kind === 'return-change' && m.functionName === 'Warm', 'bool').edit.replacement, 'false');
    find(muts, (m) => m.kind === 'arith-swap' && m.line === 62 && m.edit.replacement === '--', 's.Count++');
    find(muts, (m) => m.kind === 'off-by-one' && m.functionName === 'Last', 'len(xs)-1');
    find(muts, (m) => m.kind === 'remove-branch' && m.functionName === 'Clamp' && m.description.startsWith('remove else if'), 'else if');
    const neg = find(muts, (m) => m.kind === 'negate-condition' && m.functionName === 'Divide', 'negate');
    assert.equal(neg.edit.replacement, '!(b == 0)');
  });

  it('avoids edits Go would not compile or that hang', () => {
    assert.ok(!muts.some((m) => m.line === 42 && m.kind === 'arith-swap'), 'i++ in the for clause');
    assert.ok(!muts.some((m) => m.kind === 'return-change' && m.functionName === 'Lookup'), 'bare return of named results');
    // `return strings.Join(...)` is the file's only use of "strings": replacing it would not compile.
    assert.ok(!muts.some((m) => m.kind === 'return-change' && m.functionName === 'Describe'));
  });

  it('leaves literals in types, case labels and map keys alone', async () => {
    const s = 'package p\n\nfunc F(x int) int {\n\tvar a [4]int\n\tm := map[int]string{7: "a"}\n\tswitch x {\n\tcase 5:\n\t\treturn a[0] + len(m)\n\t}\n\treturn 9\n}\n';
    const m = await findMutations('go', s);
    const touched = m.filter((x) => x.kind === 'constant-change').map((x) => s.slice(x.edit.start, x.edit.end));
    // `a[0]` could only grow, and a constant index past the array's end does not compile.
    assert.deepEqual([...new Set(touched)].sort(), ['9']);
    await assertAllValid('go', s, m);
  });

  it('does not remove a statement whose removal leaves a variable or import unused', async () => {
    const s = 'package p\n\nimport "fmt"\n\nfunc F() {\n\tv := 1\n\tfmt.Println(v)\n\tw := 2\n\tprintln(w)\n\tprintln(w)\n}\n';
    const m = await findMutations('go', s);
    const removed = m.filter((x) => x.kind === 'remove-statement').map((x) => s.slice(x.edit.start, x.edit.end).trim());
    assert.deepEqual(removed, ['println(w)', 'println(w)']);
  });

  it('each mutation alone parses', async () => {
    assertWellFormed(src, muts);
    await assertAllValid('go', src, muts);
  });
});

describe('code: findMutations rust and java', async () => {
  it('rust: operator and constant mutations', async () => {
    const src = fixture('lib.rs');
    const muts = await findMutations('rust', src);
    const flip = find(muts, (m) => m.kind === 'compare-flip' && m.line === 2 && m.edit.replacement === '<=', 'v < lo');
    assert.equal(flip.functionName, 'clamp');
    find(muts, (m) => m.kind === 'arith-swap' && m.functionName === 'bump' && m.edit.replacement === '-=', '+= to -=');
    find(muts, (m) => m.kind === 'constant-change' && m.functionName === 'is_big' && m.edit.replacement === '11', '10 to 11');
    find(muts, (m) => m.kind === 'constant-change' && m.functionName === 'is_big' && m.edit.replacement === 'false', 'true to false');
    find(muts, (m) => m.kind === 'negate-condition' && m.functionName === 'clamp', 'negate if');
    await assertAllValid('rust', src, muts);
  });

  it('java: operator, constant and return mutations', async () => {
    const src = fixture('Calc.java');
    const muts = await findMutations('java', src);
    find(muts, (m) => m.kind === 'compare-flip' && m.functionName === 'clamp' && m.edit.replacement === '<=', 'v < lo');
    find(muts, (m) => m.kind === 'constant-change' && m.edit.replacement === '11L', '10L to 11L');
    find(muts, (m) => m.kind === 'logic-swap' && m.functionName === 'isBig', '|| to &&');
    assert.equal(find(muts, (m) => m.kind === 'return-change' && m.functionName === 'name', 'String').edit.replacement, 'null');
    assert.equal(find(muts, (m) => m.kind === 'return-change' && m.functionName === 'isBig', 'boolean').edit.replacement, 'false');
    await assertAllValid('java', src, muts);
  });
});

describe('code: a mutation says which way it goes (its variant)', () => {
  it('names the direction in one word per side, so a policy can tell an edit from its inverse', async () => {
    const src = 'function f(a, b, ok) {\n  if (!(a != b)) return 64;\n  if (ok) return a + 1;\n  return 0;\n}\n';
    const muts = await findMutations('javascript', src);
    const variants = new Set(muts.map((m) => `${m.kind} ${m.variant}`));
    for (const v of ['negate-condition strip', 'negate-condition wrap', 'compare-flip fromne toeq', 'arith-swap fromplus tominus', 'constant-change tozero', 'constant-change inc', 'constant-change dec', 'constant-change fromzero']) {
      assert.ok(variants.has(v), `${v} among ${[...variants].join(', ')}`);
    }
    // Stripping the injected negation restores the condition's meaning.
    const strip = muts.find((m) => m.variant === 'strip')!;
    assert.equal(applyEdits(src, [strip.edit]).split('\n')[1], '  if ((a != b)) return 64;');
  });
});

describe('code: findMutations c and cpp', async () => {
  it('c: operators, conditions, literals and returns; nothing where a change breaks the build', async () => {
    const src = fixture('ring.c');
    const muts = await findMutations('c', src);
    assertWellFormed(src, muts);
    await assertAllValid('c', src, muts);
    find(muts, (m) => m.kind === 'compare-flip' && m.functionName === 'ring_push' && m.edit.replacement === '!=', '== to != in ring_push');
    find(muts, (m) => m.kind === 'negate-condition' && m.functionName === 'ring_stats', 'negate if in ring_stats');
    find(muts, (m) => m.kind === 'arith-swap' && m.functionName === 'hash' && m.edit.replacement === '>>', '<< to >>');
    find(muts, (m) => m.kind === 'constant-change' && m.edit.replacement === '5382UL', 'suffixed literal');
    find(muts, (m) => m.kind === 'remove-statement' && m.functionName === 'ring_clear', 'statement removal');
    assert.equal(find(muts, (m) => m.kind === 'return-change' && m.functionName === 'ring_stats', 'struct').edit.replacement, '(struct stats){0}');
    assert.equal(find(muts, (m) => m.kind === 'return-change' && m.functionName === 'ring_peek', 'pointer').edit.replacement, '0');
    const lines = (kind: string, line: number) => muts.filter((m) => m.kind === kind && m.line === line);
    // #if conditions, array sizes, enumerators, bit-field widths and case labels stay as they are.
    assert.deepEqual(lines('compare-flip', 6), []);
    assert.deepEqual([10, 13, 18, 26].flatMap((l) => lines('constant-change', l)), []);
    assert.deepEqual(lines('constant-change', 61), []);
    // Loop counters whose change would hang the loop are left alone.
    assert.ok(!muts.some((m) => m.functionName === 'weighted' && m.line === 73));
    assert.ok(!muts.some((m) => m.kind === 'return-change' && /NULL/.test(src.slice(m.edit.start, m.edit.end))));
  });

  it('cpp: {} for class results, no stream or template-argument changes, no returns from references or auto', async () => {
    const src = fixture('shelf.cpp');
    const muts = await findMutations('cpp', src);
    assertWellFormed(src, muts);
    await assertAllValid('cpp', src, muts);
    find(muts, (m) => m.kind === 'compare-flip' && m.functionName === 'add' && m.edit.replacement === '>', '>= to >');
    find(muts, (m) => m.kind === 'off-by-one' && m.functionName === 'label', 'size() - 1');
    assert.equal(find(muts, (m) => m.kind === 'return-change' && m.functionName === 'label', 'std::string').edit.replacement, '{}');
    assert.equal(find(muts, (m) => m.kind === 'return-change' && m.functionName === 'add', 'bool').edit.replacement, 'false');
    find(muts, (m) => m.kind === 'arith-swap' && m.functionName === 'scaled' && m.edit.replacement === '>>', 'a shift with literals');
    assert.ok(!muts.some((m) => m.functionName === 'print' && m.kind === 'arith-swap'), 'os << x is a stream, not a shift');
    assert.ok(!muts.some((m) => m.kind === 'return-change' && (m.functionName === 'first' || m.functionName === 'count')));
    assert.ok(!muts.some((m) => m.line === 64 && src.slice(m.edit.start, m.edit.end) === '3'), 'std::array<int, 3> keeps its size');
    assert.ok(!muts.some((m) => m.kind === 'return-change' && src.slice(m.edit.start, m.edit.end) === 'nullptr'));
  });
});
