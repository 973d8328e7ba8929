import {
  enclosingFunctionName,
  enclosingFunctionNode,
  field,
  hasAncestor,
  isComment,
  isFunctionNode,
  lineExpandedRange,
  namedChildren,
  statementsOf,
  truncate,
  walk,
} from './ast.js';
import { applyEdits, type Edit } from './edits.js';
import { GoIndex, goIsConstant, type GoOrphans, goVetSuspectBool } from './gousage.js';
import { isCFamily, isJsLike, isTypeScript, type Lang } from './lang.js';
import { type Parsed, type SNode, withParsed } from './parser.js';
import { guardRemovalMatters, literalTypeMatters, logicNarrowingMatters, narrowingMatters } from './tstypes.js';
import { Validator } from './validate.js';
import { cZero, GoTypes, javaZero, tsZero } from './zero.js';

export type MutationKind =
  | 'compare-flip'
  | 'arith-swap'
  | 'logic-swap'
  | 'negate-condition'
  | 'constant-change'
  | 'off-by-one'
  | 'return-change'
  | 'remove-statement'
  | 'remove-branch';

export interface Mutation {
  kind: MutationKind;
  edit: Edit;
  /** 1-based line of the mutated node. */
  line: number;
  /** tree-sitter node type mutated. */
  nodeType: string;
  /** Enclosing named function/method, if any. */
  functionName: string | null;
  /** Characters removed or changed. */
  size: number;
  /** AST depth of the node. */
  depth: number;
  description: string;
  /**
   * Which way the edit goes, in words (`fromne toeq`, `strip`, `tozero`): what a policy can learn about a kind beyond
   * its name. One word per side, since a policy key is a bag of words: `ne to eq` and `eq to ne` would be one bag.
   * A solver that learns the injector's habits prefers the inverse edits (stripping a negation an injector wrapped
   * around a condition, decrementing a constant it incremented), so the direction must be visible.
   */
  variant: string;
}

/** Operators as words: policy keys are tokenised on anything not alphanumeric, which would erase the symbols. */
const OP_WORDS: Record<string, string> = {
  '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge', '==': 'eq', '!=': 'ne', '===': 'eq', '!==': 'ne', '+': 'plus', '-': 'minus',
  '*': 'times', '/': 'div', '//': 'floordiv', '%': 'mod', '**': 'pow', '<<': 'shl', '>>': 'shr', '&': 'bitand', '|': 'bitor',
  '^': 'xor', '&&': 'and', '||': 'or', and: 'and', or: 'or', in: 'in', 'not in': 'notin', is: 'is', 'is not': 'isnot', '++': 'incr', '--': 'decr',
};

export function variantOf(kind: MutationKind, from: string, to: string): string {
  switch (kind) {
    case 'negate-condition':
      return to.length < from.length ? 'strip' : 'wrap';
    case 'constant-change': {
      const a = Number(from.replace(/_/g, '')), b = Number(to.replace(/_/g, ''));
      if (Number.isNaN(a) || Number.isNaN(b)) return 'bool';
      return b === 0 ? 'tozero' : a === 0 ? 'fromzero' : b > a ? 'inc' : 'dec';
    }
    case 'compare-flip': case 'arith-swap': case 'logic-swap': {
      // A compound assignment (`+=`) goes the way of its operator.
      const w = (op: string) => OP_WORDS[op] ?? OP_WORDS[op.replace(/=$/, '')] ?? 'op';
      return `from${w(from)} to${w(to)}`;
    }
    default:
      return '';
  }
}

const COMPARE: Record<string, readonly string[]> = {
  '<': ['<=', '>'],
  '<=': ['<', '>='],
  '>': ['>=', '<'],
  '>=': ['>', '<='],
  '==': ['!='],
  '!=': ['=='],
  '===': ['!=='],
  '!==': ['==='],
  in: ['not in'],
  'not in': ['in'],
  is: ['is not'],
  'is not': ['is'],
};
const ARITH: Record<string, readonly string[]> = {
  '+': ['-'],
  '-': ['+'],
  '*': ['/'],
  '/': ['*'],
  '%': ['*'],
  '//': ['/'],
  '**': ['*'],
  '<<': ['>>'],
  '>>': ['<<'],
  '&': ['|'],
  '|': ['&'],
  '^': ['&'],
  '+=': ['-='],
  '-=': ['+='],
  '*=': ['/='],
  '/=': ['*='],
  '%=': ['*='],
  '//=': ['/='],
  '<<=': ['>>='],
  '>>=': ['<<='],
  '&=': ['|='],
  '|=': ['&='],
  '++': ['--'],
  '--': ['++'],
};
const LOGIC: Record<string, readonly string[]> = { '&&': ['||'], '||': ['&&'], and: ['or'], or: ['and'] };

/** Node types carrying a mutable operator token, per language. */
const OPERATOR_NODES: Record<Lang, ReadonlySet<string>> = {
  python: new Set(['comparison_operator', 'binary_operator', 'boolean_operator', 'augmented_assignment']),
  javascript: new Set(['binary_expression', 'augmented_assignment_expression', 'update_expression']),
  typescript: new Set(),
  tsx: new Set(),
  go: new Set(['binary_expression', 'assignment_statement', 'inc_statement', 'dec_statement']),
  rust: new Set(['binary_expression', 'compound_assignment_expr']),
  java: new Set(['binary_expression', 'update_expression', 'assignment_expression']),
  c: new Set(['binary_expression', 'update_expression', 'assignment_expression']),
  cpp: new Set(['binary_expression', 'update_expression', 'assignment_expression']),
};
OPERATOR_NODES.typescript = OPERATOR_NODES.javascript;
OPERATOR_NODES.tsx = OPERATOR_NODES.javascript;

