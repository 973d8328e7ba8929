import {
  cFunctionDeclarator,
  cFunctionName,
  enclosingFunctionName,
  field,
  hasAncestor,
  functionNodeName,
  indentAt,
  indentUnit,
  isFunctionNode,
  lineExpandedRange,
  namedChildren,
  statementsOf,
  walk,
} from './ast.js';
import { applyEdits, type Edit } from './edits.js';
import { goDropImports, GoIndex, goImports, usedPackages, type GoOrphans } from './gousage.js';
import { isCFamily, isJsLike, isTypeScript, type Lang } from './lang.js';
import { outermostFunction, riskyEmptying } from './mutations.js';
import { type Parsed, type SNode, withParsed } from './parser.js';
import { guardRemovalMatters, tsOrphans } from './tstypes.js';
import { Validator } from './validate.js';
import { cZero, GoTypes, javaZero, rustZero, tsZero } from './zero.js';

export interface Removal {
  kind: 'function-body' | 'statement-block' | 'whole-file';
  /** Replaces the removed code with a minimal stub that keeps the module importable/compilable. */
  edit: Edit;
  /**
   * Further edits that must be applied together with `edit` (non-overlapping with it): Go imports
   * that the removal leaves unused, which would not compile. Empty for most removals.
   */
  extraEdits: Edit[];
  line: number;
  endLine: number;
  functionName: string | null;
  /** Lines removed: the removed region's line span; for whole-file, original minus stub lines. */
  size: number;
  description: string;
}

/** All edits a removal consists of. */
export function removalEdits(r: Removal): Edit[] {
  return [r.edit, ...r.extraEdits];
}

interface Ctx {
  p: Parsed;
  v: Validator;
  out: Removal[];
  /** Whole-file stubbing: functions that run during import keep their bodies. */
  keepBodies: Set<SNode>;
  /** Whole-file stubbing: the statements kept (before the import-time analysis). */
  kept: SNode[];
  goTypes: GoTypes | null;
  go: GoIndex | null;
}

/** What a Go deletion leaves unused (nothing outside Go). */
function goOrphansOf(ctx: Ctx, fn: SNode | null, ranges: readonly (readonly [number, number])[]): GoOrphans {
  return ctx.go ? ctx.go.orphans(fn, ranges) : { locals: [], imports: [] };
}

/* ---------- stubs for function bodies ---------- */

const PY_TRIVIAL = /^(pass|\.\.\.|return|return None|raise NotImplementedError(\(.*\))?)$/;

function pyHasValueReturn(body: SNode): boolean {
  let found = false;
  walk(body, (n) => {
    if (found || n.type === 'function_definition' || n.type === 'lambda' || n.type === 'class_definition') return false;
    if (n.type === 'return_statement' && namedChildren(n).length > 0) found = true;
  });
  return found;
}

function isDocstring(s: SNode): boolean {
  const kids = namedChildren(s);
  return s.type === 'expression_statement' && kids.length === 1 && (kids[0]!.type === 'string' || kids[0]!.type === 'concatenated_string');
}

/** The edit turning a Python function body into a stub (docstring kept), or null if already a stub. */
function pyBodyStub(p: Parsed, fn: SNode): Edit | null {
  const body = field(fn, 'body');
  if (!body) return null;
  const stmts = statementsOf(body);
  const doc = stmts[0] && isDocstring(stmts[0]) ? stmts[0] : null;
  const rest = doc ? stmts.slice(1) : stmts;
  if (rest.length === 0) return null;
  if (rest.length === 1 && PY_TRIVIAL.test(p.text(rest[0]!).trim())) return null;
  const name = field(fn, 'name');
  const stub = name && p.text(name) === '__init__' ? 'pass' : pyHasValueReturn(body) ? 'return None' : 'pass';
  const inline = body.row === fn.row;
  if (doc && !inline) return { start: doc.end, end: body.end, replacement: `\n${indentAt(p, doc.start)}${stub}` };
  return { start: body.start, end: body.end, replacement: stub };
}

