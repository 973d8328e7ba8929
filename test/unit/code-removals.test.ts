import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  applyEdits,
  definedFunctions,
  findRemovals,
  hasSyntaxErrors,
  type Lang,
  type Removal,
  removalEdits,
} from '../../src/agents/code/index.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/code/${name}`, import.meta.url), 'utf8');

function body(rs: Removal[], name: string): Removal {
  const r = rs.find((x) => x.kind === 'function-body' && x.functionName === name);
  assert.ok(r, `no function-body removal for ${name}: ${rs.map((x) => x.description).join('; ')}`);
  return r;
}

async function assertAllValid(lang: Lang, src: string, rs: Removal[]): Promise<void> {
  for (const r of rs) {
    assert.ok(r.line >= 1 && r.endLine >= r.line && r.size >= 0);
    assert.equal(await hasSyntaxErrors(lang, applyEdits(src, removalEdits(r))), false, r.description);
  }
}

/** Names defined at top level or directly in a top-level class (nested helpers go with their function). */
async function surfaceNames(lang: Lang, src: string): Promise<string[]> {
  const defs = await definedFunctions(lang, src);
  const top = defs.filter((d) => defs.every((o) => o === d || !(o.start <= d.start && d.end <= o.end) || isClassLike(src, o)));
  return top.map((d) => d.name).sort();
}

function isClassLike(src: string, d: { start: number }): boolean {
  const head = src.slice(d.start, d.start + 200).split('\n').find((l) => !l.trim().startsWith('@')) ?? '';
  return /\b(class|interface|struct|impl)\b/.test(head);
}

async function assertKeepsSurface(lang: Lang, src: string, rs: Removal[]): Promise<string> {
  const whole = rs.find((r) => r.kind === 'whole-file');
  assert.ok(whole, 'whole-file removal');
  const out = applyEdits(src, removalEdits(whole));
  assert.equal(await hasSyntaxErrors(lang, out), false);
  const before = await surfaceNames(lang, src);
  assert.ok(before.length >= 5, `surface: ${before.join(', ')}`);
  assert.deepEqual(await surfaceNames(lang, out), before);
  assert.ok(out.length < src.length);
  return out;
}

describe('code: findRemovals go', async () => {
  const src = fixture('calc.go');
  const rs = await findRemovals('go', src);

  it('stubs bodies with the zero values of the declared results', () => {
    assert.equal(body(rs, 'Divide').edit.replacement, '{\n\treturn 0, nil\n}');
    assert.equal(body(rs, 'Clamp').edit.replacement, '{\n\treturn 0\n}');
    assert.equal(body(rs, 'Describe').edit.replacement, '{\n\treturn ""\n}');
    assert.equal(body(rs, 'Summarise').edit.replacement, '{\n\treturn Stats{}, nil\n}');
    assert.equal(body(rs, 'Mean').edit.replacement, '{\n\treturn 0\n}');
    assert.equal(body(rs, 'Warm').edit.replacement, '{\n\treturn false\n}');
    assert.equal(body(rs, 'Lookup').edit.replacement, '{\n\treturn\n}', 'named results');
    assert.equal(body(rs, 'Log').edit.replacement, '{}');
    const divide = body(rs, 'Divide');
    assert.equal(divide.line, 24);
    assert.equal(divide.endLine, 29);
  });

  it('drops imports a removal leaves unused', () => {
    const d = body(rs, 'Describe');
    assert.equal(d.extraEdits.length, 1);
    assert.equal(src.slice(d.extraEdits[0]!.start, d.extraEdits[0]!.end), '\t"strings"\n');
    assert.equal(body(rs, 'Divide').extraEdits.length, 0, 'errors is still used by ErrEmpty');
  });

  it('omits results it cannot zero safely', async () => {
    const s = 'package p\n\nimport "example.com/dep"\n\nfunc A() dep.Thing {\n\treturn dep.New()\n}\n\nfunc B[T any](x T) (T, error) {\n\treturn x, nil\n}\n';
    const r = await findRemovals('go', s);
    assert.ok(!r.some((x) => x.kind === 'function-body' && x.functionName === 'A'));
    assert.equal(body(r, 'B').edit.replacement, '{\n\treturn *new(T), nil\n}');
    const whole = r.find((x) => x.kind === 'whole-file');
    assert.ok(whole);
    assert.match(whole.edit.replacement, /return \*new\(dep\.Thing\)/);
    assert.match(whole.edit.replacement, /"example.com\/dep"/, 'still used by the signature');
  });

  it('rewrites a range loop whose body goes so its variables do not dangle', () => {
    const r = rs.find((x) => x.kind === 'statement-block' && x.functionName === 'Summarise');
    assert.ok(r);
    assert.equal(applyEdits(src, removalEdits(r)).includes('for range xs {}'), true);
  });

  it('whole file keeps the declarations and prunes imports', async () => {
    const out = await assertKeepsSurface('go', src, rs);
    assert.ok(!out.includes('"fmt"') && !out.includes('"strings"'));
    assert.ok(out.includes('"errors"'));
  });

  it('every removal parses', async () => {
    await assertAllValid('go', src, rs);
  });
});