const INT_LITERALS = new Set(['integer', 'number', 'int_literal', 'integer_literal', 'decimal_integer_literal', 'hex_integer_literal', 'number_literal']);
const INT_SUFFIX: Record<Lang, RegExp> = {
  python: /^$/,
  javascript: /^n?$/,
  typescript: /^n?$/,
  tsx: /^n?$/,
  go: /^$/,
  rust: /^(_?(i8|i16|i32|i64|i128|isize|u8|u16|u32|u64|u128|usize))?$/,
  java: /^[lL]?$/,
  // u, l, ul, ll, ull in either order and case (C's and C++'s integer suffixes); floats never match the digits.
  c: /^(?:[uU](?:l|L|ll|LL)?|(?:l|L|ll|LL)[uU]?)?$/,
  cpp: /^(?:[uU](?:l|L|ll|LL|z|Z)?|(?:l|L|ll|LL|z|Z)[uU]?)?$/,
};
const STRING_TYPES = new Set([
  'string', 'template_string', 'concatenated_string', 'interpreted_string_literal', 'raw_string_literal',
  'string_literal', 'text_block', 'char_literal', 'rune_literal', 'system_lib_string',
]);

/** Is the node inside a type (annotation, array length, generic argument)? Values there are not runtime code. */
function inTypeContext(lang: Lang, n: SNode): boolean {
  if (isCFamily(lang) && n.field === 'condition' && !!n.parent && n.parent.type.startsWith('preproc_')) return true;
  return hasAncestor(n, (a) => {
    if (lang === 'python') return a.type === 'type';
    // C/C++: casts' and sizeof's type names, template arguments and parameters, and #if conditions (which the
    // preprocessor evaluates: flipping one swaps whole blocks of code in or out rather than making a bug).
    if (isCFamily(lang) && (a.type === 'type_descriptor' || a.type === 'template_argument_list' || a.type === 'template_parameter_list' ||
      (a.field === 'condition' && !!a.parent && a.parent.type.startsWith('preproc_')))) return true;
    return (
      a.type.endsWith('_type') ||
      a.type === 'type_annotation' ||
      a.type === 'type_arguments' ||
      a.type === 'type_parameters' ||
      a.type === 'type_alias_declaration' ||
      a.type === 'type_spec' ||
      a.type === 'type_item'
    );
  });
}

/** Does an operand chain of `+` involve a string literal (so `+` is concatenation)? */
function involvesString(n: SNode, opNodeTypes: ReadonlySet<string>, p: Parsed): boolean {
  if (STRING_TYPES.has(n.type)) return true;
  if (!opNodeTypes.has(n.type)) return false;
  const op = operatorTokens(p, n)[0];
  if (!op || op.text !== '+') return false;
  return namedChildren(n).some((c) => involvesString(c, opNodeTypes, p));
}

interface OpToken {
  start: number;
  end: number;
  text: string;
  type: string;
}

/** The operator tokens of an operator node; Python's `not in` / `is not` are two tokens, joined here. */
function operatorTokens(p: Parsed, n: SNode): OpToken[] {
  const out: OpToken[] = [];
  for (const c of n.children) {
    if (c.named) continue;
    const isOp = c.field === 'operator' || c.field === 'operators' || c.type === '++' || c.type === '--';
    if (!isOp) continue;
    const last = out[out.length - 1];
    if (last && c.type.includes(' ') && last.type === c.type && last.end <= c.start) {
      last.end = c.end;
      last.text = c.type;
      continue;
    }
    out.push({ start: c.start, end: c.end, text: c.type.includes(' ') ? c.type : p.text(c), type: c.type });
  }
  return out;
}

interface Ctx {
  p: Parsed;
  v: Validator;
  out: Mutation[];
  goTypes: GoTypes | null;
  go: GoIndex | null;
}

/** What a Go deletion leaves unused (nothing outside Go). */
function goOrphansOf(ctx: Ctx, fn: SNode | null, ranges: readonly (readonly [number, number])[]): GoOrphans {
  return ctx.go ? ctx.go.orphans(fn, ranges) : { locals: [], imports: [] };
}

function where(fn: string | null, line: number): string {
  return fn ? `in ${fn}() at line ${line}` : `at line ${line}`;
}

const GO_EXPR_WRAPPERS = new Set(['binary_expression', 'unary_expression', 'parenthesized_expression']);

/**
 * Go-specific build breakers the parser cannot see: constant expressions the compiler evaluates
 * (overflow, `s[1:0]`), and `&&`/`||` chains that go vet's `bool` check, run by `go test`
 * before any test, rejects.
 */