/** A `{ ... }` block holding the given statements at the indentation of the line that opens it. */
function braceBlock(p: Parsed, at: SNode, lines: string[]): string {
  if (lines.length === 0) return '{}';
  const ind = indentAt(p, at.start);
  const unit = indentUnit(p);
  return `{\n${lines.map((l) => ind + unit + l).join('\n')}\n${ind}}`;
}

/**
 * The stub for a JS/TS function body. For TypeScript the declared return type decides the value
 * returned so the file still type-checks; `lenient` allows `undefined as never` where the type
 * has no writable zero (used for whole-file stubs, which must keep every function).
 */
function jsBodyStub(p: Parsed, fn: SNode, lenient: boolean): Edit | null {
  const body = field(fn, 'body');
  if (!body) return null;
  const isAsync = fn.children.some((c) => c.type === 'async');
  const isGenerator = fn.type.includes('generator') || fn.children.some((c) => c.type === '*');
  const isGetter = fn.type === 'method_definition' && fn.children.some((c) => c.type === 'get');
  const rt = field(fn, 'return_type');
  const ts = isTypeScript(p.lang);
  let value: string | null = '';
  if (!isGenerator) {
    if (ts && rt) {
      const t = namedChildren(rt)[0];
      value = t ? tsZero(p, t, isAsync) : null;
      if (value === null) {
        if (!lenient) return null;
        value = 'undefined as never';
      }
    } else if (isGetter) {
      value = 'undefined';
    }
  }
  if (body.type !== 'statement_block') {
    // Expression-bodied arrow: the expression is the whole body.
    if (!lenient) return null;
    const expr = value === '' || value === null ? 'undefined' : value;
    return p.text(body).trim() === expr ? null : { start: body.start, end: body.end, replacement: expr.startsWith('{') ? `(${expr})` : expr };
  }
  const stmts = statementsOf(body);
  if (stmts.length === 0) return null;
  const keep: string[] = [];
  const first = stmts[0]!;
  // A TypeScript constructor must still assign the fields declared without an initializer (TS2564 under strict).
  const assigned = ts && p.text(field(fn, 'name') ?? fn) === 'constructor' ? fieldsToAssign(p, fn) : new Set<string>();
  const firstExpr = namedChildren(first)[0];
  // A derived class's constructor must still call super() before the object is usable.
  if (first.type === 'expression_statement' && firstExpr?.type === 'call_expression' && field(firstExpr, 'function')?.type === 'super') {
    keep.push(p.text(first).trim());
    if (stmts.length === 1) return null;
  }
  for (const s of stmts) {
    const e = s.type === 'expression_statement' ? namedChildren(s)[0] : null;
    const left = e?.type === 'assignment_expression' ? field(e, 'left') : null;
    const prop = left?.type === 'member_expression' && field(left, 'object')?.type === 'this' ? field(left, 'property') : null;
    if (prop && assigned.has(p.text(prop)) && !keep.includes(p.text(s).trim())) keep.push(p.text(s).trim());
  }
  if (assigned.size > 0 && keep.length === stmts.length) return null;
  if (ts) {
    // What only the removed code read would be unread (TS6133 under noUnusedParameters / noUnusedLocals, which stops
    // a type-checking runner at load): the stub reads it. A type only it named cannot be read so: no stub then.
    const orphans = tsOrphans(p, body, [[body.start, body.end]]);
    if (orphans.types.length > 0 && !lenient) return null;
    const kept = keep.join('\n');
    for (const name of orphans.values) if (!new RegExp(`(^|[^\\w$.])${name.replace(/[$.]/g, '\\$&')}($|[^\\w$])`).test(kept)) keep.push(`void ${name};`);
  }
  if (value) keep.push(`return ${value};`);
  if (stmts.length === keep.length && stmts.every((s, i) => p.text(s).trim() === keep[i])) return null;
  return { start: body.start, end: body.end, replacement: braceBlock(p, body, keep) };
}

/** The fields of a constructor's class declared without an initializer, `?` or `!`: the constructor must assign them. */
function fieldsToAssign(p: Parsed, ctor: SNode): Set<string> {
  const out = new Set<string>();
  const body = ctor.parent;
  if (body?.type !== 'class_body') return out;
  for (const f of namedChildren(body)) {
    const name = f.type === 'public_field_definition' ? field(f, 'name') : null;
    if (!name || field(f, 'value') || f.children.some((c) => c.type === '?' || c.type === '!' || c.type === 'static' || c.type === 'declare' || c.type === 'abstract')) continue;
    out.add(p.text(name));
  }
  return out;
}

