import type { Lang } from './lang.js';
import type { Parsed, SNode } from './parser.js';

export function namedChildren(n: SNode): SNode[] {
  return n.children.filter((c) => c.named && !isComment(c));
}

export function field(n: SNode, name: string): SNode | null {
  for (const c of n.children) if (c.field === name) return c;
  return null;
}

export function fields(n: SNode, name: string): SNode[] {
  return n.children.filter((c) => c.field === name);
}

export function childOfType(n: SNode, ...types: string[]): SNode | null {
  for (const c of n.children) if (types.includes(c.type)) return c;
  return null;
}

export function isComment(n: SNode): boolean {
  return n.type === 'comment' || n.type === 'line_comment' || n.type === 'block_comment';
}

/** Pre-order traversal; `visit` returning false skips the node's subtree. */
export function walk(n: SNode, visit: (n: SNode) => boolean | void): void {
  const stack: SNode[] = [n];
  while (stack.length > 0) {
    const cur = stack.pop()!;
    if (visit(cur) === false) continue;
    for (let i = cur.children.length - 1; i >= 0; i--) stack.push(cur.children[i]!);
  }
}

export function descendants(n: SNode, pred: (n: SNode) => boolean): SNode[] {
  const out: SNode[] = [];
  walk(n, (c) => {
    if (pred(c)) out.push(c);
  });
  return out;
}

export function hasAncestor(n: SNode, pred: (a: SNode) => boolean, stop?: (a: SNode) => boolean): boolean {
  for (let a = n.parent; a; a = a.parent) {
    if (pred(a)) return true;
    if (stop?.(a)) return false;
  }
  return false;
}

export function contains(outer: SNode, inner: SNode): boolean {
  return outer.start <= inner.start && inner.end <= outer.end;
}

const FUNCTION_TYPES: Record<Lang, ReadonlySet<string>> = {
  python: new Set(['function_definition', 'lambda']),
  javascript: new Set([
    'function_declaration',
    'generator_function_declaration',
    'function_expression',
    'function',
    'generator_function',
    'arrow_function',
    'method_definition',
  ]),
  typescript: new Set(),
  tsx: new Set(),
  go: new Set(['function_declaration', 'method_declaration', 'func_literal']),
  rust: new Set(['function_item', 'closure_expression']),
  java: new Set(['method_declaration', 'constructor_declaration', 'lambda_expression', 'compact_constructor_declaration']),
  c: new Set(['function_definition']),
  cpp: new Set(['function_definition', 'lambda_expression']),
};
FUNCTION_TYPES.typescript = FUNCTION_TYPES.javascript;
FUNCTION_TYPES.tsx = FUNCTION_TYPES.javascript;

export function isFunctionNode(lang: Lang, n: SNode): boolean {
  return FUNCTION_TYPES[lang].has(n.type);
}

/** The nearest enclosing function-like node (anonymous ones included). */
export function enclosingFunctionNode(lang: Lang, n: SNode): SNode | null {
  for (let a = n.parent; a; a = a.parent) if (isFunctionNode(lang, a)) return a;
  return null;
}

/**
 * The name a function-like node is known by: its own name, or for anonymous JS functions the
 * variable, property or field they are assigned to. Null for truly anonymous ones (callbacks).
 */
export function functionNodeName(p: Parsed, fn: SNode): string | null {
  if ((p.lang === 'c' || p.lang === 'cpp') && fn.type === 'function_definition') return cFunctionName(p, fn);
  const own = field(fn, 'name');
  if (own) return p.text(own);
  return boundName(p, fn);
}

