import { field, walk } from './ast.js';
import { applyEdits, type Edit } from './edits.js';
import { withParsed, type Parsed, type SNode } from './parser.js';

/*
 * Go refuses to compile a local variable that is never used and an import that is never used.
 * Deleting code can orphan either, so deletions in Go are checked (or compensated) here.
 */

export interface GoImport {
  name: string;
  spec: SNode;
}

/** The package name an import binds, guessed from its path where it has no explicit name. */
export function goImportName(p: Parsed, spec: SNode): string | null {
  const alias = field(spec, 'name');
  if (alias) {
    const a = p.text(alias);
    return a === '_' || a === '.' ? null : a;
  }
  const path = field(spec, 'path');
  if (!path) return null;
  const segs = p.text(path).replace(/^["`]|["`]$/g, '').split('/');
  let last = segs[segs.length - 1] ?? '';
  // Major-version suffixes are not part of the package name: example.com/mod/v2, gopkg.in/yaml.v3.
  if (/^v\d+$/.test(last) && segs.length > 1) last = segs[segs.length - 2]!;
  last = last.replace(/\.v\d+$/, '').replace(/^go-/, '').replace(/[-.]go$/, '').replace(/-/g, '_');
  return /^[A-Za-z_]\w*$/.test(last) ? last : null;
}

export function goImports(p: Parsed): GoImport[] {
  const out: GoImport[] = [];
  walk(p.root, (n) => {
    if (n.type === 'import_spec') {
      const name = goImportName(p, n);
      if (name) out.push({ name, spec: n });
      return false;
    }
    return n.type === 'source_file' || n.type === 'import_declaration' || n.type === 'import_spec_list';
  });
  return out;
}

/** The package names a file refers to (`pkg.F`, `pkg.T`) outside its import declarations. */
export function usedPackages(p: Parsed): Set<string> {
  const used = new Set<string>();
  walk(p.root, (n) => {
    if (n.type === 'import_declaration' || n.type === 'package_clause') return false;
    if (isPackageUse(n)) used.add(p.text(n));
  });
  return used;
}

/**
 * `after`, an edit of `before`, without the imports `before` used and `after` no longer does: Go rejects an unused
 * import, and a test emptied or deleted whole can take the last use of one with it.
 */
export async function dropOrphanedGoImports(before: string, after: string): Promise<string> {
  const was = await withParsed('go', before, usedPackages);
  return withParsed('go', after, (q) => {
    const now = usedPackages(q);
    const orphaned = goImports(q).filter((i) => was.has(i.name) && !now.has(i.name));
    return orphaned.length ? applyEdits(after, goDropImports(q, orphaned)) : after;
  });
}

type Range = readonly [number, number];
const inAny = (n: SNode, ranges: readonly Range[]): boolean => ranges.some(([s, e]) => n.start >= s && n.end <= e);

/** Is this identifier the name a local variable is declared with? */
function isVarDeclSite(n: SNode): boolean {
  const parent = n.parent;
  if (!parent) return false;
  if (parent.type === 'var_spec' && n.field === 'name') return true;
  if (parent.type === 'expression_list') {
    const owner = parent.parent;
    return !!owner && parent.field === 'left' && (owner.type === 'short_var_declaration' || owner.type === 'range_clause');
  }
  return parent.type === 'type_switch_statement' && n.field === 'alias';
}

/**
 * A read of the variable as go/types counts it: anything but its declaration and the left side
 * of a plain `=` (`x += 1` and `x++` do count as uses).
 */
function isUse(n: SNode): boolean {
  if (isVarDeclSite(n)) return false;
  const list = n.parent;
  if (list?.type === 'expression_list' && list.field === 'left' && list.parent?.type === 'assignment_statement') {
    return list.parent.children.some((c) => c.field === 'operator' && c.type !== '=');
  }
  return true;
}

/**
 * Where a local declared at `d` is visible: `scope` is the statement (initializer declarations)
 * or enclosing block, and uses start after `after` (the declaring clause: in `x, ok := x.(T)`
 * the right-hand `x` is the outer one).
 */
function declScope(d: SNode): { scope: SNode; after: number } | null {
  let owner: SNode | null = d.parent;
  if (owner?.type === 'expression_list') owner = owner.parent;
  if (!owner) return null;
  const after = owner.type === 'type_switch_statement' ? d.end : owner.end;
  if (owner.type === 'range_clause') return owner.parent ? { scope: owner.parent, after } : null;
  if (owner.type === 'type_switch_statement') return { scope: owner, after };
  if (owner.type === 'var_spec') owner = owner.parent?.type === 'var_spec_list' ? owner.parent.parent : owner.parent;
  if (!owner) return null;
  const scope = owner.field === 'initializer' ? (owner.parent?.type === 'for_clause' ? owner.parent.parent : owner.parent) : owner.parent;
  return scope ? { scope, after } : null;
}

/** References of a package name (`pkg.F` operands and `pkg.T` qualifiers) outside import specs. */
function isPackageUse(n: SNode): boolean {
  if (n.type === 'package_identifier') return n.parent?.type !== 'import_spec' && n.parent?.type !== 'package_clause';
  return n.type === 'identifier' && n.field === 'operand' && n.parent?.type === 'selector_expression';
}

export interface GoOrphans {
  /** Locals (and `label L`s) that would be left declared but never used. */
  locals: string[];
  /** Imports with no remaining reference in the file. */
  imports: GoImport[];
}

/**
 * Where each identifier and package name of a Go file occurs, built once per analysis so that
 * checking a deletion costs a few lookups rather than walks over the whole file.
 */
export class GoIndex {
  /** Identifier nodes (not `_`) in source order. */
  private readonly ids: SNode[] = [];
  private readonly idsByName = new Map<string, SNode[]>();
  /** Package-name uses in source order, outside import declarations. */
  private readonly pkgUses: SNode[] = [];
  private readonly pkgUsesByName = new Map<string, SNode[]>();
  readonly imports: GoImport[];
  /** Label references (break/continue/goto targets) in source order. */
  private readonly labelRefs: SNode[] = [];
  private readonly labelRefsByName = new Map<string, SNode[]>();
  /** Names declared with `const` anywhere in the file. */
  readonly constants = new Set<string>(['iota']);

  constructor(private readonly p: Parsed) {
    this.imports = goImports(p);
    walk(p.root, (n) => {
      if (n.type === 'import_declaration' || n.type === 'package_clause') return false;
      if (n.type === 'const_spec') for (const c of n.children) if (c.field === 'name') this.constants.add(p.text(c));
      if (n.type === 'label_name' && n.parent?.type !== 'labeled_statement') push(this.labelRefs, this.labelRefsByName, p.text(n), n);
      if (isPackageUse(n)) push(this.pkgUses, this.pkgUsesByName, p.text(n), n);
      if (n.type === 'identifier') {
        const t = p.text(n);
        if (t !== '_') push(this.ids, this.idsByName, t, n);
      }
    });
  }

  /** What deleting `ranges` (inside function `fn`, if any) would leave unused. */
  orphans(fn: SNode | null, ranges: readonly Range[]): GoOrphans {
    const p = this.p;
    const removedIds = new Set<string>();
    const removedPkgs = new Set<string>();
    for (const [s, e] of ranges) {
      for (const n of within(this.ids, s, e)) removedIds.add(p.text(n));
      for (const n of within(this.pkgUses, s, e)) removedPkgs.add(p.text(n));
    }
    const locals: string[] = [];
    if (fn) {
      for (const name of removedIds) {
        const occ = (this.idsByName.get(name) ?? []).filter((n) => n.start >= fn.start && n.end <= fn.end);
        const decls: { d: SNode; scope: SNode; after: number }[] = [];
        for (const d of occ.filter(isVarDeclSite)) {
          const sc = declScope(d);
          if (sc) decls.push({ d, ...sc });
        }
        for (const { d, scope, after } of decls) {
          // A declaration deleted along with its uses leaves nothing behind.
          if (inAny(d, ranges)) continue;
          // Uses of this declaration: later occurrences in its scope, outside any nested redeclaration.
          const shadows = decls.filter((o) => o.d !== d && o.d.start > d.start && o.scope.start >= scope.start && o.scope.end <= scope.end);
          const uses = occ.filter(
            (o) =>
              o.start >= after &&
              o.end <= scope.end &&
              isUse(o) &&
              !shadows.some((sh) => o.start >= sh.after && o.end <= sh.scope.end),
          );
          if (uses.length > 0 && uses.every((o) => inAny(o, ranges))) {
            locals.push(name);
            break;
          }
        }
      }
    }
    // A label whose every break/continue/goto goes is "defined and not used".
    for (const [s, e] of ranges) {
      for (const ref of within(this.labelRefs, s, e)) {
        const name = p.text(ref);
        if ((this.labelRefsByName.get(name) ?? []).every((r) => inAny(r, ranges)) && !locals.includes(`label ${name}`)) {
          locals.push(`label ${name}`);
        }
      }
    }
    const imports = this.imports.filter(
      (i) => removedPkgs.has(i.name) && (this.pkgUsesByName.get(i.name) ?? []).every((n) => inAny(n, ranges)),
    );
    return { locals, imports };
  }
}

function push(all: SNode[], byName: Map<string, SNode[]>, name: string, n: SNode): void {
  all.push(n);
  const list = byName.get(name);
  if (list) list.push(n);
  else byName.set(name, [n]);
}

/** The nodes of a start-sorted list lying within [s, e). */
function within(sorted: readonly SNode[], s: number, e: number): SNode[] {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]!.start < s) lo = mid + 1;
    else hi = mid;
  }
  const out: SNode[] = [];
  for (let i = lo; i < sorted.length && sorted[i]!.start < e; i++) if (sorted[i]!.end <= e) out.push(sorted[i]!);
  return out;
}

/** Edits that delete import specs (the whole declaration when every spec in it goes). */
export function goDropImports(p: Parsed, drop: readonly GoImport[]): Edit[] {
  const bySpec = new Set(drop.map((d) => d.spec));
  const edits: Edit[] = [];
  walk(p.root, (n) => {
    if (n.type !== 'import_declaration') return n.type === 'source_file';
    const specs: SNode[] = [];
    walk(n, (c) => {
      if (c.type === 'import_spec') specs.push(c);
      return c.type !== 'import_spec';
    });
    const gone = specs.filter((s) => bySpec.has(s));
    if (gone.length === 0) return false;
    if (gone.length === specs.length) {
      edits.push(lineEdit(p, n.start, n.end));
    } else {
      for (const s of gone) edits.push(lineEdit(p, s.start, s.end));
    }
    return false;
  });
  return edits;
}

function lineEdit(p: Parsed, start: number, end: number): Edit {
  const ls = p.lines.lineStart(start);
  let le = p.source.indexOf('\n', end);
  if (le < 0) le = p.source.length;
  const alone = /^[ \t]*$/.test(p.source.slice(ls, start)) && /^[ \t]*(\/\/.*)?\r?$/.test(p.source.slice(end, le));
  return alone ? { start: ls, end: Math.min(le + 1, p.source.length), replacement: '' } : { start, end, replacement: '' };
}

const GO_LITERALS = new Set([
  'int_literal', 'float_literal', 'imaginary_literal', 'rune_literal', 'interpreted_string_literal', 'raw_string_literal',
  'true', 'false', 'nil',
]);
const GO_CONVERSIONS = /^(u?int(8|16|32|64)?|uintptr|float(32|64)|complex(64|128)|byte|rune|string)$/;

/**
 * Is this a constant expression the compiler evaluates (and range-checks)? Changing one can turn
 * `maxInt / 2` into an overflowing `maxInt * 2` or `1 << 62` into `1 << 63`, which do not compile.
 */
export function goIsConstant(p: Parsed, n: SNode, constants: ReadonlySet<string>): boolean {
  switch (n.type) {
    case 'identifier':
      return constants.has(p.text(n));
    case 'parenthesized_expression':
    case 'unary_expression':
    case 'binary_expression':
      return n.children.filter((c) => c.named).every((c) => goIsConstant(p, c, constants));
    case 'call_expression': {
      const f = n.children.find((c) => c.field === 'function');
      const args = n.children.find((c) => c.field === 'arguments');
      return !!f && !!args && GO_CONVERSIONS.test(p.text(f)) && args.children.filter((c) => c.named).every((c) => goIsConstant(p, c, constants));
    }
    default:
      return GO_LITERALS.has(n.type);
  }
}

/** An operand of a go vet `bool` check: a literal or a (possibly constant) name. */
function constantish(n: SNode): boolean {
  return GO_LITERALS.has(n.type) || n.type === 'identifier' || n.type === 'selector_expression';
}

function unparen(n: SNode): SNode {
  while (n.type === 'parenthesized_expression') {
    const inner = n.children.find((c) => c.named);
    if (!inner) break;
    n = inner;
  }
  return n;
}

function opOf(n: SNode): string | null {
  return n.children.find((c) => c.field === 'operator')?.type ?? null;
}

/** The operands of an `op` chain, looking through parentheses as go vet does. */
function splitChain(n: SNode, op: string, out: SNode[] = []): SNode[] {
  const e = unparen(n);
  if (e.type === 'binary_expression' && opOf(e) === op) {
    for (const c of e.children) if (c.field === 'left' || c.field === 'right') splitChain(c, op, out);
  } else {
    out.push(e);
  }
  return out;
}

/**
 * Would go vet's `bool` check (part of what `go test` runs before any test) reject this
 * expression: `x == a && x == b`, `x != a || x != b`, or the same side-effect-free operand twice
 * in one `&&`/`||` chain? A mutation producing one fails the build instead of a test.
 */
export function goVetSuspectBool(p: Parsed, expr: SNode): boolean {
  let bad = false;
  const text = (n: SNode): string => p.text(n).replace(/\s+/g, '');
  walk(expr, (n) => {
    if (bad) return false;
    const op = n.type === 'binary_expression' ? opOf(n) : null;
    if (op !== '&&' && op !== '||') return;
    const leaves = splitChain(n, op);
    const seen = new Set<string>();
    for (const l of leaves) {
      const t = text(l);
      let pure = true;
      walk(l, (c) => {
        if (c.type === 'call_expression' || c.type === 'receive_expression' || (c.type === 'unary_expression' && p.text(c).startsWith('<-'))) pure = false;
      });
      if (pure && seen.has(t)) bad = true;
      seen.add(t);
    }
    const cmp = op === '&&' ? '==' : '!=';
    const groups = new Map<string, Set<string>>();
    for (const l of leaves) {
      if (l.type !== 'binary_expression' || opOf(l) !== cmp) continue;
      const left = l.children.find((c) => c.field === 'left');
      const right = l.children.find((c) => c.field === 'right');
      if (!left || !right) continue;
      const [x, c] = constantish(right) ? [left, right] : constantish(left) ? [right, left] : [null, null];
      if (!x || !c) continue;
      const set = groups.get(text(x)) ?? new Set<string>();
      set.add(text(c));
      groups.set(text(x), set);
      if (set.size >= 2) bad = true;
    }
  });
  return bad;
}