function goBodyStub(ctx: Ctx, fn: SNode, lenient: boolean): Edit | null {
  const { p } = ctx;
  const body = field(fn, 'body');
  if (!body || !ctx.goTypes) return null;
  const zeros = ctx.goTypes.returnZeros(fn, lenient);
  if (zeros === null) return null;
  const stmt = field(fn, 'result') ? (zeros === '' ? 'return' : `return ${zeros}`) : null;
  const replacement = braceBlock(p, body, stmt ? [stmt] : []);
  const stmts = statementsOf(body);
  if (stmts.length === 0 || (stmts.length === 1 && stmt && p.text(stmts[0]!).trim() === stmt)) return null;
  return { start: body.start, end: body.end, replacement };
}

function rustBodyStub(p: Parsed, fn: SNode): Edit | null {
  const body = field(fn, 'body');
  if (!body) return null;
  const value = rustZero(p, field(fn, 'return_type'));
  if (value === null) return null;
  const stmts = statementsOf(body);
  if (stmts.length === 0 || (stmts.length === 1 && p.text(stmts[0]!).trim() === value)) return null;
  return { start: body.start, end: body.end, replacement: braceBlock(p, body, value ? [value] : []) };
}

function javaBodyStub(p: Parsed, fn: SNode): Edit | null {
  const body = field(fn, 'body');
  const type = field(fn, 'type');
  if (!body || !type || fn.type !== 'method_declaration') return null;
  const value = javaZero(p, type);
  if (value === null) return null;
  const stmts = statementsOf(body);
  const line = value ? `return ${value};` : null;
  if (stmts.length === 0 || (stmts.length === 1 && line && p.text(stmts[0]!).trim() === line)) return null;
  return { start: body.start, end: body.end, replacement: braceBlock(p, body, line ? [line] : []) };
}

/**
 * The names of a C/C++ function's parameters that its body may be the only user of. A stub leaves each used by
 * `(void)name;`: projects build with -Wall -Wextra -Werror, under which an unused parameter does not compile. A
 * parameter pack (`Args... args`) is left alone: no plain statement uses one.
 */
function cParamNames(p: Parsed, fn: SNode): string[] {
  const params = cFunctionDeclarator(fn);
  const list = params ? field(params, 'parameters') : null;
  if (!list) return [];
  const out: string[] = [];
  for (const c of namedChildren(list)) {
    if (c.type !== 'parameter_declaration' && c.type !== 'optional_parameter_declaration') continue;
    let d = field(c, 'declarator');
    while (d && d.type !== 'identifier') {
      if (d.type === 'variadic_declarator') { d = null; break; }
      d = field(d, 'declarator') ?? namedChildren(d).find((k) => k.type === 'identifier' || k.type.endsWith('_declarator')) ?? null;
    }
    if (d) out.push(p.text(d));
  }
  return out;
}

/**
 * A C/C++ function body reduced to returning its type's zero (see cZero), its parameters kept used (cParamNames).
 * C++ constructors and destructors (no return type) keep their member initializers, which sit outside the body,
 * and get an empty body.
 */
function cBodyStub(p: Parsed, fn: SNode): Edit | null {
  const body = field(fn, 'body');
  if (!body || body.type !== 'compound_statement' || fn.type !== 'function_definition') return null;
  const name = cFunctionName(p, fn);
  // main's result is the test program's verdict, and a stubbed main tests nothing.
  if (!name || name === 'main') return null;
  // A conversion operator has no type field but does return a value.
  if (!field(fn, 'type') && /^operator\b/.test(name)) return null;
  const value = field(fn, 'type') ? cZero(p, fn) : p.lang === 'cpp' ? '' : null;
  if (value === null) return null;
  const stmts = statementsOf(body);
  const line = value ? `return ${value};` : null;
  if (stmts.length === 0 || (stmts.length === 1 && line && p.text(stmts[0]!).trim() === line)) return null;
  const uses = cParamNames(p, fn).map((n) => `(void)${n};`);
  return { start: body.start, end: body.end, replacement: braceBlock(p, body, [...uses, ...(line ? [line] : [])]) };
}

