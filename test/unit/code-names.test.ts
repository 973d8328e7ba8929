import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { definedFunctions, referencedNames } from '../../src/agents/code/index.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/code/${name}`, import.meta.url), 'utf8');

describe('code: definedFunctions', () => {
  it('python: functions, methods and classes with ranges including decorators', async () => {
    const src = fixture('inventory.py');
    const defs = await definedFunctions('python', src);
    const names = defs.map((d) => d.name);
    for (const n of ['Item', 'total', 'is_available', 'clamp', 'find_index', 'Store', '__init__', 'add', 'value']) assert.ok(names.includes(n), n);
    const item = defs.find((d) => d.name === 'Item')!;
    assert.ok(src.slice(item.start).startsWith('@dataclass'));
    assert.equal(item.line, 10);
    const clamp = defs.find((d) => d.name === 'clamp')!;
    assert.deepEqual([clamp.line, clamp.endLine], [25, 31]);
    assert.ok(src.slice(clamp.start, clamp.end).endsWith('return value'));
  });

  it('javascript/typescript: declarations, methods and named arrows', async () => {
    const js = (await definedFunctions('javascript', fixture('cart.js'))).map((d) => d.name);
    assert.deepEqual(js, ['clamp', 'sum', 'lastIndex', 'Cart', 'constructor', 'add', 'total', 'isEmpty', 'countdown']);
    const ts = await definedFunctions('typescript', fixture('shapes.ts'));
    const names = ts.map((d) => d.name);
    for (const n of ['Shape', 'distance', 'loadShapes', 'Circle', 'area', 'diameter', 'perimeter', 'total']) assert.ok(names.includes(n), n);
    const per = ts.find((d) => d.name === 'perimeter')!;
    assert.ok(fixture('shapes.ts').slice(per.start, per.end).startsWith('export const perimeter'));
  });

  it('javascript: a named function expression goes by its own name and by the name it is bound to', async () => {
    const src = "var below = function isBelow(a, b) { return a < b; };\nmodule.exports = x ? function isSmall(n) { return below(n, 10); } : function isSmall() { return false; };\nobj.run = function run() {};\n";
    const defs = await definedFunctions('javascript', src);
    assert.deepEqual(defs.map((d) => d.name), ['isBelow', 'below', 'isSmall', 'isSmall', 'run']);
    const own = defs[0]!;
    assert.ok(src.slice(own.start, own.end).startsWith('function isBelow'));
    assert.ok(src.slice(defs[1]!.start, defs[1]!.end).startsWith('var below'));
  });

  it('go, rust, java', async () => {
    const go = (await definedFunctions('go', fixture('calc.go'))).map((d) => d.name);
    assert.deepEqual(go, ['Stats', 'Celsius', 'Shape', 'Divide', 'Clamp', 'Sum', 'Describe', 'Summarise', 'Mean', 'Warm', 'Lookup', 'Last', 'Log']);
    const rs = (await definedFunctions('rust', fixture('lib.rs'))).map((d) => d.name);
    assert.deepEqual(rs, ['clamp', 'sum', 'Counter', 'bump', 'is_big', 'top_level', 'clamps_low', 'inner', 'not_a_test']);
    const java = (await definedFunctions('java', fixture('Calc.java'))).map((d) => d.name);
    assert.deepEqual(java, ['Calc', 'Calc', 'clamp', 'isBig', 'name', 'clampsLow', 'fails']);
  });

  it('c and cpp: functions by their declarator\'s name, types with a body', async () => {
    const c = (await definedFunctions('c', fixture('ring.c'))).map((d) => d.name);
    assert.deepEqual(c, ['mode', 'ring', 'stats', 'ring_push', 'ring_peek', 'ring_stats', 'mode_name', 'weighted', 'hash', 'is_empty', 'ring_clear']);
    const cpp = (await definedFunctions('cpp', fixture('shelf.cpp'))).map((d) => d.name);
    assert.deepEqual(cpp, ['Item', 'Shelf', 'Shelf', '~Shelf', 'add', 'total', 'label', 'first', 'count', 'print', 'scaled', 'index', 'make_shelf']);
  });
});

describe('code: referencedNames', () => {
  it('python test file: what it calls and imports, not its own definitions', async () => {
    const names = await referencedNames('python', fixture('test_inventory.py'));
    for (const n of ['clamp', 'find_index', 'Store', 'Item', 'add', 'value', 'assertEqual', 'pytest']) assert.ok(names.has(n), n);
    assert.ok(!names.has('test_clamp_low'));
    assert.ok(!names.has('TestStore'));
  });

  it('js, go and rust test files', async () => {
    const js = await referencedNames('javascript', fixture('cart.test.js'));
    for (const n of ['clamp', 'Cart', 'add', 'total', 'expect']) assert.ok(js.has(n), n);
    const go = await referencedNames('go', fixture('calc_test.go'));
    for (const n of ['Divide', 'Clamp', 'Sum', 'Errorf']) assert.ok(go.has(n), n);
    assert.ok(!go.has('TestDivide'));
    const rs = await referencedNames('rust', fixture('lib.rs'));
    assert.ok(rs.has('clamp'));
    const c = await referencedNames('c', fixture('test_ring.c'));
    for (const n of ['ring_push', 'ring_peek', 'mode_name', 'hash', 'is_empty', 'MODE_FIFO']) assert.ok(c.has(n), n);
  });
});
