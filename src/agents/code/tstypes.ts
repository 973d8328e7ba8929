import { field, namedChildren, statementsOf } from './ast.js';
import type { Parsed, SNode } from './parser.js';

/*
 * Where TypeScript's checker reads a value or a condition as a type. A runner that type-checks (ts-jest's default
 * diagnostics, ts-node) stops every test file that loads a module with a type error before any of its tests runs, so
 * an edit there is no bug but a file that does not load: flipping `typeof x === 'string'` leaves `x.length` in the
 * branch on a type without it (TS2339), flipping the `true` of a field declared `ok: true` assigns `false` to it
 * (TS2322). These are found from the syntax alone, conservatively: a condition counts as a guard only where what it
 * narrows is used in the code it guards.
 */

const WRAPPERS = new Set(['parenthesized_expression', 'non_null_expression']);
const EQUALITY = new Set(['===', '!==', '==', '!=']);
const LITERALS = new Set(['string', 'number', 'true', 'false', 'null', 'undefined', 'template_string']);

function unwrap(n: SNode): SNode {
  let e = n;
  while (WRAPPERS.has(e.type)) {
    const inner = namedChildren(e)[0];
    if (!inner) break;
    e = inner;
  }
  return e;
}

function operatorOf(p: Parsed, n: SNode): string | null {
  const op = n.children.find((c) => c.field === 'operator');
  return op ? p.text(op) : null;
}

/** `undefined` parses as an identifier: a comparison with it narrows like one with `null`. */
function isLiteral(p: Parsed, n: SNode): boolean {
  const e = unwrap(n);
  return LITERALS.has(e.type) || (e.type === 'identifier' && p.text(e) === 'undefined') || (e.type === 'unary_expression' && operatorOf(p, e) === '-' && LITERALS.has(unwrap(field(e, 'argument') ?? e).type));
}

/**
 * The expressions (as source text) whose type the truth of `cond` narrows: the operand of `typeof`, `instanceof`,
 * `in` and of an equality with a literal, a value tested for truthiness, the argument of a type-guard-like call
 * (`Array.isArray(x)`, `isFoo(x)`), each through `!`, `&&`, `||` and parentheses; a member's object too, since a
 * discriminant (`r.ok`, `r.kind === 'a'`) narrows the union its object belongs to.
 */
export function narrowedBy(p: Parsed, cond: SNode): string[] {
  const out = new Set<string>();
  const subject = (n: SNode): void => {
    const e = unwrap(n);
    // `this` itself is no union a discriminant narrows here.
    if (e.type !== 'identifier' && e.type !== 'member_expression' && e.type !== 'subscript_expression') return;
    out.add(p.text(e));
    const obj = e.type === 'identifier' ? null : field(e, 'object');
    if (obj) subject(obj);
  };
  const visit = (n: SNode): void => {
    const e = unwrap(n);
    switch (e.type) {
      case 'unary_expression':
        if (operatorOf(p, e) === '!') visit(field(e, 'argument') ?? e);
        return;
      case 'binary_expression': {
        const op = operatorOf(p, e);
        const left = field(e, 'left');
        const right = field(e, 'right');
        if (!op || !left || !right) return;
        if (op === '&&' || op === '||' || op === '??') {
          visit(left);
          visit(right);
        } else if (op === 'instanceof') {
          // `this instanceof C` narrows `this` (a class callable without `new`); a discriminant does not.
          if (unwrap(left).type === 'this') out.add('this');
          else subject(left);
        }
        else if (op === 'in') subject(right);
        else if (EQUALITY.has(op)) {
          for (const [a, b] of [[left, right], [right, left]] as const) {
            const ua = unwrap(a);
            if (ua.type === 'unary_expression' && operatorOf(p, ua) === 'typeof') subject(field(ua, 'argument') ?? ua);
            else if (isLiteral(p, b)) subject(a);
          }
        }
        return;
      }
      case 'identifier':
      case 'member_expression':
      case 'subscript_expression':
        subject(e);
        return;
      case 'call_expression': {
        const fn = field(e, 'function');
        const args = field(e, 'arguments');
        const name = fn ? p.text(fn).split('.').pop() ?? '' : '';
        if (!/^is[A-Z_]/.test(name)) return;
        const first = args ? namedChildren(args)[0] : undefined;
        if (first) subject(first);
        const obj = fn?.type === 'member_expression' ? field(fn, 'object') : null;
        if (obj && !/^[A-Z]/.test(p.text(obj))) subject(obj);
        return;
      }
      default:
        return;
    }
  };
  visit(cond);
  return [...out];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^$()|[\]{}\\]/g, '\\$&');
}