function bodyStub(ctx: Ctx, fn: SNode, lenient: boolean): Edit | null {
  const { p } = ctx;
  switch (p.lang) {
    case 'python':
      return fn.type === 'function_definition' ? pyBodyStub(p, fn) : null;
    case 'go':
      return fn.type === 'function_declaration' || fn.type === 'method_declaration' ? goBodyStub(ctx, fn, lenient) : null;
    case 'rust':
      return fn.type === 'function_item' ? rustBodyStub(p, fn) : null;
    case 'java':
      return javaBodyStub(p, fn);
    case 'c':
    case 'cpp':
      return cBodyStub(p, fn);
    default:
      return isJsLike(p.lang) ? jsBodyStub(p, fn, lenient) : null;
  }
}

/** Go imports a Go edit leaves unused, as edits deleting them; a stub's own `pkg.` uses keep theirs. */
function goImportFixups(ctx: Ctx, fn: SNode | null, edit: Edit): Edit[] {
  const o = goOrphansOf(ctx, fn, [[edit.start, edit.end]]);
  const drop = o.imports.filter((i) => !edit.replacement.includes(`${i.name}.`));
  return drop.length > 0 ? goDropImports(ctx.p, drop) : [];
}

function importEditsParse(ctx: Ctx, edits: Edit[]): boolean {
  const decl = ctx.p.root.children.find((c) => c.type === 'import_declaration' && c.start <= edits[0]!.start && edits[0]!.end <= c.end + 1);
  return ctx.v.check(decl ?? ctx.p.root, edits);
}

function functionBodies(ctx: Ctx): void {
  const { p } = ctx;
  walk(p.root, (fn) => {
    if (fn.isError) return false;
    if (!isFunctionNode(p.lang, fn)) return;
    const name = functionNodeName(p, fn);
    if (!name) return;
    const edit = bodyStub(ctx, fn, false);
    if (!edit) return;
    const extraEdits = p.lang === 'go' ? goImportFixups(ctx, fn, edit) : [];
    // The body and the import block are far apart and independent: each is checked on its own.
    if (!ctx.v.check(fn, [edit])) return;
    if (extraEdits.length > 0 && !importEditsParse(ctx, extraEdits)) return;
    // A kept docstring puts the edit's start on its line; the removal proper starts below it.
    const firstRemoved = edit.start + (/^\s*/.exec(p.source.slice(edit.start, edit.end))?.[0].length ?? 0);
    const line = p.lines.row(firstRemoved) + 1;
    const endLine = p.lines.row(edit.end) + 1;
    const size = endLine - line + 1;
    ctx.out.push({
      kind: 'function-body',
      edit,
      extraEdits,
      line,
      endLine,
      functionName: name,
      size,
      description: `remove the body of ${name}() (lines ${line}-${endLine})`,
    });
  });
}

/* ---------- statement blocks ---------- */