function goBuilds(ctx: Ctx, kind: MutationKind, node: SNode, edit: Edit): boolean {
  const { p } = ctx;
  if (!ctx.go) return true;
  let top = node;
  while (top.parent && GO_EXPR_WRAPPERS.has(top.parent.type)) top = top.parent;
  if (kind === 'arith-swap' || kind === 'constant-change' || kind === 'off-by-one') {
    // A lone literal is fine to change; one inside a constant expression may overflow.
    if (top.type !== 'int_literal' && goIsConstant(p, top, ctx.go.constants)) return false;
    const parent = node.parent;
    if (kind === 'constant-change' && parent?.type === 'slice_expression' && parent.children.some((c) => c !== node && c.type === 'int_literal')) {
      return false;
    }
  }
  if (kind === 'remove-statement' || kind === 'remove-branch' || kind === 'return-change') return true;
  if (!GO_EXPR_WRAPPERS.has(top.type) || edit.start < top.start || edit.end > top.end) return true;
  const text = applyEdits(p.source.slice(top.start, top.end), [{ start: edit.start - top.start, end: edit.end - top.start, replacement: edit.replacement }]);
  const q = p.reparse(`package p\n\nfunc _() {\n\t_ = ${text}\n}\n`);
  try {
    return !goVetSuspectBool(q, q.root);
  } finally {
    q.dispose();
  }
}

function push(ctx: Ctx, kind: MutationKind, node: SNode, edit: Edit, size: number, description: string): void {
  if (ctx.p.lang === 'go' && !goBuilds(ctx, kind, node, edit)) return;
  // The edit's own line for tokens inside a multi-line node; the node's line for edits that start
  // before it (a removal starting at the end of the preceding clause).
  const line = ctx.p.lines.row(Math.max(edit.start, node.start)) + 1;
  const functionName = enclosingFunctionName(ctx.p, node);
  ctx.out.push({
    kind,
    edit,
    line,
    nodeType: node.type,
    functionName,
    size,
    depth: node.depth,
    description: `${description} ${where(functionName, line)}`,
    variant: variantOf(kind, ctx.p.source.slice(edit.start, edit.end), edit.replacement),
  });
}

const ASSIGNMENTS = new Set([
  'augmented_assignment', 'augmented_assignment_expression', 'update_expression', 'inc_statement', 'dec_statement',
  'assignment', 'assignment_expression', 'assignment_statement', 'compound_assignment_expr',
]);
const LOOPS = new Set(['while_statement', 'do_statement', 'for_statement', 'while_expression']);

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^$()|[\]{}\\]/g, '\\$&');
}

/** The variable an assignment around `n` (within its statement) updates, if any. */
function assignedTarget(p: Parsed, n: SNode): string | null {
  for (let a: SNode | null = n; a; a = a.parent) {
    if (ASSIGNMENTS.has(a.type)) {
      const target = field(a, 'left') ?? field(a, 'argument') ?? namedChildren(a)[0];
      return target ? p.text(target).trim() : null;
    }
    if (a.parent && (BLOCKS[p.lang].has(a.parent.type) || a.parent.type === 'module' || a.parent.type === 'program')) return null;
    if (isFunctionNode(p.lang, a)) return null;
  }
  return null;
}

/**
 * Would mutating `n` stop a loop from progressing (the counter update `i += 1` of `while i < n`
 * becoming `i -= 1`, `i += 0` or disappearing)? Such bugs hang the test run instead of failing it.
 */
export function spinsLoop(p: Parsed, n: SNode): boolean {
  const target = assignedTarget(p, n);
  if (!target) return false;
  const word = new RegExp('(^|[^\\w.])' + escapeRegExp(target) + '($|[^\\w])');
  for (let a = n.parent; a; a = a.parent) {
    if (isFunctionNode(p.lang, a)) break;
    if (!LOOPS.has(a.type)) continue;
    const header: SNode[] = [];
    for (const c of a.children) {
      if (c.field === 'condition' || c.field === 'increment' || c.field === 'update') header.push(c);
      if (c.type === 'for_clause') header.push(...c.children.filter((x) => x.field === 'condition' || x.field === 'update'));
      if (p.lang === 'go' && a.type === 'for_statement' && c.named && c.field === null && c.type !== 'block' && c.type !== 'for_clause' && c.type !== 'range_clause') header.push(c);
    }
    if (header.some((h) => word.test(p.text(h)))) return true;
  }
  return false;
}