/** Does the code of `region` read `subject` (a name or a member path), itself or a member of it? */
function mentions(p: Parsed, region: SNode, subject: string): boolean {
  return new RegExp(`(^|[^\\w$.])${escapeRegExp(subject)}($|[^\\w$])`).test(p.text(region));
}

const EXITS = new Set(['return_statement', 'throw_statement', 'break_statement', 'continue_statement']);

/** Does control never leave the end of this statement (its last statement returns, throws, breaks or continues)? */
function exits(s: SNode | null): boolean {
  if (!s) return false;
  if (EXITS.has(s.type)) return true;
  if (s.type === 'else_clause') return exits(namedChildren(s)[0] ?? null);
  if (s.type === 'statement_block') return exits(statementsOf(s).at(-1) ?? null);
  if (s.type === 'if_statement') return exits(field(s, 'consequence')) && exits(field(s, 'alternative'));
  return false;
}

/** The statements after `s` in its block: what an `if` whose branch exits narrows too. */
function following(s: SNode): SNode[] {
  const parent = s.parent;
  if (!parent) return [];
  const stmts = statementsOf(parent);
  const i = stmts.indexOf(s);
  return i < 0 ? [] : stmts.slice(i + 1);
}

/** The code whose types the truth of `n` narrows: the other side of `&&`/`||`, an `if`'s branches and what follows an exiting one, a ternary's arms, a loop's body. */
function guardedRegions(p: Parsed, n: SNode): SNode[] {
  const regions: SNode[] = [];
  let cur = n;
  for (let parent = cur.parent; parent; cur = parent, parent = cur.parent) {
    if (WRAPPERS.has(parent.type)) continue;
    if (parent.type === 'unary_expression' && operatorOf(p, parent) === '!') continue;
    if (parent.type === 'binary_expression' && ['&&', '||', '??'].includes(operatorOf(p, parent) ?? '')) {
      const right = field(parent, 'right');
      if (right && cur.field === 'left') regions.push(right);
      continue;
    }
    if (cur.field !== 'condition') break;
    if (parent.type === 'if_statement') {
      const cons = field(parent, 'consequence');
      const alt = field(parent, 'alternative');
      for (const r of [cons, alt]) if (r) regions.push(r);
      if (exits(cons) || exits(alt)) regions.push(...following(parent));
    } else if (parent.type === 'ternary_expression') {
      for (const r of [field(parent, 'consequence'), field(parent, 'alternative')]) if (r) regions.push(r);
    } else if (parent.type === 'while_statement' || parent.type === 'do_statement' || parent.type === 'for_statement') {
      const body = field(parent, 'body');
      if (body) regions.push(body);
    }
    break;
  }
  return regions;
}

/**
 * Would changing the truth of `n` (negating it, flipping its equality, swapping a `&&` in it) change a type TypeScript
 * narrows in code that uses it? Then the edit is a type error in the guarded code, not a bug.
 */
export function narrowingMatters(p: Parsed, n: SNode): boolean {
  const subjects = narrowedBy(p, n);
  if (subjects.length === 0) return false;
  return guardedRegions(p, n).some((r) => subjects.some((s) => mentions(p, r, s)));
}

/** Would swapping the `&&`/`||` of `n` change what its left operand narrows in its right one, or in the code `n` guards? */
export function logicNarrowingMatters(p: Parsed, n: SNode): boolean {
  const left = field(n, 'left');
  const right = field(n, 'right');
  if (left && right && narrowedBy(p, left).some((s) => mentions(p, right, s))) return true;
  return narrowingMatters(p, n);
}

/** Would emptying the exiting branch of this `if` leave what its condition narrowed un-narrowed in the code after it? */
export function guardRemovalMatters(p: Parsed, ifNode: SNode): boolean {
  const cond = field(ifNode, 'condition');
  if (!cond || !exits(field(ifNode, 'consequence'))) return false;
  const subjects = narrowedBy(p, cond);
  return following(ifNode).some((s) => subjects.some((x) => mentions(p, s, x)));
}

function isLiteralType(t: SNode | null): boolean {
  if (!t) return false;
  if (t.type === 'literal_type') return true;
  if (t.type === 'union_type' || t.type === 'parenthesized_type') return namedChildren(t).every(isLiteralType);
  return false;
}

/** The type node inside a `type_annotation` field of `n`. */
function annotation(n: SNode): SNode | null {
  const ann = field(n, 'type');
  return ann ? (namedChildren(ann)[0] ?? null) : null;
}

function classFields(cls: SNode): SNode[] {
  const body = field(cls, 'body');
  return body ? namedChildren(body).filter((c) => c.type === 'public_field_definition') : [];
}