function blockRemoval(ctx: Ctx, owner: SNode, block: SNode, label: string): void {
  const { p } = ctx;
  const lang = p.lang;
  const stmts = statementsOf(block);
  if (stmts.length < 2) return;
  let edit: Edit;
  if (lang === 'python') {
    edit = { start: block.start, end: block.end, replacement: 'pass' };
  } else {
    edit = { start: block.start, end: block.end, replacement: '{}' };
  }
  if (lang === 'go' && owner.type === 'for_statement') {
    const range = owner.children.find((c) => c.type === 'range_clause');
    const left = range ? field(range, 'left') : null;
    const right = range ? field(range, 'right') : null;
    // Range variables left unused do not compile: the loop keeps only what it iterates.
    if (range && left && right && range.children.some((c) => c.type === ':=')) {
      edit = { start: range.start, end: block.end, replacement: `range ${p.text(right)} {}` };
    }
  }
  if (owner.type === 'if_statement' || owner.type === 'elif_clause' || owner.type === 'else_clause') {
    const ifNode = owner.type === 'if_statement' ? owner : owner.parent;
    if (ifNode && riskyEmptying(p, ifNode, block)) return;
    if (ifNode && owner.type === 'if_statement' && isTypeScript(lang) && guardRemovalMatters(p, ifNode)) return;
  }
  if (isTypeScript(lang)) {
    // As for a function body (jsBodyStub): the emptied block still reads what only it read.
    const o = tsOrphans(p, block, [[block.start, block.end]]);
    if (o.types.length > 0) return;
    if (o.values.length > 0) edit = { ...edit, replacement: braceBlock(p, block, o.values.map((v) => `void ${v};`)) };
  }
  let extraEdits: Edit[] = [];
  if (lang === 'go') {
    const o = goOrphansOf(ctx, outermostFunction(lang, owner), [[edit.start, edit.end]]);
    if (o.locals.length > 0) return;
    extraEdits = o.imports.length > 0 ? goDropImports(p, o.imports) : [];
  }
  if (!ctx.v.check(owner, [edit])) return;
  if (extraEdits.length > 0 && !importEditsParse(ctx, extraEdits)) return;
  const line = block.row + 1;
  const endLine = block.endRow + 1;
  const functionName = enclosingFunctionName(p, owner);
  ctx.out.push({
    kind: 'statement-block',
    edit,
    extraEdits,
    line,
    endLine,
    functionName,
    size: endLine - line + 1,
    description: `empty the ${label} body at lines ${line}-${endLine}${functionName ? ` in ${functionName}()` : ''}`,
  });
}

function statementBlocks(ctx: Ctx): void {
  const { p } = ctx;
  const lang = p.lang;
  if (lang === 'rust' || lang === 'java') return;
  walk(p.root, (n) => {
    if (n.isError) return false;
    switch (n.type) {
      case 'if_statement':
      case 'elif_clause': {
        const c = field(n, 'consequence');
        if (c && c.type !== 'expression_statement') blockRemoval(ctx, n, c, n.type === 'elif_clause' ? 'elif' : 'if');
        if (lang === 'go') {
          const alt = field(n, 'alternative');
          if (alt && alt.type === 'block') blockRemoval(ctx, n, alt, 'else');
        }
        break;
      }
      case 'else_clause': {
        const b = field(n, 'body') ?? namedChildren(n)[0];
        if (b && (b.type === 'block' || b.type === 'statement_block' || b.type === 'compound_statement')) blockRemoval(ctx, n, b, 'else');
        break;
      }
      case 'for_statement':
      case 'for_in_statement':
      case 'for_range_loop': {
        const b = field(n, 'body');
        if (!b || (b.type !== 'block' && b.type !== 'statement_block' && b.type !== 'compound_statement')) break;
        // A C for loop without an update clause advances in its body.
        if (isCFamily(lang) && n.type === 'for_statement' && !field(n, 'update')) break;
        // Loops whose progress lives in their body would spin forever once it is emptied.
        if (lang === 'go' && !n.children.some((c) => c.type === 'range_clause' || (c.type === 'for_clause' && field(c, 'update')))) break;
        if (isJsLike(lang) && n.type === 'for_statement' && !field(n, 'increment')) break;
        blockRemoval(ctx, n, b, 'for');
        break;
      }
      default:
        break;
    }
  });
}

/* ---------- whole file ---------- */

const PY_KEEP = new Set(['import_statement', 'import_from_statement', 'future_import_statement', 'pass_statement', 'type_alias_statement']);

/**
 * Stub a Python statement list: imports, constants and definitions stay (bodies stubbed), other
 * code goes. Returns how many statements were kept; `edits` receives the changes.
 */