/** The name a JS/TS function expression is bound to (`const f = ...`, `{ f: ... }`, `x.f = ...`), whatever its own name. */
export function boundName(p: Parsed, fn: SNode): string | null {
  if (fn.type !== 'arrow_function' && fn.type !== 'function_expression' && fn.type !== 'function' && fn.type !== 'generator_function') {
    return null;
  }
  let parent = fn.parent;
  while (parent && (parent.type === 'parenthesized_expression' || parent.type === 'as_expression' || parent.type === 'satisfies_expression')) {
    parent = parent.parent;
  }
  if (!parent) return null;
  const keyed =
    parent.type === 'variable_declarator'
      ? field(parent, 'name')
      : parent.type === 'pair'
        ? field(parent, 'key')
        : parent.type === 'public_field_definition' || parent.type === 'field_definition'
          ? (field(parent, 'name') ?? field(parent, 'property'))
          : parent.type === 'assignment_expression'
            ? field(parent, 'left')
            : null;
  if (!keyed) return null;
  if (keyed.type === 'member_expression') {
    const prop = field(keyed, 'property');
    return prop ? p.text(prop) : null;
  }
  if (keyed.type === 'identifier' || keyed.type.endsWith('property_identifier') || keyed.type === 'string') {
    return p.text(keyed).replace(/^['"]|['"]$/g, '');
  }
  return null;
}

/**
 * The function_declarator of a C/C++ function definition or declaration: the `declarator` field holds it directly,
 * or under the pointer/reference declarators of the return type (`char *f(void)`, `const T &get()`).
 */
export function cFunctionDeclarator(n: SNode): SNode | null {
  let d = field(n, 'declarator');
  while (d && d.type !== 'function_declarator') {
    d = field(d, 'declarator') ?? d.children.find((c) => c.named && c.type.endsWith('_declarator')) ?? null;
  }
  return d;
}

/** A C/C++ function's own name: the last part of `ns::Cls::method`, `~Cls`, `operator==`; null when unnamed. */
export function cFunctionName(p: Parsed, fn: SNode): string | null {
  let d = cFunctionDeclarator(fn);
  let name = d ? field(d, 'declarator') : null;
  while (name && (name.type === 'qualified_identifier' || name.type === 'template_function' || name.type === 'template_method')) {
    d = name;
    name = field(name, 'name');
  }
  return name ? p.text(name) : null;
}

/** The name of the nearest enclosing named function (anonymous callbacks are looked through). */
export function enclosingFunctionName(p: Parsed, n: SNode): string | null {
  for (let a = n.parent; a; a = a.parent) {
    if (!isFunctionNode(p.lang, a)) continue;
    const name = functionNodeName(p, a);
    if (name) return name;
  }
  return null;
}

export function isBlank(s: string): boolean {
  return /^[ \t]*$/.test(s);
}

/**
 * The range to delete so that a construct disappears with its line when it stands alone on its
 * lines; otherwise just its own range (a statement sharing a line with others).
 */
export function lineExpandedRange(p: Parsed, start: number, end: number): [number, number] {
  const src = p.source;
  const ls = p.lines.lineStart(start);
  let le = src.indexOf('\n', end);
  if (le < 0) le = src.length;
  const before = src.slice(ls, start);
  const after = src.slice(end, le);
  if (isBlank(before) && isBlank(after.replace(/\r$/, ''))) return [ls, le < src.length ? le + 1 : le];
  return [start, end];
}

/** The leading whitespace of the line containing offset. */
export function indentAt(p: Parsed, offset: number): string {
  const ls = p.lines.lineStart(offset);
  const m = /^[ \t]*/.exec(p.source.slice(ls, offset + 1));
  return m ? m[0] : '';
}

/** One indentation step as the file writes it, guessed from its indented lines. */
export function indentUnit(p: Parsed): string {
  if (p.lang === 'go') return '\t';
  const m = /\n( +|\t)\S/.exec(p.source);
  if (!m) return '    ';
  return m[1]!.startsWith('\t') ? '\t' : m[1]!.length >= 2 && m[1]!.length <= 8 ? m[1]! : '    ';
}

export function truncate(s: string, max = 40): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? one.slice(0, max - 1) + '…' : one;
}

export function statementsOf(block: SNode): SNode[] {
  return block.children.filter((c) => c.named && !isComment(c));
}