/**
 * Is this field's type a literal one: `ok: true`, `kind: 'a' | 'b'`, or, for a boolean, `readonly ok = true` (a
 * readonly field keeps its initial literal's type; a boolean one is most often a discriminant, a number one a
 * constant whose value is free to change).
 */
function literalTypedField(f: SNode, boolean: boolean): boolean {
  if (isLiteralType(annotation(f))) return true;
  return boolean && !field(f, 'type') && f.children.some((c) => c.type === 'readonly');
}

/**
 * Is the type of this literal (`true`, `1`) the literal itself, so that another value is a type error: the value of
 * a field typed by it (see literalTypedField), of a variable annotated with a literal type, `x as const`, or assigned
 * to such a field of the class (`this.ok = true` for a field `ok: true`).
 */
export function literalTypeMatters(p: Parsed, lit: SNode): boolean {
  let n = lit;
  while (n.parent && WRAPPERS.has(n.parent.type)) n = n.parent;
  const parent = n.parent;
  if (!parent) return false;
  if (parent.type === 'as_expression' && /\bconst\s*$/.test(p.text(parent))) return true;
  if (n.field !== 'value' && n.field !== 'right') return false;
  const boolean = lit.type === 'true' || lit.type === 'false';
  if (parent.type === 'public_field_definition') return literalTypedField(parent, boolean);
  if (parent.type === 'variable_declarator') return isLiteralType(annotation(parent));
  if (parent.type === 'assignment_expression') {
    const left = field(parent, 'left');
    const obj = left?.type === 'member_expression' ? field(left, 'object') : null;
    const prop = left ? field(left, 'property') : null;
    if (obj?.type !== 'this' || !prop) return false;
    let cls: SNode | null = parent.parent;
    while (cls && cls.type !== 'class_declaration' && cls.type !== 'class' && cls.type !== 'abstract_class_declaration') cls = cls.parent;
    const decl = cls ? classFields(cls).find((f) => { const name = field(f, 'name'); return !!name && p.text(name) === p.text(prop); }) : undefined;
    return !!decl && literalTypedField(decl, boolean);
  }
  return false;
}

/* ---------- names an edit leaves unused ---------- */

/** Names a deletion leaves unread: `values` can be kept read by a `void` statement (`void x;`, `void this.m;`), `types` cannot. */
export interface TsOrphans { values: string[]; types: string[] }

/** A declaration; `scope`, where a read of it may be (a parameter's function: another function's `s` is another `s`). */
interface Decl { name: string; at: number; member: boolean; scope: SNode | null }

const NAME_NODES = new Set(['identifier', 'type_identifier', 'shorthand_property_identifier', 'shorthand_property_identifier_pattern']);
const MEMBER_NAMES = new Set(['property_identifier', 'private_property_identifier']);
const TOP_DECLS = new Set(['function_declaration', 'generator_function_declaration', 'class_declaration', 'abstract_class_declaration', 'interface_declaration', 'type_alias_declaration', 'enum_declaration']);

function importNames(p: Parsed, out: Decl[]): void {
  for (const s of namedChildren(p.root)) {
    if (s.type !== 'import_statement') continue;
    const clause = s.children.find((c) => c.type === 'import_clause');
    if (!clause) continue;
    for (const c of namedChildren(clause)) {
      if (c.type === 'identifier') out.push({ name: p.text(c), at: c.start, member: false, scope: null });
      else if (c.type === 'namespace_import') {
        const id = namedChildren(c).find((x) => x.type === 'identifier');
        if (id) out.push({ name: p.text(id), at: id.start, member: false, scope: null });
      } else if (c.type === 'named_imports') {
        for (const spec of namedChildren(c)) {
          const id = field(spec, 'alias') ?? field(spec, 'name');
          if (spec.type === 'import_specifier' && id) out.push({ name: p.text(id), at: id.start, member: false, scope: null });
        }
      }
    }
  }
}