function pyStubStatements(ctx: Ctx, stmts: SNode[], edits: Edit[]): number {
  const { p } = ctx;
  let kept = 0;
  const drop = (s: SNode): void => {
    if (ctx.kept[ctx.kept.length - 1] === s) ctx.kept.pop();
    const [a, b] = lineExpandedRange(p, s.start, s.end);
    edits.push({ start: a, end: b, replacement: '' });
  };
  for (const s of stmts) {
    const def = s.type === 'decorated_definition' ? field(s, 'definition') : s;
    if (!s.type.endsWith('_clause')) ctx.kept.push(s);
    if (def?.type === 'function_definition') {
      const e = ctx.keepBodies.has(def) ? null : pyBodyStub(p, def);
      if (e) edits.push(e);
      kept++;
    } else if (def?.type === 'class_definition') {
      const body = field(def, 'body');
      if (body) pyStubBlock(ctx, body, edits);
      kept++;
    } else if (PY_KEEP.has(s.type)) {
      kept++;
    } else if (s.type === 'expression_statement') {
      const e = namedChildren(s)[0];
      if (e && (e.type === 'string' || e.type === 'assignment' || e.type === 'augmented_assignment')) kept++;
      else drop(s);
    } else if (s.type === 'if_statement') {
      const cond = field(s, 'condition');
      if (cond && /__name__/.test(p.text(cond))) {
        drop(s);
        continue;
      }
      for (const b of [field(s, 'consequence'), ...s.children.filter((c) => c.field === 'alternative').map((a) => field(a, 'consequence') ?? field(a, 'body'))]) {
        if (b) pyStubBlock(ctx, b, edits);
      }
      kept++;
    } else if (s.type === 'try_statement') {
      // try/except around imports (optional dependencies) defines names the module exports.
      const blocks: SNode[] = [];
      for (const c of s.children) {
        if (c.type === 'block') blocks.push(c);
        else if (c.named) {
          const b = c.children.find((x) => x.type === 'block');
          if (b) blocks.push(b);
        }
      }
      for (const b of blocks) pyStubBlock(ctx, b, edits);
      kept++;
    } else {
      drop(s);
    }
  }
  return kept;
}

function pyStubBlock(ctx: Ctx, block: SNode, edits: Edit[]): void {
  const local: Edit[] = [];
  const kept = pyStubStatements(ctx, statementsOf(block), local);
  if (kept > 0) edits.push(...local);
  else edits.push({ start: block.start, end: block.end, replacement: 'pass' });
}

const JS_KEEP = new Set([
  'import_statement', 'export_statement', 'function_declaration', 'generator_function_declaration', 'class_declaration',
  'abstract_class_declaration', 'lexical_declaration', 'variable_declaration', 'interface_declaration',
  'type_alias_declaration', 'enum_declaration', 'ambient_declaration', 'module', 'internal_module',
  'import_alias', 'empty_statement',
]);

function jsStubWithin(ctx: Ctx, root: SNode, edits: Edit[]): void {
  walk(root, (n) => {
    if (isFunctionNode(ctx.p.lang, n)) {
      const e = ctx.keepBodies.has(n) ? null : jsBodyStub(ctx.p, n, true);
      if (e) edits.push(e);
      return false;
    }
  });
}

function jsWholeFile(ctx: Ctx): string {
  const { p } = ctx;
  const edits: Edit[] = [];
  for (const s of statementsOf(p.root)) {
    const expr = s.type === 'expression_statement' ? namedChildren(s)[0] : null;
    // Directives and CommonJS `module.exports = ...` / `exports.x = ...` define the module's surface.
    const keep = JS_KEEP.has(s.type) || (expr && (expr.type === 'string' || expr.type === 'assignment_expression'));
    if (keep) {
      ctx.kept.push(s);
      jsStubWithin(ctx, s, edits);
    } else {
      const [a, b] = lineExpandedRange(p, s.start, s.end);
      edits.push({ start: a, end: b, replacement: '' });
    }
  }
  return applyEdits(p.source, edits);
}

function goWholeFile(ctx: Ctx): string {
  const { p } = ctx;
  const edits: Edit[] = [];
  for (const s of p.root.children) {
    if (s.type !== 'function_declaration' && s.type !== 'method_declaration') continue;
    const e = goBodyStub(ctx, s, true);
    if (e) edits.push(e);
  }
  const stubbed = applyEdits(p.source, edits);
  const q = p.reparse(stubbed);
  try {
    const used = usedPackages(q);
    const unused = goImports(q).filter((i) => !used.has(i.name));
    return applyEdits(stubbed, goDropImports(q, unused));
  } finally {
    q.dispose();
  }
}