describe('code: findRemovals python', async () => {
  const src = fixture('inventory.py');
  const rs = await findRemovals('python', src);

  it('stubs bodies, keeping docstrings', () => {
    const total = body(rs, 'total');
    assert.equal(applyEdits(src, [total.edit]).includes('"""Price times quantity."""\n        return None\n'), true);
    assert.equal(total.line, 19);
    assert.equal(body(rs, 'clamp').edit.replacement, 'return None');
    assert.equal(body(rs, '__init__').edit.replacement, 'pass');
    assert.equal(body(rs, 'clamp').size, 6);
  });

  it('offers large statement blocks but not loops that would spin', () => {
    const blocks = rs.filter((r) => r.kind === 'statement-block');
    assert.deepEqual(blocks.map((b) => [b.functionName, b.line, b.edit.replacement]), [['restock', 45, 'pass']]);
  });

  it('whole file keeps imports, constants and signatures, drops the main guard', async () => {
    const out = await assertKeepsSurface('python', src, rs);
    assert.ok(out.includes('from dataclasses import dataclass, field'));
    assert.ok(out.includes('MAX_ITEMS = 100'));
    assert.ok(out.includes('@dataclass\nclass Item:'));
    assert.ok(!out.includes('__main__'));
  });

  it('every removal parses', async () => {
    await assertAllValid('python', src, rs);
  });

  it('whole file keeps the bodies of functions that run at import time', async () => {
    const reg = fixture('registry.py');
    const whole = (await findRemovals('python', reg)).find((r) => r.kind === 'whole-file');
    assert.ok(whole);
    const out = applyEdits(reg, removalEdits(whole));
    for (const kept of ['return a, b', '_HANDLERS[name] = fn', 'self._values = dict(values)', 'return self._values[key]']) {
      assert.ok(out.includes(kept), `keeps ${kept}`);
    }
    for (const stubbed of ['return x * factor', 'return x + 1', 'return self.name.lower()', '", ".join']) {
      assert.ok(!out.includes(stubbed), `stubs ${stubbed}`);
    }
  });
});