function operatorMutations(ctx: Ctx, n: SNode): void {
  const { p } = ctx;
  const lang = p.lang;
  if (inTypeContext(lang, n)) return;
  for (const tok of operatorTokens(p, n)) {
    const op = tok.text;
    let kind: MutationKind;
    let targets: readonly string[] | undefined;
    if ((targets = COMPARE[op])) kind = 'compare-flip';
    else if ((targets = LOGIC[op])) kind = 'logic-swap';
    else if ((targets = ARITH[op])) kind = 'arith-swap';
    else continue;
    // Word operators (`in`, `is`, `and`, `not in`) are Python's; JS `in`/`instanceof` are not comparisons.
    if (lang !== 'python' && /[a-z]/.test(op)) continue;
    if (kind === 'arith-swap' && spinsLoop(p, n)) continue;
    // TypeScript narrows types by equalities and `&&`: flipped, the code they guard no longer type-checks.
    if (isTypeScript(lang) && kind === 'compare-flip' && /^[=!]=/.test(op) && narrowingMatters(p, n)) continue;
    if (isTypeScript(lang) && kind === 'logic-swap' && logicNarrowingMatters(p, n)) continue;
    // C++ overloads << and >> for streams (`std::cout << x`): swapping them there does not compile. Only shifts with
    // a literal operand are surely arithmetic.
    if (lang === 'cpp' && (op === '<<' || op === '>>' || op === '<<=' || op === '>>=') && !namedChildren(n).some((c) => INT_LITERALS.has(c.type))) continue;
    if (kind === 'arith-swap' && (op === '+' || op === '+=' || op === '%' || op === '*')) {
      // `+` on strings is concatenation and Python's `%`/`*` on a string literal are formatting
      // and repetition: swapping them makes a type error, not a logic bug.
      const operands = namedChildren(n);
      const opNodes = OPERATOR_NODES[lang];
      if (op.startsWith('+') && operands.some((c) => involvesString(c, opNodes, p))) continue;
      if (lang === 'python' && (op === '%' || op === '*') && operands.some((c) => STRING_TYPES.has(c.type))) continue;
    }
    for (const to of targets) {
      const edit: Edit = { start: tok.start, end: tok.end, replacement: to };
      const ok = ctx.v.operatorSwapIsLexicallySafe(edit) || ctx.v.check(n, [edit]);
      if (!ok) continue;
      const verb = kind === 'compare-flip' ? 'flip' : 'swap';
      push(ctx, kind, n, edit, tok.end - tok.start, `${verb} ${op} to ${to}`);
    }
  }
}

function parseIntLiteral(text: string, lang: Lang): { value: bigint; hex: boolean; upper: boolean; suffix: string } | null {
  const m = /^(0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)([A-Za-z_]\w*)?$/.exec(text);
  if (!m) return null;
  const body = m[1]!;
  const suffix = m[2] ?? '';
  if (!INT_SUFFIX[lang].test(suffix)) return null;
  const hex = /^0[xX]/.test(body);
  // A leading zero means octal in Go/Java/old JS and is invalid in Python 3: leave those alone.
  if (!hex && body.length > 1 && body.startsWith('0')) return null;
  const digits = body.replace(/_/g, '');
  try {
    return { value: BigInt(digits), hex, upper: /[A-F]/.test(body), suffix };
  } catch {
    return null;
  }
}

function formatInt(v: bigint, like: { hex: boolean; upper: boolean; suffix: string }): string {
  if (like.hex) {
    const h = v.toString(16);
    return '0x' + (like.upper ? h.toUpperCase() : h) + like.suffix;
  }
  return v.toString() + like.suffix;
}

/** Literal positions where a changed value breaks compilation rather than behaviour. */
function constantIsFrozen(lang: Lang, n: SNode): boolean {
  const parent = n.parent;
  if (!parent) return true;
  if (lang === 'go') {
    // Duplicate constant cases and duplicate constant map keys are compile errors in Go.
    if (parent.type === 'expression_list' && parent.parent?.type === 'expression_case') return true;
    if (parent.type === 'literal_element' && parent.parent?.type === 'keyed_element' && parent.parent.children[0] === parent) return true;
  }
  if (lang === 'java' && hasAncestor(n, (a) => a.type === 'switch_label', (a) => a.type.endsWith('statement'))) return true;
  if (isCFamily(lang)) {
    // Duplicate case labels, array sizes that no longer fit their initializer, enumerators (which case labels use),
    // bit-field widths and static_assert conditions: a changed value there is a compile error, not a bug.
    for (let a: SNode | null = n; a?.parent; a = a.parent) {
      if (a.parent.type === 'case_statement' && a.field === 'value') return true;
      if (a.parent.type === 'array_declarator' && a.field === 'size') return true;
      if (a.parent.type === 'enumerator' || a.parent.type === 'bitfield_clause' || a.parent.type === 'static_assert_declaration') return true;
      if (a.parent.type === 'compound_statement' || a.parent.type === 'translation_unit' || a.parent.type === 'field_declaration_list') break;
    }
  }
  if (lang === 'rust' && parent.type === 'field_expression') return true;
  if (lang === 'python' && hasAncestor(n, (a) => a.type === 'decorator')) return true;
  return false;
}

function isDivisorLiteral(n: SNode, p: Parsed): boolean {
  // Go puts assignment operands in an expression_list: `r /= 0xff`.
  const operand = n.parent?.type === 'expression_list' ? n.parent : n;
  const parent = operand.parent;
  if (!parent || operand.field !== 'right') return false;
  const op = operatorTokens(p, parent)[0]?.text;
  return op === '/' || op === '%' || op === '//' || op === '/=' || op === '%=';
}

/** Maximum values of fixed-size integers: one more overflows the type the literal sits in. */
const INT_MAXIMA = new Set([127n, 255n, 32767n, 65535n, 2147483647n, 4294967295n, 9223372036854775807n, 18446744073709551615n]);
const TYPED_LANGS: ReadonlySet<Lang> = new Set(['go', 'rust', 'java', 'c', 'cpp']);