function ancestorOfType(n: SNode, types: readonly string[]): SNode | null {
  for (let a = n.parent; a; a = a.parent) if (types.includes(a.type)) return a;
  return null;
}

/**
 * Top-level functions that run while the module is imported: called (or applied as decorators)
 * by the kept top-level code, or by such functions in turn. Stubbing them would break the
 * import itself (`a, b = make_pair()` unpacking None) rather than the behaviour under test.
 */
function importTimeFunctions(p: Parsed, kept: readonly SNode[]): Set<SNode> {
  const lang = p.lang;
  const defs = new Map<string, SNode>();
  const addDef = (name: SNode | null, fn: SNode | null): void => {
    if (name && fn) defs.set(p.text(name), fn);
  };
  // Methods by name: `cls._helper()` inside import-time code could reach any of them; and the
  // constructors and other dunders of classes instantiated at import time.
  const methods = new Map<string, SNode[]>();
  const constructors = new Map<string, SNode[]>();
  for (const s of kept) {
    walk(s, (n) => {
      const isMethod = (n.type === 'function_definition' && hasAncestor(n, (a) => a.type === 'class_definition')) || n.type === 'method_definition';
      const name = isMethod ? field(n, 'name') : null;
      if (!name) return;
      const m = p.text(name);
      methods.set(m, [...(methods.get(m) ?? []), n]);
      // An instance made at import time may be used through any of its dunders (`__setattr__`
      // runs inside `__init__`, `__iter__` on unpacking...).
      if (/^(__\w+__|constructor)$/.test(m)) {
        const cls = ancestorOfType(n, ['class_definition', 'class_declaration', 'class']);
        const clsName = cls ? field(cls, 'name') : null;
        if (clsName) constructors.set(p.text(clsName), [...(constructors.get(p.text(clsName)) ?? []), n]);
      }
    });
  }
  for (const s of kept) {
    walk(s, (n) => {
      if (lang === 'python') {
        if (n.type === 'function_definition') addDef(field(n, 'name'), n);
        // Methods are not reachable by a plain call; functions under if/try are.
        return n.type !== 'class_definition' && n.type !== 'function_definition';
      }
      if (n.type === 'function_declaration' || n.type === 'generator_function_declaration') addDef(field(n, 'name'), n);
      if (n.type === 'variable_declarator') {
        const v = field(n, 'value');
        if (v && isFunctionNode(lang, v)) addDef(field(n, 'name'), v);
      }
      return !isFunctionNode(lang, n) && n.type !== 'class_declaration' && n.type !== 'class_body';
    });
  }
  const called: string[] = [];
  const calledMethods: string[] = [];
  /** Calls made when `n` itself runs, not when functions defined inside it later run. */
  const scan = (n: SNode): void => {
    walk(n, (c) => {
      if (isFunctionNode(lang, c)) {
        // Python evaluates default arguments when the `def` runs.
        const params = lang === 'python' && c.type === 'function_definition' ? field(c, 'parameters') : null;
        if (params) scan(params);
        return false;
      }
      if (c.type === 'call' || c.type === 'call_expression' || c.type === 'new_expression') {
        const f = field(c, 'function') ?? field(c, 'constructor');
        if (f?.type === 'identifier') {
          called.push(p.text(f));
          queue.push(...(constructors.get(p.text(f)) ?? []));
        }
      }
      // Attribute references, called or passed along (`map(cls._parse, xs)`), may reach methods.
      const attr = c.type === 'attribute' ? field(c, 'attribute') : c.type === 'member_expression' ? field(c, 'property') : null;
      if (attr) calledMethods.push(p.text(attr));
      if (c.type === 'decorator') {
        const e = namedChildren(c)[0];
        if (e?.type === 'identifier') called.push(p.text(e));
      }
    });
  };
  const queue: SNode[] = lang === 'python' ? pyClassCreationHooks(p, kept) : [];
  for (const s of kept) scan(s);
  const keep = new Set<SNode>();
  for (;;) {
    while (calledMethods.length > 0) queue.push(...(methods.get(calledMethods.pop()!) ?? []));
    const fn = queue.pop() ?? (called.length > 0 ? defs.get(called.pop()!) : undefined);
    if (fn === undefined) {
      if (called.length === 0 && queue.length === 0) break;
      continue;
    }
    if (keep.has(fn)) continue;
    keep.add(fn);
    const body = field(fn, 'body');
    if (body) scan(body);
  }
  return keep;
}