describe('code: findRemovals javascript/typescript', async () => {
  it('javascript: empty bodies, CommonJS exports kept', async () => {
    const src = fixture('cart.js');
    const rs = await findRemovals('javascript', src);
    assert.equal(body(rs, 'clamp').edit.replacement, '{}');
    assert.ok(rs.some((r) => r.kind === 'statement-block' && r.functionName === 'add'));
    const out = await assertKeepsSurface('javascript', src, rs);
    assert.ok(out.includes('module.exports = { clamp, sum, lastIndex, Cart, countdown };'));
    assert.ok(!out.includes("console.log('loaded')"));
    await assertAllValid('javascript', src, rs);
  });

  it('typescript: stubs return values of the declared type', async () => {
    const src = fixture('shapes.ts');
    const rs = await findRemovals('typescript', src);
    // The parameters only the body read stay read (noUnusedParameters); a parameter property is a field.
    assert.equal(body(rs, 'distance').edit.replacement, '{\n  void a;\n  void b;\n  return 0;\n}');
    // `label`, a module constant only loadShapes read, too (noUnusedLocals).
    assert.equal(body(rs, 'loadShapes').edit.replacement, '{\n  void label;\n  void opts;\n  return [];\n}');
    assert.equal(body(rs, 'describeShape').edit.replacement, '{\n  void s;\n  return undefined;\n}');
    assert.equal(body(rs, 'constructor').edit.replacement, '{\n    super();\n  }', 'derived constructors keep super()');
    assert.equal(body(rs, 'diameter').edit.replacement, '{\n    return 0;\n  }');
    assert.ok(!rs.some((r) => r.kind === 'function-body' && r.functionName === 'findShape'), 'no safe zero for Shape');
    const out = await assertKeepsSurface('typescript', src, rs);
    assert.ok(out.includes('export interface Shape'));
    assert.ok(out.includes('export const perimeter = (r: number): number => 0;'));
    await assertAllValid('typescript', src, rs);
  });
});

describe('code: findRemovals rust and java', async () => {
  it('rust: simple defaults only', async () => {
    const src = fixture('lib.rs');
    const rs = await findRemovals('rust', src);
    assert.equal(body(rs, 'clamp').edit.replacement, '{\n    0\n}');
    assert.equal(body(rs, 'is_big').edit.replacement, '{\n        false\n    }');
    assert.ok(!rs.some((r) => r.kind === 'whole-file'));
    await assertAllValid('rust', src, rs);
  });

  it('java: zero returns, constructors left alone', async () => {
    const src = fixture('Calc.java');
    const rs = await findRemovals('java', src);
    assert.equal(body(rs, 'clamp').edit.replacement, '{\n        return 0;\n    }');
    assert.equal(body(rs, 'name').edit.replacement, '{\n        return null;\n    }');
    assert.ok(!rs.some((r) => r.functionName === 'Calc'));
    await assertAllValid('java', src, rs);
  });
});

describe('code: findRemovals c and cpp', async () => {
  it('c: bodies return their type\'s zero, their parameters kept used (-Werror=unused-parameter); blocks of loops with an update clause', async () => {
    const src = fixture('ring.c');
    const rs = await findRemovals('c', src);
    assert.equal(body(rs, 'ring_push').edit.replacement, '{\n    (void)r;\n    (void)v;\n    return 0;\n}');
    assert.equal(body(rs, 'ring_stats').edit.replacement, '{\n    (void)r;\n    return (struct stats){0};\n}');
    assert.equal(body(rs, 'ring_clear').edit.replacement, '{\n    (void)r;\n}');
    assert.ok(rs.some((r) => r.kind === 'statement-block' && r.functionName === 'ring_stats'));
    // The while loop advances in its body: emptying it would hang.
    assert.ok(!rs.some((r) => r.kind === 'statement-block' && r.functionName === 'weighted'));
    assert.ok(!rs.some((r) => r.kind === 'whole-file'));
    await assertAllValid('c', src, rs);
  });

  it('cpp: {} for class results, destructors emptied, conversion operators, references and auto left alone', async () => {
    const src = fixture('shelf.cpp');
    const rs = await findRemovals('cpp', src);
    assert.equal(body(rs, 'label').edit.replacement, '{\n        return {};\n    }');
    assert.equal(body(rs, 'add').edit.replacement, '{\n        (void)item;\n        return false;\n    }');
    assert.equal(body(rs, '~Shelf').edit.replacement, '{}');
    for (const name of ['first', 'count', 'operator bool', 'Shelf']) assert.ok(!rs.some((r) => r.kind === 'function-body' && r.functionName === name), name);
    await assertAllValid('cpp', src, rs);
  });
});