/** Would `n + 1` of this literal likely not compile (typed overflow, shift by the full width, constant index past an array's end)? */
function incrementBreaksBuild(p: Parsed, n: SNode, value: bigint): boolean {
  if (!TYPED_LANGS.has(p.lang)) return false;
  if (INT_MAXIMA.has(value)) return true;
  const parent = n.parent;
  const op = parent ? operatorTokens(p, parent)[0]?.text : undefined;
  if (n.field === 'right' && (op === '<<' || op === '>>') && (value === 7n || value === 15n || value === 31n || value === 63n)) return true;
  // Go checks constant indices against array lengths at compile time.
  return p.lang === 'go' && parent?.type === 'index_expression' && n.field === 'index';
}

function constantMutations(ctx: Ctx, n: SNode): void {
  const { p } = ctx;
  const lang = p.lang;
  if (inTypeContext(lang, n) || constantIsFrozen(lang, n)) return;
  if (isTypeScript(lang) && literalTypeMatters(p, n)) return;
  const text = p.text(n);
  const lit = parseIntLiteral(text, lang);
  if (!lit || spinsLoop(p, n)) return;
  const values: bigint[] = [lit.value + 1n];
  if (lit.value > 0n) values.push(lit.value - 1n);
  if (lit.value > 1n) values.push(0n);
  for (const v of values) {
    if (v === 0n && isDivisorLiteral(n, p)) continue;
    if (v > lit.value && incrementBreaksBuild(p, n, lit.value)) continue;
    const edit: Edit = { start: n.start, end: n.end, replacement: formatInt(v, lit) };
    if (!(ctx.v.literalSwapIsLexicallySafe(edit) || ctx.v.check(n, [edit]))) continue;
    push(ctx, 'constant-change', n, edit, n.end - n.start, `change ${text} to ${edit.replacement}`);
  }
}

function booleanMutation(ctx: Ctx, n: SNode): void {
  const { p } = ctx;
  if (inTypeContext(p.lang, n)) return;
  if (isTypeScript(p.lang) && literalTypeMatters(p, n)) return;
  const text = p.text(n);
  const map: Record<string, string> = { True: 'False', False: 'True', true: 'false', false: 'true' };
  const to = map[text];
  if (!to) return;
  const edit: Edit = { start: n.start, end: n.end, replacement: to };
  if (!(ctx.v.literalSwapIsLexicallySafe(edit) || ctx.v.check(n, [edit]))) return;
  push(ctx, 'constant-change', n, edit, n.end - n.start, `change ${text} to ${to}`);
}

function offByOne(ctx: Ctx, n: SNode): void {
  const { p } = ctx;
  if (inTypeContext(p.lang, n)) return;
  const op = operatorTokens(p, n)[0];
  if (!op || (op.text !== '+' && op.text !== '-')) return;
  const left = field(n, 'left');
  const right = field(n, 'right');
  if (!left || !right || !INT_LITERALS.has(right.type) || p.text(right) !== '1') return;
  if (spinsLoop(p, n)) return;
  // The left operand binds at least as tightly as the whole expression, so it can stand in for it.
  const edit: Edit = { start: n.start, end: n.end, replacement: p.text(left) };
  if (!ctx.v.check(n, [edit])) return;
  push(ctx, 'off-by-one', n, edit, n.end - n.start, `drop ${op.text} 1 from \`${truncate(p.text(n))}\``);
}

const PY_TIGHT = new Set(['identifier', 'call', 'attribute', 'subscript', 'integer', 'parenthesized_expression', 'unary_operator']);

function pythonRange(ctx: Ctx, n: SNode): void {
  const { p } = ctx;
  const fn = field(n, 'function');
  const args = field(n, 'arguments');
  if (!fn || !args || p.text(fn) !== 'range' || args.type !== 'argument_list') return;
  const positional = namedChildren(args);
  if (positional.length < 1 || positional.length > 3) return;
  if (positional.some((a) => a.type === 'keyword_argument' || a.type.includes('splat'))) return;
  const stop = positional.length === 1 ? positional[0]! : positional[1]!;
  const t = p.text(stop);
  const arithmetic = stop.type === 'binary_operator' && ['+', '-', '*', '/', '//', '%', '**'].includes(operatorTokens(p, stop)[0]?.text ?? '');
  const operand = PY_TIGHT.has(stop.type) || arithmetic ? t : `(${t})`;
  const edit: Edit = { start: stop.start, end: stop.end, replacement: `${operand} - 1` };
  if (!ctx.v.check(n, [edit])) return;
  push(ctx, 'off-by-one', n, edit, stop.end - stop.start, `range(${truncate(t, 20)}) to range(${truncate(t, 20)} - 1)`);
}

const NOT_NODES: Record<Lang, string> = {
  python: 'not_operator',
  javascript: 'unary_expression',
  typescript: 'unary_expression',
  tsx: 'unary_expression',
  go: 'unary_expression',
  rust: 'unary_expression',
  java: 'unary_expression',
  c: 'unary_expression',
  cpp: 'unary_expression',
};

