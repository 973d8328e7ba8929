import { cFunctionDeclarator, cFunctionName, field, fields, isComment, lineExpandedRange, namedChildren, statementsOf, walk } from './ast.js';
import type { Edit } from './edits.js';
import { GoIndex } from './gousage.js';
import { isJsLike, type Lang } from './lang.js';
import { type Parsed, type SNode, withParsed } from './parser.js';

export interface TestSite {
  /** The test's name as its runner reports it (see findTests). */
  name: string;
  /** The whole definition, including decorators/attributes and comment lines directly above. */
  start: number;
  end: number;
  line: number;
  /** One edit per assertion statement that removes it; applied together they still parse. */
  assertions: Edit[];
  /**
   * The test's body, where emptying it leaves a test that runs and passes (Python: `pass`; JS/TS: `{}`, or one call
   * on the callback's parameter where the runner wants it): a test that raises before any assertion is weakened so,
   * since a deleted test no longer passes. `empty`: what an empty body is where it is not the runner's (Rust's
   * `{ Ok(()) }` for a test returning a Result; a pytest benchmark's one call of its fixture). Absent where an emptied test would fail or not build: a test that
   * expects a panic or an exception (`#[should_panic]`, `@Test(expected = ...)`), one that must return a value.
   * Go's: an import only the test used must go with it (dropOrphanedGoImports).
   */
  body?: { start: number; end: number; param: string | null; empty?: string };
  /**
   * JS/TS: the names the runner reports for this site where its title, or a describe's around it, is an `.each`
   * template (`'parse $path with $options'`, `'adds %d'`): one site, a test per row of the table.
   */
  rows?: RegExp;
  /**
   * A site only where a runner reports a test of this name: a C function that nothing marks as a test but a
   * harness may call by name (from a list of test functions). It is no test code otherwise (testCodeRanges).
   */
  byName?: boolean;
}

/** Extend a definition's start over the comment lines (and Rust attributes) directly above it. */
function leadingStart(p: Parsed, n: SNode, alsoAttributes = false): number {
  let start = n.start;
  const parent = n.parent;
  if (!parent) return start;
  let idx = parent.children.indexOf(n);
  let row = n.row;
  while (idx > 0) {
    const prev = parent.children[idx - 1]!;
    const ok = isComment(prev) || (alsoAttributes && prev.type === 'attribute_item');
    // Only what sits on the lines right above belongs to the definition.
    if (!ok || p.lines.row(prev.end) < row - 1) break;
    // A trailing comment on a line of code belongs to that code, not to the test below.
    const lineStart = p.lines.lineStart(prev.start);
    if (p.source.slice(lineStart, prev.start).trim() !== '') break;
    start = prev.start;
    row = prev.row;
    idx--;
  }
  return start;
}

/* ---------- Python ---------- */

function pyAssertionCall(p: Parsed, s: SNode): boolean {
  if (s.type !== 'expression_statement') return false;
  let e = namedChildren(s)[0];
  if (e?.type === 'await') e = namedChildren(e)[0];
  if (!e || e.type !== 'call') return false;
  const fn = field(e, 'function');
  if (!fn) return false;
  const last = fn.type === 'attribute' ? field(fn, 'attribute') : fn;
  const name = last ? p.text(last) : '';
  if (/^assert/i.test(name) || name === 'fail') return true;
  // A fluent assertion: `assert_that(x).is_equal_to(y)` (assertpy), `expect(x).to(equal(y))`: its chain starts at one.
  let cur: SNode | null = fn.type === 'attribute' ? field(fn, 'object') : null;
  while (cur && (cur.type === 'attribute' || cur.type === 'call')) {
    if (cur.type === 'call') {
      const f = field(cur, 'function');
      if (f?.type === 'identifier' && /^(assert_that|expect|check_that)$/.test(p.text(f))) return true;
      cur = f;
    } else cur = field(cur, 'object');
  }
  return false;
}

function pyAssertions(p: Parsed, fn: SNode): Edit[] {
  const body = field(fn, 'body');
  if (!body) return [];
  const isAssertion = (s: SNode): boolean => s.type === 'assert_statement' || pyAssertionCall(p, s);
  const edits: Edit[] = [];
  walk(body, (n) => {
    if (n !== body && (n.type === 'function_definition' || n.type === 'class_definition')) return false;
    if (n.type !== 'block') return;
    const stmts = statementsOf(n);
    const survivors = stmts.filter((s) => !isAssertion(s));
    for (const s of stmts) {
      if (!isAssertion(s)) continue;
      if (survivors.length > 0) {
        const [a, b] = lineExpandedRange(p, s.start, s.end);
        edits.push({ start: a, end: b, replacement: '' });
      } else {
        // A block of nothing but assertions must keep a statement once they are all gone.
        edits.push({ start: s.start, end: s.end, replacement: 'pass' });
      }
    }
  });
  return edits;
}

/**
 * pytest-benchmark (and pytest-codspeed, which stands in for it) fails a test that requests its `benchmark` fixture
 * and never calls it: an emptied benchmark test keeps one call, of nothing.
 */
function pyEmptyBody(p: Parsed, def: SNode): { empty: string } | Record<string, never> {
  const params = field(def, 'parameters');
  const names = params ? namedChildren(params).map((c) => (c.type === 'identifier' ? c : field(c, 'name') ?? namedChildren(c).find((x) => x.type === 'identifier'))) : [];
  return names.some((n) => !!n && p.text(n) === 'benchmark') ? { empty: 'benchmark(lambda: None)' } : {};
}

/** A definition statement's function or class (under its decorators), with its name. */
function pyDefinition(p: Parsed, s: SNode): { def: SNode; name: string } | null {
  const def = s.type === 'decorated_definition' ? field(s, 'definition') : s;
  const nameNode = def ? field(def, 'name') : null;
  return def && nameNode ? { def, name: p.text(nameNode) } : null;
}

/** The classes of a Python file, how they derive from one another, and the test sites their methods are. */
function pyClasses(p: Parsed) {
  const classes = new Map<string, SNode>();
  for (const s of statementsOf(p.root)) {
    const d = pyDefinition(p, s);
    if (d && d.def.type === 'class_definition') classes.set(d.name, d.def);
  }
  // The file's own classes a class derives from, named plainly (`class CacheTest(TestCase, CacheTestMixin)`).
  const basesOf = (cls: SNode): SNode[] => {
    const supers = field(cls, 'superclasses');
    const out: SNode[] = [];
    for (const c of supers ? namedChildren(supers) : []) {
      const base = c.type === 'identifier' ? classes.get(p.text(c)) : undefined;
      if (base && base !== cls) out.push(base);
    }
    return out;
  };
  const isUnittest = (cls: SNode, seen = new Set<SNode>()): boolean => {
    if (seen.has(cls)) return false;
    seen.add(cls);
    const supers = field(cls, 'superclasses');
    return (!!supers && /TestCase\b/.test(p.text(supers))) || basesOf(cls).some((b) => isUnittest(b, seen));
  };
  const site = (s: SNode, def: SNode, name: string): TestSite => ({
    name,
    start: leadingStart(p, s),
    end: s.end,
    line: def.row + 1,
    assertions: pyAssertions(p, def),
    ...(field(def, 'body') ? { body: { start: field(def, 'body')!.start, end: field(def, 'body')!.end, param: null, ...pyEmptyBody(p, def) } } : {}),
  });
  /**
   * The test methods a class has, its own (when asked) and those it inherits from the file's other classes, each
   * named `<prefix>::<method>`: the class's own definitions first, then its bases' depth-first, left to right, as
   * Python's lookup finds them for the usual mixin shapes.
   */
  const testsOf = (cls: SNode, prefix: string, own: boolean): TestSite[] => {
    const out: TestSite[] = [];
    const defined = new Set<string>();
    const seen = new Set<SNode>();
    const collect = (c: SNode, isOwn: boolean): void => {
      if (seen.has(c)) return;
      seen.add(c);
      const body = field(c, 'body');
      for (const s of body ? statementsOf(body) : []) {
        const d = pyDefinition(p, s);
        if (!d || d.def.type !== 'function_definition' || defined.has(d.name)) continue;
        defined.add(d.name);
        if ((own || !isOwn) && d.name.startsWith('test')) out.push(site(s, d.def, `${prefix}::${d.name}`));
      }
      for (const b of basesOf(c)) collect(b, false);
    };
    collect(cls, true);
    return out;
  };
  return { classes, isUnittest, site, testsOf };
}

