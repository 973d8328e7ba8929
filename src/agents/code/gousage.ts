import { field, walk } from './ast.js';
import type { Edit } from './edits.js';
import type { Parsed, SNode } from './parser.js';

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

/** References of a package name (`pkg.F` operands and `pkg.T` qualifiers) outside import specs. */
function isPackageUse(n: SNode): boolean {
  if (n.type === 'package_identifier') return n.parent?.type !== 'import_spec' && n.parent?.type !== 'package_clause';
  return n.type === 'identifier' && n.field === 'operand' && n.parent?.type === 'selector_expression';
}

export interface GoOrphans {
  /** Locals whose only remaining occurrence would be their declaration. */
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

  constructor(private readonly p: Parsed) {
    this.imports = goImports(p);
    walk(p.root, (n) => {
      if (n.type === 'import_declaration' || n.type === 'package_clause') return false;
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
        const left = (this.idsByName.get(name) ?? []).filter((n) => n.start >= fn.start && n.end <= fn.end && !inAny(n, ranges));
        if (left.length === 1 && isVarDeclSite(left[0]!)) locals.push(name);
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