function negateCondition(ctx: Ctx, owner: SNode): void {
  const { p } = ctx;
  const lang = p.lang;
  let cond = field(owner, 'condition');
  if (!cond) return;
  // C-family conditions come wrapped in their parentheses; negate what is inside them.
  if (cond.type === 'parenthesized_expression' || cond.type === 'condition' || cond.type === 'condition_clause') {
    if (lang !== 'python') {
      const inner = namedChildren(cond);
      if (inner.length !== 1) return;
      cond = inner[0]!;
    }
  }
  if (cond.type === 'let_condition' || cond.type === 'let_chain') return;
  if (isTypeScript(lang) && narrowingMatters(p, cond)) return;
  let replacement: string;
  const isNot =
    cond.type === NOT_NODES[lang] && (lang === 'python' || operatorTokens(p, cond)[0]?.text === '!' || p.text(cond).startsWith('!'));
  const arg = isNot ? (field(cond, 'argument') ?? namedChildren(cond)[0]) : null;
  if (isNot && arg) {
    replacement = p.text(arg);
  } else {
    const t = p.text(cond);
    const wrapped = cond.type === 'parenthesized_expression' ? t : `(${t})`;
    replacement = lang === 'python' ? `not ${wrapped}` : `!${wrapped}`;
  }
  const edit: Edit = { start: cond.start, end: cond.end, replacement };
  if (!ctx.v.check(owner, [edit])) return;
  const label = owner.type === 'elif_clause' ? 'elif' : 'if';
  push(ctx, 'negate-condition', cond, edit, cond.end - cond.start, `negate ${label} condition \`${truncate(p.text(cond))}\``);
}

function returnChange(ctx: Ctx, n: SNode): void {
  const { p } = ctx;
  const lang = p.lang;
  const values = namedChildren(n);
  if (values.length !== 1) return;
  const value = values[0]!;
  const text = p.text(value).trim();
  const fn = enclosingFunctionNode(lang, n);
  let zero: string | null = null;
  if (lang === 'python') {
    if (!fn || fn.type === 'lambda') return;
    zero = 'None';
  } else if (isJsLike(lang)) {
    // A generator's `return` value is rarely what its callers observe.
    if (!fn || fn.type.includes('generator') || fn.children.some((c) => c.type === '*')) return;
    zero = 'undefined';
    // A TypeScript constructor may only return an instance of its class; in JS `return undefined` returns `this`.
    if (isTypeScript(lang) && fn.type === 'method_definition' && p.text(field(fn, 'name') ?? fn) === 'constructor') return;
    const rt = field(fn, 'return_type');
    if (isTypeScript(lang) && rt) {
      const t = namedChildren(rt)[0];
      const isAsync = fn.children.some((c) => c.type === 'async');
      zero = t ? tsZero(p, t, isAsync) : null;
      if (zero === '') zero = null;
    }
  } else if (lang === 'go') {
    if (!fn || !ctx.goTypes) return;
    zero = ctx.goTypes.returnZeros(fn);
    if (zero === '') {
      // Named results: the bare-return stub does not apply to a `return a, b` with values.
      zero = namedResultZeros(ctx, fn);
    }
  } else if (lang === 'java') {
    if (!fn || (fn.type !== 'method_declaration')) return;
    const t = field(fn, 'type');
    zero = t ? javaZero(p, t) : null;
    if (zero === '') zero = null;
  } else if (isCFamily(lang)) {
    // A lambda's result type is deduced: nothing certain to return from it.
    if (!fn || fn.type !== 'function_definition') return;
    zero = cZero(p, fn);
    if (zero === '') zero = null;
  } else {
    return;
  }
  if (zero === null || zero === text) return;
  // `return 0.0;` or `return 0u;` already returns the zero.
  if (isCFamily(lang) && value.type === 'number_literal' && /^0*(?:\.0*)?(?:[eE][+-]?\d+)?[fFlLuU]*$/.test(text)) return;
  if (lang !== 'go' && (text === 'None' || text === 'undefined' || text === 'null' || text === 'NULL' || text === 'nullptr')) return;
  const edit: Edit = { start: value.start, end: value.end, replacement: zero };
  if (lang === 'go') {
    // `return total` may be the only use of a local or `strings.Join(...)` of an import.
    const o = goOrphansOf(ctx, outermostFunction(lang, n), [[value.start, value.end]]);
    if (o.locals.length > 0 || o.imports.length > 0) return;
  }
  if (!ctx.v.check(n, [edit])) return;
  push(ctx, 'return-change', n, edit, value.end - value.start, `return ${zero} instead of \`${truncate(text)}\``);
}

function namedResultZeros(ctx: Ctx, fn: SNode): string | null {
  const result = field(fn, 'result');
  if (!result || result.type !== 'parameter_list' || !ctx.goTypes) return null;
  const parts: string[] = [];
  for (const d of namedChildren(result)) {
    const t = field(d, 'type');
    if (!t) return null;
    const z = ctx.goTypes.zero(t, new Set());
    if (z === null) return null;
    const names = d.children.filter((c) => c.field === 'name').length || 1;
    for (let i = 0; i < names; i++) parts.push(z);
  }
  return parts.join(', ');
}

/** Block types whose statements may be removed, per language. */
const BLOCKS: Record<Lang, ReadonlySet<string>> = {
  python: new Set(['block']),
  javascript: new Set(['statement_block']),
  typescript: new Set(['statement_block']),
  tsx: new Set(['statement_block']),
  go: new Set(['block', 'statement_list']),
  rust: new Set(),
  java: new Set(),
  c: new Set(['compound_statement']),
  cpp: new Set(['compound_statement']),
};