function pyTests(p: Parsed): TestSite[] {
  const out: TestSite[] = [];
  const { isUnittest, site, testsOf } = pyClasses(p);
  const visit = (stmts: SNode[], prefix: string | null): void => {
    for (const s of stmts) {
      const d = pyDefinition(p, s);
      if (!d) continue;
      const { def, name } = d;
      if (def.type === 'function_definition' && name.startsWith('test')) {
        out.push(site(s, def, prefix ? `${prefix}::${name}` : name));
      } else if (def.type === 'class_definition') {
        const body = field(def, 'body');
        const hasInit = !!body && statementsOf(body).some((m) => m.type === 'function_definition' && p.text(field(m, 'name') ?? m) === '__init__');
        // pytest collects Test* classes without __init__; unittest collects TestCase subclasses.
        if (body && (isUnittest(def) || (name.startsWith('Test') && !hasInit))) {
          const own = prefix ? `${prefix}::${name}` : name;
          visit(statementsOf(body), own);
          // A test a class inherits from a base of the same file (a mixin of shared tests, a base TestCase) runs, and
          // is reported, under each class that inherits it: its site is the base's method, so weakening it there
          // hides it.
          if (prefix === null) out.push(...testsOf(def, own, false));
        }
      }
    }
  };
  visit(statementsOf(p.root), null);
  return out;
}

/**
 * The test methods a class of a Python module defines or inherits within it, named `<method>`: what a test class of
 * another file that derives from it (`from . import SharedTests`) runs and reports as its own. Empty where the module
 * has no such class.
 */
export async function pyClassTests(source: string, className: string): Promise<TestSite[]> {
  return withParsed('python', source, (p) => {
    const cls = pyClasses(p).classes.get(className);
    return cls ? pyClasses(p).testsOf(cls, '', true).map((s) => ({ ...s, name: s.name.slice(2) })) : [];
  });
}

/**
 * The classes a Python test class derives from that its file imports: by name (`from .base import SharedTests`,
 * `from . import SharedTests as Shared`), or through the module that holds them (`import tests.base as b` with
 * `b.SharedTests`, `import tests.base` with `tests.base.SharedTests`, `from . import base` with `base.SharedTests`):
 * the module as imported (dots kept) and the name in it.
 */
export async function pyImportedBases(source: string, className: string): Promise<{ module: string; name: string }[]> {
  return withParsed('python', source, (p) => {
    const cls = pyClasses(p).classes.get(className);
    const supers = cls ? field(cls, 'superclasses') : null;
    if (!supers) return [];
    // Local name -> what it is: a name taken from a module (`from M import N`), or a module (`import a.b as m`).
    const imported = new Map<string, { module: string; name: string }>();
    const modules = new Map<string, string>();
    for (const s of statementsOf(p.root)) {
      if (s.type === 'import_from_statement') {
        const mod = field(s, 'module_name');
        if (!mod) continue;
        for (const c of s.children) {
          if (c.field !== 'name') continue;
          const orig = c.type === 'aliased_import' ? field(c, 'name') : c;
          const alias = c.type === 'aliased_import' ? field(c, 'alias') : c;
          if (orig && alias) imported.set(p.text(alias), { module: p.text(mod), name: p.text(orig) });
        }
      } else if (s.type === 'import_statement') {
        for (const c of s.children) {
          if (c.field !== 'name') continue;
          if (c.type === 'aliased_import') {
            const orig = field(c, 'name');
            const alias = field(c, 'alias');
            if (orig && alias) modules.set(p.text(alias), p.text(orig));
          } else {
            // `import a.b` binds `a`, and `a.b.X` names X in a.b: kept whole, matched by prefix below.
            modules.set(p.text(c), p.text(c));
          }
        }
      }
    }
    // A name imported from a module may itself be a module (`from . import base`, `from tests import base`).
    const submodule = (from: { module: string; name: string }): string => (/^\.+$/.test(from.module) ? from.module + from.name : `${from.module}.${from.name}`);
    const out: { module: string; name: string }[] = [];
    for (const c of namedChildren(supers)) {
      if (c.type === 'identifier') {
        const hit = imported.get(p.text(c));
        if (hit) out.push(hit);
        continue;
      }
      if (c.type !== 'attribute') continue;
      const text = p.text(c).replace(/\s+/g, '');
      const dot = text.lastIndexOf('.');
      const owner = text.slice(0, dot);
      const name = text.slice(dot + 1);
      const [head, ...rest] = owner.split('.');
      const tail = rest.length > 0 ? `.${rest.join('.')}` : '';
      if (modules.get(owner) === owner) out.push({ module: owner, name });
      else if (modules.has(head!)) out.push({ module: modules.get(head!)! + tail, name });
      else if (imported.has(head!)) out.push({ module: submodule(imported.get(head!)!) + tail, name });
    }
    return out;
  });
}

/* ---------- JavaScript / TypeScript ---------- */

const JS_TEST_FNS = new Set(['test', 'it', 'specify']);
const JS_SUITE_FNS = new Set(['describe', 'suite', 'context']);

/** A string literal's value, or null for anything computed (template substitutions included). */
function jsLiteralString(p: Parsed, n: SNode | undefined): string | null {
  if (!n) return null;
  if (n.type === 'string') {
    const raw = p.text(n);
    try {
      // Single-quoted literals become valid JSON once their quotes and inner escapes are swapped.
      if (raw.startsWith('"')) return JSON.parse(raw) as string;
      return JSON.parse('"' + raw.slice(1, -1).replace(/\\'/g, "'").replace(/"/g, '\\"') + '"') as string;
    } catch {
      return raw.slice(1, -1);
    }
  }
  if (n.type === 'template_string') {
    if (n.children.some((c) => c.type === 'template_substitution')) return null;
    return p.text(n).slice(1, -1);
  }
  return null;
}

function jsCallee(p: Parsed, call: SNode): string | null {
  const fn = field(call, 'function');
  return fn && fn.type === 'identifier' ? p.text(fn) : null;
}