/** Declarations a `noUnusedLocals` / `noUnusedParameters` check reports once unread, around the code at `at`. */
function declarationsAround(p: Parsed, at: SNode): Decl[] {
  const out: Decl[] = [];
  importNames(p, out);
  // Exported declarations sit in an export_statement: never unused.
  for (const s of namedChildren(p.root)) {
    const name = TOP_DECLS.has(s.type) ? field(s, 'name') : null;
    if (name) out.push({ name: p.text(name), at: name.start, member: false, scope: null });
    if (s.type === 'lexical_declaration' || s.type === 'variable_declaration') {
      for (const d of namedChildren(s)) {
        const id = d.type === 'variable_declarator' ? field(d, 'name') : null;
        if (id?.type === 'identifier') out.push({ name: p.text(id), at: id.start, member: false, scope: null });
      }
    }
  }
  let outermost: SNode | null = null;
  for (let a = at.parent; a; a = a.parent) {
    const params = field(a, 'parameters');
    if (params && field(a, 'body')) {
      outermost = a;
      for (const prm of namedChildren(params)) {
        const id = field(prm, 'pattern');
        // Parameter properties are fields; `_`-prefixed parameters are exempt from the check.
        if (id?.type !== 'identifier' || prm.children.some((c) => c.type === 'accessibility_modifier' || c.type === 'readonly') || p.text(id).startsWith('_')) continue;
        out.push({ name: p.text(id), at: id.start, member: false, scope: a });
      }
    }
    if (a.type === 'class_body') {
      for (const m of namedChildren(a)) {
        // A private parameter property (`constructor(private readonly x: T)`) is a private field.
        if (m.type === 'method_definition' && p.text(field(m, 'name') ?? m) === 'constructor') {
          for (const prm of namedChildren(field(m, 'parameters') ?? m)) {
            const id = field(prm, 'pattern');
            if (id?.type === 'identifier' && prm.children.some((c) => c.type === 'accessibility_modifier' && p.text(c) === 'private')) out.push({ name: p.text(id), at: id.start, member: true, scope: null });
          }
        }
        const name = field(m, 'name');
        if (!name || (m.type !== 'public_field_definition' && m.type !== 'method_definition')) continue;
        const isPrivate = name.type === 'private_property_identifier' || m.children.some((c) => c.type === 'accessibility_modifier' && p.text(c) === 'private');
        if (isPrivate && !m.children.some((c) => c.type === 'static')) out.push({ name: p.text(name), at: name.start, member: true, scope: null });
      }
    }
  }
  const body = outermost ? field(outermost, 'body') : null;
  if (body) {
    const visit = (n: SNode): void => {
      if (n.type === 'variable_declarator') {
        const id = field(n, 'name');
        if (id?.type === 'identifier') out.push({ name: p.text(id), at: id.start, member: false, scope: body });
      }
      for (const c of n.children) visit(c);
    };
    visit(body);
  }
  return out;
}

/**
 * The declarations around `at` that every read of lies within `ranges`, the code an edit deletes: a parameter only
 * the removed body used, an import only the deleted `return` called, a private method only the removed statement
 * called. Under `noUnusedLocals` / `noUnusedParameters` each is a type error (TS6133) once the code is gone.
 */
export function tsOrphans(p: Parsed, at: SNode, ranges: readonly (readonly [number, number])[]): TsOrphans {
  // A declaration inside the deleted code goes with it.
  const decls = declarationsAround(p, at).filter((d) => !ranges.some(([a, b]) => d.at >= a && d.at < b));
  if (decls.length === 0) return { values: [], types: [] };
  const inRanges = (n: SNode): boolean => ranges.some(([a, b]) => n.start >= a && n.end <= b);
  type Use = { inside: SNode[]; outside: number; scope: SNode | null };
  const names = new Map<string, Use>();
  const members = new Map<string, Use>();
  // Of two declarations of a name (a parameter shadowing an import), the innermost one is the one the code reads.
  for (const d of decls) (d.member ? members : names).set(d.name, { inside: [], outside: 0, scope: d.scope });
  const within = (n: SNode, scope: SNode | null): boolean => !scope || (n.start >= scope.start && n.end <= scope.end);
  const declAt = new Set(decls.map((d) => d.at));
  // Assigning is no read: a field only ever assigned is unused all the same.
  const written = (n: SNode): boolean => {
    const target = n.field === 'property' ? n.parent : n;
    return target?.field === 'left' && target.parent?.type === 'assignment_expression';
  };
  const visit = (n: SNode): void => {
    // `x is T` names the parameter without reading it.
    if (!declAt.has(n.start) && !written(n) && n.parent?.type !== 'type_predicate') {
      const member = MEMBER_NAMES.has(n.type) && n.field === 'property' ? members.get(p.text(n)) : undefined;
      const plain = NAME_NODES.has(n.type) ? names.get(p.text(n)) : undefined;
      for (const u of [member, plain]) {
        if (!u || !within(n, u.scope)) continue;
        if (inRanges(n)) u.inside.push(n);
        else u.outside++;
      }
    }
    for (const c of n.children) visit(c);
  };
  visit(p.root);
  const out: TsOrphans = { values: [], types: [] };
  for (const [name, u] of names) {
    if (u.outside > 0 || u.inside.length === 0) continue;
    if (u.inside.some((n) => n.type !== 'type_identifier')) out.values.push(name);
    else out.types.push(name);
  }
  for (const [name, u] of members) if (u.outside === 0 && u.inside.length > 0) out.values.push(`this.${name}`);
  return out;
}