function isRemovableStatement(p: Parsed, s: SNode): boolean {
  const lang = p.lang;
  if (lang === 'python') {
    if (s.type !== 'expression_statement') return false;
    const e = namedChildren(s)[0];
    return !!e && ['call', 'assignment', 'augmented_assignment', 'await'].includes(e.type);
  }
  if (isJsLike(lang)) {
    if (s.type !== 'expression_statement') return false;
    const e = namedChildren(s)[0];
    if (!e) return false;
    // Dropping `super(...)` only produces a ReferenceError on construction: not a logic bug.
    if (e.type === 'call_expression' && field(e, 'function')?.type === 'super') return false;
    return ['call_expression', 'assignment_expression', 'augmented_assignment_expression', 'update_expression', 'await_expression'].includes(e.type);
  }
  if (lang === 'go') {
    if (s.type === 'expression_statement') {
      const call = namedChildren(s)[0];
      // Removing a trailing panic can leave a function without a terminating statement.
      return !!call && call.type === 'call_expression' && p.text(field(call, 'function') ?? call) !== 'panic';
    }
    return s.type === 'assignment_statement' || s.type === 'inc_statement' || s.type === 'dec_statement';
  }
  if (isCFamily(lang)) {
    if (s.type !== 'expression_statement') return false;
    const e = namedChildren(s)[0];
    if (!e) return false;
    // Dropping a call to abort()/exit() or an assert changes what happens after an error, not a computation.
    if (e.type === 'call_expression' && /^(?:abort|exit|_Exit|assert|static_assert|va_start|va_end|free|delete)$/.test(p.text(field(e, 'function') ?? e))) return false;
    return ['call_expression', 'assignment_expression', 'update_expression'].includes(e.type);
  }
  return false;
}

function removeStatement(ctx: Ctx, s: SNode): void {
  const { p } = ctx;
  const block = s.parent;
  if (!block || !BLOCKS[p.lang].has(block.type)) return;
  const fn = enclosingFunctionNode(p.lang, s);
  if (!fn) return;
  if (!isRemovableStatement(p, s)) return;
  if (statementsOf(block).length < 2) return;
  if (spinsLoop(p, namedChildren(s)[0] ?? s)) return;
  const [start, end] = lineExpandedRange(p, s.start, s.end);
  if (p.lang === 'go') {
    const orphans = goOrphansOf(ctx, outermostFunction(p.lang, s), [[start, end]]);
    if (orphans.locals.length > 0 || orphans.imports.length > 0) return;
  }
  const edit: Edit = { start, end, replacement: '' };
  if (!ctx.v.check(block, [edit])) return;
  push(ctx, 'remove-statement', s, edit, s.end - s.start, `remove \`${truncate(p.text(s))}\``);
}

export function outermostFunction(lang: Lang, n: SNode): SNode | null {
  let found: SNode | null = null;
  for (let a = n.parent; a; a = a.parent) if (isFunctionNode(lang, a)) found = a;
  return found;
}

/** Would emptying this region of an `if` make a loop spin forever or a typed function lack a return? */
export function riskyEmptying(p: Parsed, ifNode: SNode, region: SNode): boolean {
  const lang = p.lang;
  let hasBreak = false;
  let hasReturn = false;
  walk(region, (n) => {
    if (n !== region && isFunctionNode(lang, n)) return false;
    if (n.type === 'break_statement' || n.type === 'break_expression') hasBreak = true;
    if (n.type === 'return_statement' || n.type === 'return_expression' || n.type === 'raise_statement' || n.type === 'throw_statement') hasReturn = true;
  });
  if (hasBreak && inUnboundedLoop(lang, ifNode)) return true;
  if (hasReturn && lang !== 'python' && lang !== 'javascript') {
    // Typed languages check that a function ends in a return; if this `if` is the last statement
    // of its block, emptying a returning branch can break that.
    const siblings = ifNode.parent ? statementsOf(ifNode.parent) : [];
    if (siblings[siblings.length - 1] === ifNode || ifNode.parent?.type === 'else_clause' || ifNode.parent?.type === 'if_statement') return true;
  }
  return false;
}

function inUnboundedLoop(lang: Lang, n: SNode): boolean {
  for (let a = n.parent; a; a = a.parent) {
    if (isFunctionNode(lang, a)) return false;
    if (a.type === 'while_statement' || a.type === 'do_statement' || a.type === 'loop_expression' || a.type === 'while_expression') return true;
    if (a.type === 'for_statement') {
      if (lang === 'go') return !a.children.some((c) => c.type === 'range_clause' || (c.type === 'for_clause' && !!field(c, 'update')));
      if (isJsLike(lang) || lang === 'java' || isCFamily(lang)) return !field(a, 'increment') && !field(a, 'update');
      return false;
    }
    if (a.type === 'for_in_statement') return false;
  }
  return false;
}

function isTrivialBody(p: Parsed, body: SNode): boolean {
  const stmts = statementsOf(body);
  if (p.lang === 'python') return stmts.length === 1 && stmts[0]!.type === 'pass_statement';
  return stmts.length === 0;
}