/** `it` of `it.each(table)(title, fn)` or of the tagged-table form `it.each\`...\`(title, fn)`; null for any other call. */
function jsEachCallee(p: Parsed, call: SNode): string | null {
  const fn = field(call, 'function');
  if (!fn || fn.type !== 'call_expression') return null;
  const member = field(fn, 'function');
  if (!member || member.type !== 'member_expression') return null;
  const object = field(member, 'object');
  const prop = field(member, 'property');
  return object?.type === 'identifier' && prop && p.text(prop) === 'each' ? p.text(object) : null;
}

/**
 * A regular expression source for the names jest and vitest give the rows of an `.each` title: printf placeholders
 * (`%s`, `%d`, `%o`, `%#`, ...) and `$name` / `$a.b` interpolations stand for any text, `%%` for a percent sign.
 */
function eachTitlePattern(title: string): string {
  let out = '';
  const re = /%%|%[sdifjoOpc#$]|\$[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*/g;
  let last = 0;
  for (const m of title.matchAll(re)) {
    out += escapeRegExp(title.slice(last, m.index)) + (m[0] === '%%' ? '%' : '[\\s\\S]*?');
    last = m.index + m[0].length;
  }
  return out + escapeRegExp(title.slice(last));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Root identifier and member names of a call/member chain such as `expect(x).not.toBe(y)`. */
function jsChain(p: Parsed, n: SNode): { root: string | null; names: string[] } {
  const names: string[] = [];
  let cur: SNode | null = n;
  while (cur) {
    if (cur.type === 'call_expression') cur = field(cur, 'function');
    else if (cur.type === 'member_expression') {
      const prop = field(cur, 'property');
      if (prop) names.push(p.text(prop));
      cur = field(cur, 'object');
    } else if (cur.type === 'await_expression' || cur.type === 'parenthesized_expression') cur = namedChildren(cur)[0] ?? null;
    else if (cur.type === 'identifier') return { root: p.text(cur), names };
    else return { root: null, names };
  }
  return { root: null, names };
}

const AVA_ASSERTIONS = new Set([
  'is', 'not', 'deepEqual', 'notDeepEqual', 'true', 'false', 'truthy', 'falsy', 'throws', 'throwsAsync',
  'notThrows', 'notThrowsAsync', 'regex', 'notRegex', 'like', 'assert', 'pass', 'fail', 'snapshot',
  'equal', 'notEqual', 'ok', 'notOk', 'same', 'notSame', 'strictEqual', 'notStrictEqual', 'match',
]);

// Modules whose exports are assertions, so that `import { strictEqual } from 'node:assert'` (or `const { ok } =
// require('assert')`) makes `strictEqual(a, b)` one.
const JS_ASSERT_MODULE = /^(node:)?assert(\/strict)?$|^(chai|uvu\/assert|power-assert|expect|@jest\/globals|vitest)$/;

/** Local names bound to the exports of an assertion module, by import or require destructuring. */
function jsAssertImports(p: Parsed): Set<string> {
  const out = new Set<string>();
  const str = (n: SNode | null | undefined) => (n && n.type === 'string' ? p.text(n).slice(1, -1) : null);
  walk(p.root, (n) => {
    if (n.type === 'import_statement') {
      const src = str(field(n, 'source'));
      if (src && JS_ASSERT_MODULE.test(src)) {
        walk(n, (m) => {
          if (m.type === 'import_specifier') out.add(p.text(field(m, 'alias') ?? field(m, 'name') ?? m));
          if (m.type === 'identifier' && (m.parent?.type === 'import_clause' || m.parent?.type === 'namespace_import')) out.add(p.text(m));
        });
      }
      return false;
    }
    if (n.type === 'variable_declarator') {
      const v = field(n, 'value');
      const name = field(n, 'name');
      if (v?.type === 'call_expression' && jsCallee(p, v) === 'require' && name?.type === 'object_pattern') {
        const src = str(namedChildren(field(v, 'arguments') ?? v)[0]);
        if (src && JS_ASSERT_MODULE.test(src)) {
          for (const c of namedChildren(name)) {
            const local = c.type === 'pair_pattern' ? field(c, 'value') : c;
            if (local?.type === 'identifier' || local?.type === 'shorthand_property_identifier_pattern') out.add(p.text(local));
          }
        }
      }
    }
  });
  // Test-structure functions a testing module also exports are not assertions.
  for (const n of ['test', 'it', 'describe', 'suite', 'beforeEach', 'afterEach', 'beforeAll', 'afterAll', 'vi', 'jest']) out.delete(n);
  return out;
}

function jsIsAssertion(p: Parsed, s: SNode, testParam: string | null, imported: Set<string> = new Set()): boolean {
  if (s.type !== 'expression_statement') return false;
  const e = namedChildren(s)[0];
  if (!e) return false;
  const { root, names } = jsChain(p, e);
  if (!root) return false;
  if (root === 'expect' || root === 'assert' || root === 'expectTypeOf' || root === 'should') return true;
  if (imported.has(root)) return true;
  if (names.includes('assert') || names.includes('expect') || names.includes('should')) return true;
  // ava / tap / node:test style: the callback's own parameter carries the assertions.
  return !!testParam && root === testParam && names.length > 0 && AVA_ASSERTIONS.has(names[names.length - 1]!);
}

function jsAssertions(p: Parsed, fn: SNode, imported: Set<string>): Edit[] {
  const body = field(fn, 'body');
  if (!body || body.type !== 'statement_block') return [];
  const params = field(fn, 'parameters') ?? field(fn, 'parameter');
  const firstParam = params ? (params.type === 'identifier' ? params : namedChildren(params)[0]) : undefined;
  const paramName = firstParam ? p.text(field(firstParam, 'pattern') ?? firstParam) : null;
  const edits: Edit[] = [];
  walk(body, (n) => {
    if (!jsIsAssertion(p, n, paramName, imported)) return;
    const parent = n.parent;
    if (parent && (parent.type === 'statement_block' || parent.type === 'switch_case' || parent.type === 'switch_default')) {
      const [a, b] = lineExpandedRange(p, n.start, n.end);
      edits.push({ start: a, end: b, replacement: '' });
    } else {
      // The sole body of a brace-less if/for: an empty block keeps the statement well-formed.
      edits.push({ start: n.start, end: n.end, replacement: '{}' });
    }
    return false;
  });
  return edits;
}

function jsBody(p: Parsed, fn: SNode): Pick<TestSite, 'body'> {
  const body = field(fn, 'body');
  if (!body || body.type !== 'statement_block') return {};
  const params = field(fn, 'parameters') ?? field(fn, 'parameter');
  const first = params ? (params.type === 'identifier' ? params : namedChildren(params)[0]) : undefined;
  const param = first ? p.text(field(first, 'pattern') ?? first) : null;
  return { body: { start: body.start, end: body.end, param: param && /^[A-Za-z_$][\w$]*$/.test(param) ? param : null } };
}

function jsTests(p: Parsed): TestSite[] {
  const out: TestSite[] = [];
  const imported = jsAssertImports(p);
  // `patterns`: each title as a regular expression source, set where an `.each` title stands for many names.
  const visit = (n: SNode, titles: string[], patterns: string[] | null): void => {
    for (const c of n.children) {
      if (c.type === 'call_expression') {
        const each = jsEachCallee(p, c);
        const callee = each ?? jsCallee(p, c);
        const args = field(c, 'arguments');
        const argList = args ? namedChildren(args) : [];
        const fnArg = argList.find((a) => a.type === 'arrow_function' || a.type === 'function_expression' || a.type === 'function');
        if (callee && (JS_SUITE_FNS.has(callee) || JS_TEST_FNS.has(callee)) && fnArg) {
          const title = jsLiteralString(p, argList[0]);
          if (title === null) continue;
          const pattern = each ? eachTitlePattern(title) : escapeRegExp(title);
          const nextPatterns = patterns || each ? [...(patterns ?? titles.map(escapeRegExp)), pattern] : null;
          if (JS_SUITE_FNS.has(callee)) {
            visit(fnArg, [...titles, title], nextPatterns);
          } else {
            const stmt = c.parent?.type === 'expression_statement' ? c.parent : c;
            const body = jsBody(p, fnArg);
            // An `.each` callback's parameters are the row's values, never a done callback to call.
            if (each && body.body) body.body.param = null;
            out.push({
              name: [...titles, title].join(' > '),
              ...(nextPatterns ? { rows: new RegExp(`^${nextPatterns.join(' > ')}$`) } : {}),
              start: leadingStart(p, stmt),
              end: stmt.end,
              line: c.row + 1,
              assertions: jsAssertions(p, fnArg, imported),
              ...body,
            });
          }
          continue;
        }
        // `.only`, `.skip` and the like are not followed: their semantics differ.
      }
      if (c.type === 'function_declaration' || c.type === 'class_declaration') continue;
      visit(c, titles, patterns);
    }
  };
  visit(p.root, [], null);
  return out;
}

/* ---------- Go ---------- */

function goTestParam(p: Parsed, fn: SNode): string | null {
  const params = field(fn, 'parameters');
  if (!params) return null;
  for (const d of namedChildren(params)) {
    const t = field(d, 'type');
    const names = fields(d, 'name');
    if (t && /^\*\s*testing\.T$/.test(p.text(t)) && names.length === 1) return p.text(names[0]!);
  }
  return null;
}

const GO_FAIL = /^(Error|Errorf|Fatal|Fatalf|Fail|FailNow)$/;

/**
 * Assertion libraries beyond `testing` (testify, quicktest, matryer/is, gotest.tools, gomega), by import path: their
 * package-level calls (`qt.Assert(t, ...)`, `assert.Equal(t, ...)`) and the objects their constructors return
 * (`c := qt.New(t)`, `is := is.New(t)`, `a := assert.New(t)`, `g := gomega.NewWithT(t)`) assert. A test written with
 * them has no `t.Error` to remove, and deleting it whole hides nothing (a deleted test does not pass).
 */
const GO_ASSERT_IMPORT = /^(github\.com\/(frankban\/quicktest|matryer\/is|stretchr\/testify\/(assert|require)|onsi\/gomega)|gotest\.tools(\/v3)?\/assert)$/;
// What such an object also does besides asserting: subtests, setup, logging. Any other method asserts.
const GO_NOT_ASSERT = /^(Run|Parallel|Helper|Cleanup|Patch|Setenv|Unsetenv|Chdir|Mkdir|TempDir|Defer|Done|Deadline|Context|Log|Logf|Skip|Skipf|SkipNow|Name|TB|New\w*|NewRelaxed)$/;
const GO_MATCH_CHAIN = /^(To|ToNot|NotTo|Should|ShouldNot)$/;

function goAssertNames(p: Parsed, go: GoIndex, fn: SNode): { pkgs: Set<string>; dot: boolean; objs: Set<string> } {
  const pkgs = new Set<string>();
  let dot = false;
  for (const imp of go.imports) {
    const path = field(imp.spec, 'path');
    if (path && GO_ASSERT_IMPORT.test(p.text(path).replace(/^["`]|["`]$/g, ''))) pkgs.add(imp.name);
  }
  walk(p.root, (n) => {
    if (n.type !== 'import_spec') return n.type === 'source_file' || n.type === 'import_declaration' || n.type === 'import_spec_list';
    const alias = field(n, 'name'), path = field(n, 'path');
    if (alias && p.text(alias) === '.' && path && GO_ASSERT_IMPORT.test(p.text(path).replace(/^["`]|["`]$/g, ''))) dot = true;
    return false;
  });
  const objs = new Set<string>();
  if (pkgs.size === 0 && !dot) return { pkgs, dot, objs };
  const isAssertPkg = (t: string) => pkgs.has(t);
  walk(fn, (n) => {
    // c := qt.New(t); a, r := assert.New(t), require.New(t); g := NewWithT(t) (dot import)
    if (n.type === 'short_var_declaration' || n.type === 'assignment_statement' || n.type === 'var_spec') {
      const left = n.type === 'var_spec' ? fields(n, 'name') : namedChildren(field(n, 'left') ?? n);
      const rightList = n.type === 'var_spec' ? field(n, 'value') : field(n, 'right');
      const right = rightList ? namedChildren(rightList) : [];
      right.forEach((r, i) => {
        if (r.type !== 'call_expression' || !left[i]) return;
        const callee = field(r, 'function');
        if (!callee) return;
        const ok = callee.type === 'selector_expression'
          ? isAssertPkg(p.text(field(callee, 'operand') ?? callee)) && /^New/.test(p.text(field(callee, 'field') ?? callee))
          : dot && /^New\w*WithT$/.test(p.text(callee));
        if (ok && left[i]!.type === 'identifier') objs.add(p.text(left[i]!));
      });
    }
    // func(c *qt.C) { ... }: quicktest's subtests hand the object in.
    if (n.type === 'parameter_declaration') {
      const t = field(n, 'type');
      const m = t ? /^\*\s*(\w+)\.\w+$/.exec(p.text(t)) : null;
      if (m && isAssertPkg(m[1]!)) for (const nm of fields(n, 'name')) objs.add(p.text(nm));
    }
  });
  return { pkgs, dot, objs };
}

function goAssertions(p: Parsed, go: GoIndex, fn: SNode): Edit[] {
  const body = field(fn, 'body');
  if (!body) return [];
  const sites: SNode[] = [];
  const tNames = new Set<string>();
  const collect = (f: SNode): void => {
    const t = goTestParam(p, f);
    if (t) tNames.add(t);
  };
  collect(fn);
  const lib = goAssertNames(p, go, fn);
  walk(body, (n) => {
    if (n.type === 'func_literal') collect(n);
    if (n.type !== 'expression_statement') return;
    const call = namedChildren(n)[0];
    const callee = call?.type === 'call_expression' ? field(call, 'function') : null;
    // Expect(x).To(Equal(y)), g.Expect(x).NotTo(HaveOccurred()): a gomega assertion is a chain ending in a matcher.
    if (callee?.type === 'selector_expression' && (lib.pkgs.size > 0 || lib.dot) && GO_MATCH_CHAIN.test(p.text(field(callee, 'field') ?? callee))) {
      const inner = field(callee, 'operand');
      const innerFn = inner?.type === 'call_expression' ? field(inner, 'function') : null;
      if (innerFn && /(^|\.)(Expect|Ω|Eventually|Consistently)$/.test(p.text(innerFn))) {
        sites.push(n);
        return false;
      }
    }
    // A helper handed the test's t (`runTests(t, cases, f)`, `checkParse(t, in, want)`) asserts for it: in
    // table-driven suites it is the only place the checks are, and removing the call removes them.
    if (call?.type === 'call_expression' && callee && !(callee.type === 'selector_expression' && tNames.has(p.text(field(callee, 'operand') ?? callee)))) {
      const args = field(call, 'arguments');
      if (args && namedChildren(args).some((a) => a.type === 'identifier' && tNames.has(p.text(a)))) {
        sites.push(n);
        return false;
      }
    }
    const operand = callee?.type === 'selector_expression' ? field(callee, 'operand') : null;
    const sel = callee?.type === 'selector_expression' ? field(callee, 'field') : null;
    if (!operand || !sel) return;
    const o = p.text(operand);
    const f = p.text(sel);
    if ((tNames.has(o) && GO_FAIL.test(f)) || o === 'assert' || o === 'require'
      || ((lib.pkgs.has(o) || lib.objs.has(o)) && !tNames.has(o) && !GO_NOT_ASSERT.test(f))) {
      sites.push(n);
      return false;
    }
    // Keep walking: `t.Run("name", func(t *testing.T) { ... })` holds assertions of its own.
  });
  if (sites.length === 0) return [];
  // Removing an assertion may leave a local (or an import) unused, which Go rejects. Any subset
  // of the assertions may be removed, so judge with all of them gone and keep each such name
  // used with `_ = x` wherever it appears; a redundant `_ = x` is harmless.
  const orphans = go.orphans(fn, sites.map((s) => [s.start, s.end] as const));
  return sites.map((s) => {
    const keep: string[] = [];
    walk(s, (n) => {
      const t = p.text(n);
      if (n.type === 'identifier' && orphans.locals.includes(t) && !keep.includes(`_ = ${t}`)) keep.push(`_ = ${t}`);
      // `_ = pkg.Func` keeps an import used; only functions (the callee of a call) are safe to name this way.
      if (n.type === 'selector_expression' && n.field === 'function') {
        const operand = field(n, 'operand');
        if (operand && orphans.imports.some((i) => i.name === p.text(operand)) && !keep.includes(`_ = ${t}`)) keep.push(`_ = ${t}`);
      }
    });
    const [a, b] = lineExpandedRange(p, s.start, s.end);
    if (keep.length === 0) return { start: a, end: b, replacement: '' };
    return { start: s.start, end: s.end, replacement: keep.join('; ') };
  });
}

/**
 * Whether go test runs an Example function: it takes and returns nothing, and its body ends in an output comment
 * (`// Output:`, `// Unordered output:`, any case, then the expected lines as comments); one without is compiled
 * and never run.
 */
function goExampleRuns(p: Parsed, fn: SNode, body: SNode): boolean {
  const params = field(fn, 'parameters');
  if ((params && namedChildren(params).length > 0) || field(fn, 'result')) return false;
  let output = -1;
  walk(body, (n) => {
    if (isComment(n) && /^\/[/*]\s*(?:unordered\s+)?output:/i.test(p.text(n))) output = n.start;
  });
  // Only comments may follow it: go takes the output from the body's last comment group.
  return output >= 0 && p.source.slice(output, body.end - 1).split('\n').every((l) => /^\s*(?:\/\/.*)?$/.test(l));
}

function goTests(p: Parsed): TestSite[] {
  const out: TestSite[] = [];
  const go = new GoIndex(p);
  for (const fn of p.root.children) {
    if (fn.type !== 'function_declaration') continue;
    const nameNode = field(fn, 'name');
    if (!nameNode) continue;
    const name = p.text(nameNode);
    const body = field(fn, 'body');
    if (/^Example([^a-z]|$)/.test(name) && body && goExampleRuns(p, fn, body)) {
      // What it prints, checked against its output comment, is its one assertion, and neither part goes alone:
      // without the comment go test no longer runs it (a vanished test hides nothing), and without the calls the
      // output differs. So it is weakened whole, to an example that prints nothing and says so.
      out.push({
        name, start: leadingStart(p, fn), end: fn.end, line: fn.row + 1, assertions: [],
        body: { start: body.start, end: body.end, param: null, empty: '{\n\t// Output:\n}' },
      });
      continue;
    }
    // go test: TestXxx where Xxx does not start with a lower-case letter, taking one *testing.T.
    if (!/^Test([^a-z]|$)/.test(name) || !goTestParam(p, fn)) continue;
    out.push({
      name, start: leadingStart(p, fn), end: fn.end, line: fn.row + 1, assertions: goAssertions(p, go, fn),
      ...(body ? { body: { start: body.start, end: body.end, param: null } } : {}),
    });
  }
  return out;
}

/* ---------- Rust ---------- */

// assert!, assert_eq!, debug_assert_ne!, prop_assert!, and crates' own by path: insta::assert_snapshot!, assert_matches!,
// approx's assert_relative_eq!, pretty_assertions' assert_eq!.
const RUST_ASSERT = /^((debug_|prop_)?assert(_\w+)?)$/;

function rustAssertions(p: Parsed, fn: SNode): Edit[] {
  const body = field(fn, 'body');
  if (!body) return [];
  const edits: Edit[] = [];
  walk(body, (n) => {
    if (n.type === 'function_item' || n.type === 'closure_expression') return false;
    const mac = n.type === 'expression_statement' ? namedChildren(n)[0] : n.type === 'macro_invocation' && n.parent?.type === 'block' ? n : null;
    if (!mac || mac.type !== 'macro_invocation') return;
    const name = field(mac, 'macro');
    if (!name || !RUST_ASSERT.test(p.text(name).split('::').pop()!.trim())) return;
    const [a, b] = lineExpandedRange(p, n.start, n.end);
    edits.push({ start: a, end: b, replacement: '' });
    return false;
  });
  return edits;
}

function rustTests(p: Parsed): TestSite[] {
  const out: TestSite[] = [];
  const visit = (container: SNode, path: string[]): void => {
    const kids = container.children;
    for (let i = 0; i < kids.length; i++) {
      const n = kids[i]!;
      if (n.type === 'mod_item') {
        const name = field(n, 'name');
        const body = field(n, 'body');
        if (name && body) visit(body, [...path, p.text(name)]);
        continue;
      }
      if (n.type !== 'function_item') continue;
      const attrs: SNode[] = [];
      for (let j = i - 1; j >= 0; j--) {
        const prev = kids[j]!;
        if (prev.type === 'attribute_item') attrs.push(prev);
        else if (!isComment(prev)) break;
      }
      const isTest = attrs.some((a) => /^#\[\s*([\w:]*::)?test\s*(\(|\])/.test(p.text(a)));
      const name = field(n, 'name');
      if (!isTest || !name) continue;
      out.push({
        name: [...path, p.text(name)].join('::'),
        start: leadingStart(p, n, true),
        end: n.end,
        line: n.row + 1,
        assertions: rustAssertions(p, n),
        ...rustBody(p, n, attrs),
      });
    }
  };
  visit(p.root, []);
  return out;
}

/**
 * An emptied Rust test passes unless it expects a panic; one returning a Result returns `Ok(())`, and one returning
 * anything else is left whole.
 */
function rustBody(p: Parsed, fn: SNode, attrs: SNode[]): Pick<TestSite, 'body'> {
  const body = field(fn, 'body');
  if (!body || attrs.some((a) => /^#\[\s*should_panic\b/.test(p.text(a)))) return {};
  const ret = field(fn, 'return_type');
  if (ret && p.text(ret).replace(/\s/g, '') !== '()') {
    return /\bResult\b/.test(p.text(ret)) ? { body: { start: body.start, end: body.end, param: null, empty: '{ Ok(()) }' } } : {};
  }
  return { body: { start: body.start, end: body.end, param: null } };
}

/* ---------- Java ---------- */

const JAVA_TEST_ANNOTATIONS = /^(Test|ParameterizedTest|RepeatedTest|TestFactory|TestTemplate)$/;

function javaAssertions(p: Parsed, fn: SNode): Edit[] {
  const body = field(fn, 'body');
  if (!body) return [];
  const edits: Edit[] = [];
  walk(body, (n) => {
    if (n.type === 'lambda_expression' || n.type === 'class_body') return false;
    if (n.type !== 'expression_statement') return;
    const names: string[] = [];
    let cur: SNode | null = namedChildren(n)[0] ?? null;
    while (cur && cur.type === 'method_invocation') {
      const nm = field(cur, 'name');
      if (nm) names.push(p.text(nm));
      cur = field(cur, 'object');
    }
    if (!names.some((x) => /^assert/.test(x) || x === 'fail' || x === 'verify')) return false;
    if (n.parent?.type === 'block' || n.parent?.type === 'switch_block_statement_group') {
      const [a, b] = lineExpandedRange(p, n.start, n.end);
      edits.push({ start: a, end: b, replacement: '' });
    } else {
      edits.push({ start: n.start, end: n.end, replacement: ';' });
    }
    return false;
  });
  return edits;
}

function javaTests(p: Parsed): TestSite[] {
  const out: TestSite[] = [];
  walk(p.root, (n) => {
    if (n.type !== 'method_declaration') return;
    const mods = n.children.find((c) => c.type === 'modifiers');
    const annotated =
      !!mods &&
      mods.children.some((a) => {
        if (a.type !== 'marker_annotation' && a.type !== 'annotation') return false;
        const nm = field(a, 'name');
        const last = nm ? p.text(nm).split('.').pop()! : '';
        return JAVA_TEST_ANNOTATIONS.test(last);
      });
    const name = field(n, 'name');
    if (annotated && name) {
      // Emptied, a void test passes, unless it expects an exception (JUnit 4's `expected`, TestNG's `expectedExceptions`).
      const body = field(n, 'body');
      const expects = mods!.children.some((a) => a.type === 'annotation' && /\bexpected(Exceptions)?\s*=/.test(p.text(a)));
      const isVoid = field(n, 'type')?.type === 'void_type';
      out.push({
        name: p.text(name), start: leadingStart(p, n), end: n.end, line: n.row + 1, assertions: javaAssertions(p, n),
        ...(body && isVoid && !expects ? { body: { start: body.start, end: body.end, param: null } } : {}),
      });
    }
    return false;
  });
  return out;
}

/* ---------- C / C++ ---------- */

/** GoogleTest's test-defining macros: TEST(Suite, Name) and its fixture, parameterized and typed forms. */
const GTEST_MACROS = /^(TEST|TEST_F|TEST_P|TYPED_TEST|TYPED_TEST_P|GTEST_TEST)$/;
/**
 * Assertion macros and functions: GoogleTest's EXPECT_* / ASSERT_* and FAIL(), C's assert(), and the common C
 * frameworks' checks (Unity TEST_ASSERT_*, Check ck_assert_*, CUnit CU_ASSERT_*, cmocka assert_*, Criterion
 * cr_assert/cr_expect, munit_assert_*, GLib g_assert_*, Catch2/doctest REQUIRE/CHECK).
 */
const C_ASSERT = /^(?:(?:EXPECT|ASSERT)_[A-Z0-9_]+|FAIL|ADD_FAILURE|GTEST_FAIL|fail|assert|assert_\w+|TEST_ASSERT\w*|ck_assert\w*|CU_ASSERT\w*|cr_assert\w*|cr_expect\w*|munit_assert\w*|g_assert\w*|(?:REQUIRE|CHECK)(?:_[A-Z_]+)?)$/;
/** Plain C test functions, by the names C test programs give them. */
const C_TEST_FN = /^(?:test_\w+|\w+_test|test[A-Z]\w*)$/;

/** The assertion call a statement makes, looking through `EXPECT_EQ(a, b) << "message"` streaming. */
function cAssertionCall(p: Parsed, s: SNode, helpers: ReadonlySet<string>): boolean {
  if (s.type !== 'expression_statement') return false;
  let e: SNode | null = namedChildren(s)[0] ?? null;
  while (e && e.type === 'binary_expression' && p.text(e.children.find((c) => c.field === 'operator') ?? e) === '<<') e = field(e, 'left');
  if (!e || e.type !== 'call_expression') return false;
  const fn = field(e, 'function');
  // A helper the file defines itself (`assert_is_string(item)`) is no assertion: its own assertions are.
  return !!fn && fn.type === 'identifier' && C_ASSERT.test(p.text(fn)) && !helpers.has(p.text(fn));
}

/** Names a declarator declares: `x`, `*x`, `x[3]`, `&x`, `x = 1`. */
function declaredName(p: Parsed, d: SNode | null): string | null {
  while (d && d.type !== 'identifier') {
    d = field(d, 'declarator') ?? d.children.find((c) => c.named && (c.type === 'identifier' || c.type.endsWith('_declarator'))) ?? null;
  }
  return d ? p.text(d) : null;
}

/** Parameters and local variables of a C/C++ function (lambdas and nested functions aside). */
function cLocals(p: Parsed, fn: SNode): Set<string> {
  const out = new Set<string>();
  const add = (d: SNode | null): void => {
    const name = declaredName(p, d);
    if (name) out.add(name);
  };
  // A test case's block has no parameters: it is its own body.
  const d = fn.type === 'compound_statement' ? null : cFunctionDeclarator(fn) ?? field(fn, 'declarator');
  const params = d ? field(d, 'parameters') : null;
  if (params) for (const prm of namedChildren(params)) add(field(prm, 'declarator'));
  const body = fn.type === 'compound_statement' ? fn : field(fn, 'body');
  if (body) {
    walk(body, (n) => {
      if (n.type === 'lambda_expression' || n.type === 'function_definition') return false;
      if (n.type === 'declaration') for (const c of n.children) if (c.field === 'declarator') add(c);
      if (n.type === 'for_range_loop') add(field(n, 'declarator'));
    });
  }
  return out;
}

/** What removing a C/C++ file's assertions must keep compiling: which names only the assertions read. */
interface CUsage {
  helpers: ReadonlySet<string>;
  /** Every assertion statement of the file: weakening may remove any of them, so all are judged gone. */
  asserts: ReadonlySet<SNode>;
  cache: Map<string, boolean>;
}

/** Is this occurrence of a name only written (`x = ...`, `x.f = ...`, `x[i] = ...`, `x++`), not read? */
function cWriteOnly(n: SNode): boolean {
  let c = n;
  while (c.parent && (c.parent.type === 'field_expression' || c.parent.type === 'subscript_expression' || c.parent.type === 'parenthesized_expression') && (c.field === 'argument' || c.parent.type === 'parenthesized_expression')) c = c.parent;
  const parent = c.parent;
  if (!parent) return false;
  if (parent.type === 'assignment_expression' && c.field === 'left') return true;
  return parent.type === 'update_expression' && parent.parent?.type === 'expression_statement';
}

/** Whether `scope` reads `name` outside the file's assertion statements (declarations and pure writes aside). */
function readOutsideAssertions(p: Parsed, u: CUsage, scope: SNode, name: string): boolean {
  const key = `${scope.start}:${name}`;
  const known = u.cache.get(key);
  if (known !== undefined) return known;
  let found = false;
  walk(scope, (n) => {
    if (found || u.asserts.has(n)) return false;
    if (n.type !== 'identifier' || p.text(n) !== name) return;
    const parent = n.parent;
    // `auto& x = ...`: tree-sitter gives the name inside a reference declarator no field.
    const declares = (n.field === 'declarator' || parent?.type === 'reference_declarator') && !!parent && (parent.type.endsWith('declarator') || parent.type === 'parameter_declaration' || parent.type === 'declaration' || parent.type === 'for_range_loop');
    if (!declares && !cWriteOnly(n)) found = true;
  });
  u.cache.set(key, found);
  return found;
}

/**
 * Edits removing the assertion statements within a node. Projects build their tests with -Werror more often than
 * not, and a local or parameter (or, in C, a static helper) that only the removed assertions read would then fail
 * the build as unused: each such name is kept used by `(void)sizeof(name);` (which evaluates nothing) or
 * `(void)helper;` in place of the first assertion of its function that reads it.
 */
function cAssertions(p: Parsed, within: SNode, u: CUsage): Edit[] {
  const edits: Edit[] = [];
  // A site's assertions go together, so one keeper per function suffices: at its first assertion naming it.
  const kept = new Map<number, Set<string>>();
  walk(within, (n) => {
    if (n.type === 'lambda_expression') return false;
    if (!u.asserts.has(n)) return;
    // The function the assertion is in, or the body of the Catch2/doctest test case (a block after a macro call,
    // as tree-sitter reads it), whose locals must stay used just as a function's do under -Werror.
    let fn: SNode | null = n.parent;
    while (fn && fn.type !== 'function_definition' && fn.type !== 'lambda_expression' && !(fn.type === 'compound_statement' && caseName(p, fn, false) !== null)) fn = fn.parent;
    const locals = fn?.type === 'function_definition' || fn?.type === 'compound_statement' ? cLocals(p, fn) : new Set<string>();
    const keep: string[] = [];
    walk(n, (c) => {
      if (c.type !== 'identifier') return;
      const t = p.text(c);
      let k: string | null = null;
      if (fn && locals.has(t) && !readOutsideAssertions(p, u, fn, t)) k = `(void)sizeof(${t});`;
      else if (p.lang === 'c' && c.field === 'function' && u.helpers.has(t) && !readOutsideAssertions(p, u, p.root, t)) k = `(void)${t};`;
      const done = kept.get(fn?.start ?? -1) ?? kept.set(fn?.start ?? -1, new Set()).get(fn?.start ?? -1)!;
      if (k && !done.has(k)) {
        done.add(k);
        keep.push(k);
      }
    });
    const inBlock = n.parent?.type === 'compound_statement' || n.parent?.type === 'case_statement';
    if (keep.length > 0) {
      edits.push({ start: n.start, end: n.end, replacement: inBlock ? keep.join(' ') : `{ ${keep.join(' ')} }` });
    } else if (inBlock) {
      const [a, b] = lineExpandedRange(p, n.start, n.end);
      edits.push({ start: a, end: b, replacement: '' });
    } else {
      // The sole body of a brace-less if/for/while: an empty statement keeps it well-formed.
      edits.push({ start: n.start, end: n.end, replacement: ';' });
    }
    return false;
  });
  return edits;
}

/** Catch2's and doctest's test-case macros: the case's name is their (first) string argument. */
const CASE_MACROS = /^(?:TEST_CASE|SCENARIO|TEST_CASE_METHOD|TEST_CASE_FIXTURE|TEMPLATE_TEST_CASE|TEMPLATE_PRODUCT_TEST_CASE|TEMPLATE_LIST_TEST_CASE|TEST_CASE_TEMPLATE)$/;

/**
 * The name of the Catch2 or doctest test case whose body is this block, as the framework reports it (a SCENARIO's
 * prefixed), or null. tree-sitter reads `TEST_CASE("name", "[tag]") { ... }` as a call statement (its semicolon
 * missing) followed by a block.
 */
function caseName(p: Parsed, block: SNode, doctest: boolean): string | null {
  const sibs = block.parent?.children ?? [];
  const prev = sibs[sibs.indexOf(block) - 1];
  const call = prev?.type === 'expression_statement' ? namedChildren(prev)[0] : undefined;
  if (!call || call.type !== 'call_expression') return null;
  const fn = field(call, 'function');
  if (!fn || fn.type !== 'identifier' || !CASE_MACROS.test(p.text(fn))) return null;
  const args = field(call, 'arguments');
  // doctest decorates a case by multiplying its name: TEST_CASE("name" * doctest::timeout(1)).
  const lit = args ? namedChildren(args).map((a) => (a.type === 'binary_expression' ? field(a, 'left') ?? a : a)).find((a) => a.type === 'string_literal') : undefined;
  if (!lit) return null;
  const name = p.text(lit).slice(1, -1).replace(/\\(["\\'])/g, '$1');
  if (p.text(fn) === 'SCENARIO') return (doctest ? '  Scenario: ' : 'Scenario: ') + name;
  return name;
}

/** `(void)` or `()`: a function a harness can call without knowing anything of it. */
function cParameterless(p: Parsed, params: SNode): boolean {
  const kids = namedChildren(params).filter((c) => !isComment(c));
  return kids.length === 0 || (kids.length === 1 && p.text(kids[0]!).trim() === 'void');
}

/**
 * What a C test function's body empties to, '' for an empty block, or null where it cannot be emptied. A void
 * function's is empty. One returning a value passes by the harness's own convention, which its last statement says
 * when it returns a constant (`return EXIT_SUCCESS;`, `return 0;`, `return true;`): the emptied body returns that.
 */
function cEmptyBody(p: Parsed, fn: SNode, body: SNode): string | null {
  const type = field(fn, 'type');
  if (!!type && p.text(type) === 'void' && cFunctionDeclarator(fn)?.parent === fn) return '';
  const last = namedChildren(body).filter((c) => !isComment(c)).at(-1);
  const value = last?.type === 'return_statement' ? namedChildren(last)[0] : undefined;
  if (!value || !/^(?:number_literal|true|false|identifier|null)$/.test(value.type)) return null;
  // An identifier that is a local or a parameter is not a constant.
  if (value.type === 'identifier' && (cLocals(p, fn).has(p.text(value)) || !/^[A-Z_][A-Z0-9_]*$/.test(p.text(value)))) return null;
  return `{ return ${p.text(value)}; }`;
}

/**
 * GoogleTest tests are named `Suite.Name`, as ctest (gtest_discover_tests) names them. Plain C test programs get a
 * site per test function (a test that runs one, chosen by its arguments, is named after it): one named like a test,
 * or any parameterless function the file does not call itself (byName: a harness may call it from a list, under a
 * name of its own), and every test file
 * one for `main`, which stands for the whole program (a test that runs it without naming a TEST or a function):
 * its assertions are every assertion of the file.
 */
function cTests(p: Parsed): TestSite[] {
  const out: TestSite[] = [];
  let main: SNode | null = null;
  const helpers = new Set<string>();
  walk(p.root, (n) => {
    if (n.type === 'function_definition') {
      const name = cFunctionName(p, n);
      if (name) helpers.add(name);
    }
    return n.type !== 'compound_statement';
  });
  const asserts = new Set<SNode>();
  walk(p.root, (n) => {
    if (cAssertionCall(p, n, helpers)) {
      asserts.add(n);
      return false;
    }
  });
  const u: CUsage = { helpers, asserts, cache: new Map() };
  // Functions the file calls itself are its helpers; a harness calls a test from elsewhere, or through a pointer.
  const called = new Set<string>();
  walk(p.root, (n) => {
    const fn = n.type === 'call_expression' ? field(n, 'function') : null;
    if (fn?.type === 'identifier') called.add(p.text(fn));
  });
  const doctest = /#\s*include\s*[<"](?:[^">]*\/)?doctest\.h/.test(p.source);
  walk(p.root, (n) => {
    if (n.type === 'compound_statement') {
      const name = caseName(p, n, doctest);
      if (name !== null) {
        const macro = n.parent!.children[n.parent!.children.indexOf(n) - 1]!;
        // A case that must fail (Catch2's [!shouldfail] tag, doctest's should_fail decorator) fails once emptied.
        const mustFail = /\[!shouldfail\]|should_fail/.test(p.text(macro));
        out.push({ name, start: leadingStart(p, macro), end: n.end, line: macro.row + 1, assertions: cAssertions(p, n, u), ...(mustFail ? {} : { body: { start: n.start, end: n.end, param: null } }) });
      }
      return false;
    }
    if (n.type !== 'function_definition') return n.type === 'translation_unit' || n.type === 'declaration_list' || n.type.startsWith('preproc_') || n.type === 'linkage_specification';
    const d = cFunctionDeclarator(n);
    const callee = d ? field(d, 'declarator') : null;
    const params = d ? field(d, 'parameters') : null;
    const macro = callee?.type === 'identifier' ? p.text(callee) : '';
    if (GTEST_MACROS.test(macro) && params) {
      const parts = namedChildren(params).map((c) => p.text(c).trim());
      if (parts.length === 2 && parts.every((x) => /^\w+$/.test(x))) {
        const body = field(n, 'body');
        out.push({ name: `${parts[0]}.${parts[1]}`, start: leadingStart(p, n), end: n.end, line: n.row + 1, assertions: body ? cAssertions(p, body, u) : [], ...(body ? { body: { start: body.start, end: body.end, param: null } } : {}) });
      }
      return false;
    }
    const name = cFunctionName(p, n);
    if (name === 'main') main = n;
    else if (name && (C_TEST_FN.test(name) || (params && cParameterless(p, params) && d?.parent === n && !called.has(name)))) {
      const body = field(n, 'body');
      const empty = body ? cEmptyBody(p, n, body) : null;
      out.push({
        name, start: leadingStart(p, n), end: n.end, line: n.row + 1, assertions: body ? cAssertions(p, body, u) : [],
        ...(body && empty !== null ? { body: { start: body.start, end: body.end, param: null, ...(empty ? { empty } : {}) } } : {}),
        ...(C_TEST_FN.test(name) ? {} : { byName: true }),
      });
    }
    return false;
  });
  // Assigned inside the walk's callback, which the compiler's narrowing does not follow.
  const m = main as SNode | null;
  // The program run whole, as ctest runs a test that names no function: every assertion of the file is its. Where
  // main lives elsewhere (gtest_main, a harness header), the site has no text of its own to delete.
  const all = cAssertions(p, p.root, u);
  if (m) out.push({ name: 'main', start: leadingStart(p, m), end: m.end, line: m.row + 1, assertions: all });
  else if (all.length > 0) out.push({ name: 'main', start: p.source.length, end: p.source.length, line: p.lines.lineCount, assertions: all });
  return out;
}

/**
 * Test definitions in a test file: pytest functions/methods (test*) in Test* classes and unittest
 * TestCase subclasses, JS/TS test()/it()/specify() calls nested in describe()/suite()/context()
 * with literal titles (`.only`/`.skip`/`.each` variants are left out), Go TestXxx(t *testing.T),
 * Rust #[test] fns with their module path, Java @Test methods, GoogleTest TEST()s as Suite.Name, C test functions
 * (test_*, *_test) and a C test program's main (see cTests).
 */
export async function findTests(lang: Lang, source: string): Promise<TestSite[]> {
  return withParsed(lang, source, (p) => findTestsIn(p));
}

export function findTestsIn(p: Parsed): TestSite[] {
  if (p.lang === 'python') return pyTests(p);
  if (isJsLike(p.lang)) return jsTests(p);
  if (p.lang === 'go') return goTests(p);
  if (p.lang === 'rust') return rustTests(p);
  if (p.lang === 'c' || p.lang === 'cpp') return cTests(p);
  return javaTests(p);
}

/**
 * The sites of a file that a reported test name is, by their names. A JS/TS test declared inside a helper of the
 * suite's own (`function whenHeader(h, fn) { describe('when ' + h, fn) }`, called with a callback that holds the
 * `it`s) is reported under a describe title made at run time, which no static name has: such a name matches the
 * sites whose titles it contains in order, ending with the same test title. Which of the calls made which title is
 * unknown, so all of them are taken: weakening a test that passes anyway hides nothing it should not. A row of an
 * `.each` table is its site's by the site's `rows` pattern.
 */
export function sitesForTest<T extends Pick<TestSite, 'name' | 'rows'>>(lang: Lang, sites: readonly T[], name: string): T[] {
  const exact = sites.filter((s) => s.name === name);
  if (exact.length > 0 || !isJsLike(lang)) return exact;
  const rows = sites.filter((s) => s.rows?.test(name));
  if (rows.length > 0) return rows;
  const titles = name.split(' > ');
  return sites.filter((s) => {
    const own = s.name.split(' > ');
    if (own.length >= titles.length || own.at(-1) !== titles.at(-1)) return false;
    let i = 0;
    for (const t of titles) if (i < own.length && t === own[i]) i++;
    return i === own.length;
  });
}

/**
 * Byte ranges of a source file that are test code: Rust keeps its unit tests inside the code files (a
 * `#[cfg(test)] mod tests { ... }`, or a lone `#[test]` fn), and other languages' source files may hold test
 * functions too. A bug injected there changes a test, not the code under test, so the injector leaves them alone.
 */
export async function testCodeRanges(lang: Lang, source: string): Promise<{ start: number; end: number }[]> {
  return withParsed(lang, source, (p) => {
    const out = findTestsIn(p).filter((t) => !t.byName).map((t) => ({ start: t.start, end: t.end }));
    if (p.lang !== 'rust') return out;
    const visit = (container: SNode): void => {
      const kids = container.children;
      for (let i = 0; i < kids.length; i++) {
        const n = kids[i]!;
        if (n.type !== 'mod_item') continue;
        let cfgTest = false;
        for (let j = i - 1; j >= 0; j--) {
          const prev = kids[j]!;
          if (prev.type === 'attribute_item') cfgTest ||= /^#\[\s*cfg\s*\(\s*(?:all\s*\(\s*)?test\s*[,)]/.test(p.text(prev));
          else if (!isComment(prev)) break;
        }
        const body = field(n, 'body');
        if (cfgTest) out.push({ start: n.start, end: n.end });
        else if (body) visit(body);
      }
    };
    visit(p.root);
    return out;
  });
}
