import { isBlank } from './ast.js';
import type { Edit } from './edits.js';
import { applyEdits } from './edits.js';
import type { Lang } from './lang.js';
import type { Parsed, SNode } from './parser.js';

/**
 * Where a statement can stand, per language, and how a snippet cut from there is wrapped so it
 * parses on its own. Checking an edit by re-parsing only its enclosing statement costs a few tens
 * of microseconds instead of the few hundred an incremental re-parse of a large file costs.
 */
type Wrap = readonly [prefix: string, suffix: string];
const NONE: Wrap = ['', ''];
const CONTAINERS: Record<Lang, Record<string, Wrap>> = {
  // Python blocks are wrapped only when the snippet starts indented (see snippetFor).
  python: { module: NONE, block: ['if 1:\n', ''] },
  javascript: {
    program: NONE,
    // async generator: `await` and `yield` inside the snippet stay keywords.
    statement_block: ['async function* __ssr_check__() {\n', '\n}'],
    class_body: ['class __ssr_check__ {\n', '\n}'],
  },
  typescript: {},
  tsx: {},
  go: { source_file: NONE, block: ['func _() {\n', '\n}'], statement_list: ['func _() {\n', '\n}'] },
  rust: { source_file: NONE, declaration_list: NONE, block: ['fn _() {\n', '\n}'] },
  java: { program: NONE, class_body: ['class _ {\n', '\n}'], block: ['class _ { void _() {\n', '\n}}'] },
  c: { translation_unit: NONE, compound_statement: ['void _(void) {\n', '\n}'] },
  cpp: {
    translation_unit: NONE,
    declaration_list: NONE,
    compound_statement: ['void _() {\n', '\n}'],
    field_declaration_list: ['struct _ {\n', '\n};'],
  },
};
CONTAINERS.typescript = CONTAINERS.javascript;
CONTAINERS.tsx = CONTAINERS.javascript;

/**
 * Brace blocks are units too, cut exactly at their braces and wrapped as a function body: a
 * statement removed from a block then costs a parse of that block, not of the statement
 * around it (often a whole test-suite callback).
 */
const BLOCKS: Record<Lang, Record<string, Wrap>> = {
  python: {},
  javascript: { statement_block: ['async function* __ssr_check__() ', ''] },
  typescript: {},
  tsx: {},
  go: { block: ['func _() ', ''] },
  rust: { block: ['fn _() ', ''] },
  java: { block: ['class _ { void _() ', ' }'] },
  c: { compound_statement: ['void _(void) ', ''] },
  cpp: { compound_statement: ['void _() ', ''] },
};
BLOCKS.typescript = BLOCKS.javascript;
BLOCKS.tsx = BLOCKS.javascript;

/** Block node types that may be emptied inside a snippet (see Validator.holes). */
const HOLLOW: Record<Lang, ReadonlySet<string>> = {
  python: new Set(['block']),
  javascript: new Set(['statement_block']),
  typescript: new Set(['statement_block']),
  tsx: new Set(['statement_block']),
  go: new Set(['block']),
  rust: new Set(['block']),
  java: new Set(['block']),
  c: new Set(['compound_statement']),
  cpp: new Set(['compound_statement']),
};

/** How deep under an untouched node holes are looked for (an arrow body in a call is 4 levels down). */
const HOLE_DEPTH = 4;

interface Snippet {
  /** The node the snippet is cut around. */
  unit: SNode;
  from: number;
  to: number;
  wrap: Wrap;
}

/** Larger units are checked by incremental re-parse of the whole file, which costs about as much as a snippet of this size. */
const MAX_SNIPPET = 3_000;
/** Blocks longer than this are cut down to the statements an edit touches (see narrowBlock). */
const NARROW_BLOCK = 600;