const PY_CLASS_HOOKS = /^__(init_subclass|set_name|class_getitem|prepare|mro_entries)__$/;

/**
 * Python methods that run when a class statement executes: creation hooks anywhere, and every
 * dunder of a class this file uses as a base or metaclass (its `__new__`, `__init__`,
 * `__getitem__` for `Generic[T]`-style bases...).
 */
function pyClassCreationHooks(p: Parsed, kept: readonly SNode[]): SNode[] {
  const classes = new Map<string, SNode>();
  const bases = new Set<string>();
  for (const s of kept) {
    walk(s, (n) => {
      if (n.type === 'function_definition') return false;
      if (n.type !== 'class_definition') return;
      const name = field(n, 'name');
      if (name) classes.set(p.text(name), n);
      const supers = field(n, 'superclasses');
      if (supers) walk(supers, (c) => void (c.type === 'identifier' && bases.add(p.text(c))));
      // A subclass with class-level values (an Enum, a model) builds them through its own
      // dunders when the class statement runs.
      const body = field(n, 'body');
      if (name && supers && namedChildren(supers).length > 0 && body && statementsOf(body).some((st) => st.type === 'expression_statement' && namedChildren(st)[0]?.type === 'assignment')) {
        bases.add(p.text(name));
      }
    });
  }
  const out: SNode[] = [];
  for (const [name, cls] of classes) {
    const body = field(cls, 'body');
    if (!body) continue;
    for (const st of statementsOf(body)) {
      const fn = st.type === 'decorated_definition' ? field(st, 'definition') : st;
      const fnName = fn?.type === 'function_definition' ? field(fn, 'name') : null;
      if (!fn || !fnName) continue;
      const m = p.text(fnName);
      if (PY_CLASS_HOOKS.test(m) || (bases.has(name) && /^__\w+__$/.test(m))) out.push(fn);
    }
  }
  return out;
}

function stubText(ctx: Ctx): string {
  const { p } = ctx;
  if (p.lang === 'python') {
    const edits: Edit[] = [];
    pyStubStatements(ctx, statementsOf(p.root), edits);
    return applyEdits(p.source, edits);
  }
  return jsWholeFile(ctx);
}

function wholeFile(ctx: Ctx): void {
  const { p } = ctx;
  let text: string;
  if (p.lang === 'python' || isJsLike(p.lang)) {
    ctx.kept = [];
    ctx.keepBodies = new Set();
    stubText(ctx);
    ctx.keepBodies = importTimeFunctions(p, ctx.kept);
    text = stubText(ctx);
  } else if (p.lang === 'go') {
    text = goWholeFile(ctx);
  } else {
    return;
  }
  if (text === p.source) return;
  const edit: Edit = { start: 0, end: p.source.length, replacement: text };
  if (!p.accepts([edit])) return;
  const origLines = p.lines.lineCount;
  const newLines = text.split('\n').length;
  ctx.out.push({
    kind: 'whole-file',
    edit,
    extraEdits: [],
    line: 1,
    endLine: origLines,
    functionName: null,
    size: Math.max(0, origLines - newLines),
    description: `reduce the file to its imports, declarations and stubbed signatures (${origLines} → ${newLines} lines)`,
  });
}

/** Candidate removals: function bodies, large statement blocks, and the whole file. */
export async function findRemovals(lang: Lang, source: string): Promise<Removal[]> {
  return withParsed(lang, source, (p) => findRemovalsIn(p));
}

export function findRemovalsIn(p: Parsed): Removal[] {
  const ctx: Ctx = {
    p,
    v: new Validator(p),
    out: [],
    keepBodies: new Set(),
    kept: [],
    goTypes: p.lang === 'go' ? new GoTypes(p) : null,
    go: p.lang === 'go' ? new GoIndex(p) : null,
  };
  functionBodies(ctx);
  statementBlocks(ctx);
  wholeFile(ctx);
  return ctx.out;
}