function removeBranch(ctx: Ctx, ifNode: SNode): void {
  const { p } = ctx;
  const lang = p.lang;
  const consequence = field(ifNode, 'consequence');
  if (!consequence) return;
  const goCheck = (ranges: [number, number][]): boolean => {
    if (lang !== 'go') return true;
    const o = goOrphansOf(ctx, outermostFunction(lang, ifNode), ranges);
    return o.locals.length === 0 && o.imports.length === 0;
  };
  // Alternatives: python's elif/else clauses, the C-family else (an `else_clause` or a bare block/if in Go).
  const alternatives = ifNode.children.filter((c) => c.field === 'alternative');
  for (const alt of alternatives) {
    const idx = ifNode.children.indexOf(alt);
    const prev = ifNode.children[idx - 1];
    if (!prev) continue;
    // In Go the `else` keyword is a sibling before the alternative; delete from the end of what precedes it.
    let from = prev.end;
    if (lang === 'go' && prev.type === 'else') from = ifNode.children[idx - 2]?.end ?? prev.end;
    // Python: deleting an elif in the middle keeps later clauses; C-family: the else chain goes.
    const edit: Edit = { start: from, end: alt.end, replacement: '' };
    if (riskyEmptying(p, ifNode, alt)) continue;
    if (!goCheck([[from, alt.end]])) continue;
    if (!ctx.v.check(ifNode, [edit])) continue;
    const label = alt.type === 'elif_clause' ? 'elif' : alt.type === 'else_clause' && namedChildren(alt)[0]?.type === 'if_statement' ? 'else if' : alt.type === 'if_statement' ? 'else if' : 'else';
    push(ctx, 'remove-branch', alt, edit, alt.end - from, `remove ${label} branch`);
  }
  if (isTrivialBody(p, consequence) || riskyEmptying(p, ifNode, consequence)) return;
  // A TypeScript guard (`if (!x) throw ...`) narrows what follows it: emptied, the code after it no longer type-checks.
  if (isTypeScript(lang) && guardRemovalMatters(p, ifNode)) return;
  const noop = lang === 'python' ? 'pass' : '{}';
  const edit: Edit = { start: consequence.start, end: consequence.end, replacement: noop };
  if (!goCheck([[consequence.start, consequence.end]])) return;
  if (!ctx.v.check(ifNode, [edit])) return;
  push(ctx, 'remove-branch', consequence, edit, consequence.end - consequence.start, `empty if body`);
}

function collect(ctx: Ctx): void {
  const { p } = ctx;
  const lang = p.lang;
  const opNodes = OPERATOR_NODES[lang];
  const full = lang === 'python' || isJsLike(lang) || lang === 'go' || isCFamily(lang);
  const frozen = new Set<SNode>();
  walk(p.root, (n) => {
    if (n.isError || isComment(n) || frozen.has(n)) return false;
    if ((n.type === 'if_statement' || n.type === 'elif_clause') && !enclosingFunctionNode(lang, n)) {
      // Same reason as for negation below: module-level conditions pick imports and platforms.
      const cond = field(n, 'condition');
      if (cond) frozen.add(cond);
    }
    // Code under `if __name__ == "__main__":` never runs under a test runner.
    if (lang === 'python' && n.type === 'if_statement' && n.parent?.type === 'module' && /__name__/.test(p.text(field(n, 'condition') ?? n))) {
      return false;
    }
    // C/C++ at file scope: values live only in initializers; anything else parsed as an expression there is a
    // macro the parser cannot expand (`API(Item *) f(void);`, whose `*` is no multiplication).
    const stray = isCFamily(lang) && !enclosingFunctionNode(lang, n) && !hasAncestor(n, (a) => a.type === 'init_declarator' || a.type === 'initializer_list');
    if (stray && (opNodes.has(n.type) || INT_LITERALS.has(n.type))) return;
    if (opNodes.has(n.type)) {
      if (n.type === 'binary_operator' || n.type === 'binary_expression') offByOne(ctx, n);
      operatorMutations(ctx, n);
    }
    if (INT_LITERALS.has(n.type)) constantMutations(ctx, n);
    else if (n.type === 'true' || n.type === 'false' || n.type === 'boolean_literal') booleanMutation(ctx, n);
    else if (lang === 'python' && n.type === 'call') pythonRange(ctx, n);
    else if ((n.type === 'if_statement' || n.type === 'elif_clause' || n.type === 'if_expression') && enclosingFunctionNode(lang, n)) {
      // Top-level conditions select imports or platforms: flipping them breaks the whole module
      // at import time instead of making a behavioural bug.
      negateCondition(ctx, n);
      if (full && n.type === 'if_statement') removeBranch(ctx, n);
    } else if (n.type === 'return_statement') returnChange(ctx, n);
    if (full && n.named && n.parent && BLOCKS[lang].has(n.parent.type)) removeStatement(ctx, n);
  });
}

/** Every applicable mutation in a source file, in source order; each, applied alone, parses. */
export async function findMutations(lang: Lang, source: string): Promise<Mutation[]> {
  return withParsed(lang, source, (p) => findMutationsIn(p));
}

export function findMutationsIn(p: Parsed): Mutation[] {
  const ctx: Ctx = {
    p,
    v: new Validator(p),
    out: [],
    goTypes: p.lang === 'go' ? new GoTypes(p) : null,
    go: p.lang === 'go' ? new GoIndex(p) : null,
  };
  collect(ctx);
  // Stable sort keeps the per-node generation order for mutations at the same offset.
  return ctx.out.sort((a, b) => a.edit.start - b.edit.start || a.edit.end - b.edit.end);
}