const OP_CHARS = new Set('+-*/%<>=!&|^~?:.@');
const WORD = /[\w.$'"]/;

export class Validator {
  private readonly unitOk = new Map<string, boolean>();
  constructor(private readonly p: Parsed) {}

  /**
   * Whether replacing one operator token by another of the same grammar class is safe on purely
   * lexical grounds: the grammar slot accepts either, so only gluing to a neighbouring operator
   * character (`a +-b` becoming `a --b`) could change the parse.
   */
  operatorSwapIsLexicallySafe(e: Edit): boolean {
    const prev = this.p.source[e.start - 1] ?? ' ';
    const next = this.p.source[e.end] ?? ' ';
    return !OP_CHARS.has(prev) && !OP_CHARS.has(next);
  }

  /** Same for swapping one literal token for another (digits for digits, true for false). */
  literalSwapIsLexicallySafe(e: Edit): boolean {
    const prev = this.p.source[e.start - 1] ?? ' ';
    const next = this.p.source[e.end] ?? ' ';
    return !WORD.test(prev) && !WORD.test(next);
  }

  /** Whether the edits, all within `anchor`'s statement, leave the file free of syntax errors. */
  check(anchor: SNode, edits: readonly Edit[]): boolean {
    const snip = this.snippetFor(anchor, edits);
    if (snip) {
      const holes = this.holes(snip.unit, snip.from, snip.to, edits);
      const size = snip.to - snip.from - holes.reduce((n, h) => n + (h.end - h.start), 0);
      if (size > MAX_SNIPPET) return this.p.accepts(edits);
      const key = `${snip.from}:${snip.to}:${holes.map((h) => h.start).join(',')}`;
      const slice = this.p.source.slice(snip.from, snip.to);
      const shift = (e: Edit): Edit => ({ start: e.start - snip.from, end: e.end - snip.from, replacement: e.replacement });
      let ok = this.unitOk.get(key);
      if (ok === undefined) {
        ok = this.p.parsesClean(snip.wrap[0] + applyEdits(slice, holes.map(shift)) + snip.wrap[1]);
        this.unitOk.set(key, ok);
      }
      if (ok) {
        const text = applyEdits(slice, [...holes, ...edits].map(shift));
        if (this.p.parsesClean(snip.wrap[0] + text + snip.wrap[1])) return true;
        // A snippet can fail where the file would not (context the cut lost); the whole file decides.
      }
    }
    return this.p.accepts(edits);
  }

  /**
   * Nested blocks of the snippet that no edit touches, as edits emptying them: a block is a
   * self-contained unit, so its contents cannot affect whether the rest parses, and skipping
   * them keeps the check of an `if` condition from re-parsing the whole `if`.
   */
  private holes(unit: SNode, from: number, to: number, edits: readonly Edit[]): Edit[] {
    const types = HOLLOW[this.p.lang];
    const empty = this.p.lang === 'python' ? 'pass' : '{}';
    const out: Edit[] = [];
    const touches = (n: SNode): boolean => edits.some((e) => n.start <= e.end && e.start <= n.end);
    // Follow the edited path all the way down, but look only a few levels into untouched
    // siblings: blocks sit near the top of statements, and a full walk per check costs more than
    // the parse it saves.
    const visit = (n: SNode, budget: number): void => {
      for (const c of n.children) {
        if (c.end <= from || c.start >= to) continue;
        const touched = touches(c);
        if (!touched && types.has(c.type) && c.start >= from && c.end <= to) {
          if (c.end - c.start > empty.length + 2) out.push({ start: c.start, end: c.end, replacement: empty });
        } else if (touched) {
          visit(c, HOLE_DEPTH);
        } else if (budget > 0) {
          visit(c, budget - 1);
        }
      }
    };
    visit(unit, HOLE_DEPTH);
    return out;
  }

  /**
   * Statements of a block are independent syntactic units, so an edit of some of them is checked
   * with just those statements and their neighbours, re-wrapped in braces: a removal in a long
   * function then costs a parse of three statements rather than of the function.
   */
  private narrowBlock(block: SNode, lo: number, hi: number, wrap: Wrap): Snippet | null {
    const kids = block.children.filter((c) => c.named && c.type !== 'comment');
    const first = kids.findIndex((k) => k.end > lo);
    let last = -1;
    for (let i = kids.length - 1; i >= 0; i--) {
      if (kids[i]!.start < hi) {
        last = i;
        break;
      }
    }
    if (first < 0 || last < first) return null;
    const before = kids[first - 1];
    const after = kids[last + 1];
    const from = before ? before.start : block.start;
    const to = after ? after.end : block.end;
    if (lo < from || hi > to) return null;
    return { unit: block, from, to, wrap: [wrap[0] + (before ? '{\n' : ''), (after ? '\n}' : '') + wrap[1]] };
  }

  private snippetFor(anchor: SNode, edits: readonly Edit[]): Snippet | null {
    const containers = CONTAINERS[this.p.lang];
    const lo = Math.min(...edits.map((e) => e.start));
    const hi = Math.max(...edits.map((e) => e.end));
    const src = this.p.source;
    const blocks = BLOCKS[this.p.lang];
    for (let u: SNode | null = anchor; u && u.parent; u = u.parent) {
      const blockWrap = blocks[u.type];
      if (blockWrap && lo >= u.start && hi <= u.end && u.children[0]?.type === '{') {
        if (u.end - u.start <= NARROW_BLOCK) return { unit: u, from: u.start, to: u.end, wrap: blockWrap };
        return this.narrowBlock(u, lo, hi, blockWrap);
      }
      const wrap = containers[u.parent.type];
      if (!wrap) continue;
      const from = this.p.lines.lineStart(u.start);
      // The cut starts at the line start, so whatever precedes the unit there must be indentation.
      if (!isBlank(src.slice(from, u.start))) continue;
      if (lo < from) continue;
      if (hi > u.end && !/^\s*$/.test(src.slice(u.end, hi))) continue;
      const to = Math.max(u.end, hi);
      let w = wrap;
      if (this.p.lang === 'python' && u.parent.type === 'block' && from === u.start) w = NONE;
      if (this.p.lang === 'python' && u.parent.type === 'module') w = NONE;
      return { unit: u, from, to, wrap: w };
    }
    return null;
  }
}
