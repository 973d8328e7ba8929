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
};
CONTAINERS.typescript = CONTAINERS.javascript;
CONTAINERS.tsx = CONTAINERS.javascript;

/** Units larger than this are checked by incremental re-parse of the whole file instead. */
const MAX_SNIPPET = 20_000;

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
      const key = `${snip.from}:${snip.to}`;
      let ok = this.unitOk.get(key);
      if (ok === undefined) {
        ok = this.p.parsesClean(snip.wrap[0] + this.p.source.slice(snip.from, snip.to) + snip.wrap[1]);
        this.unitOk.set(key, ok);
      }
      if (ok) {
        const local = edits.map((e) => ({ start: e.start - snip.from, end: e.end - snip.from, replacement: e.replacement }));
        const text = applyEdits(this.p.source.slice(snip.from, snip.to), local);
        if (this.p.parsesClean(snip.wrap[0] + text + snip.wrap[1])) return true;
        // A snippet can fail where the file would not (context the cut lost); the whole file decides.
      }
    }
    return this.p.accepts(edits);
  }

  private snippetFor(anchor: SNode, edits: readonly Edit[]): { from: number; to: number; wrap: Wrap } | null {
    const containers = CONTAINERS[this.p.lang];
    const lo = Math.min(...edits.map((e) => e.start));
    const hi = Math.max(...edits.map((e) => e.end));
    const src = this.p.source;
    for (let u: SNode | null = anchor; u && u.parent; u = u.parent) {
      const wrap = containers[u.parent.type];
      if (!wrap) continue;
      const from = this.p.lines.lineStart(u.start);
      // The cut starts at the line start, so whatever precedes the unit there must be indentation.
      if (!isBlank(src.slice(from, u.start))) continue;
      if (lo < from) continue;
      if (hi > u.end && !/^\s*$/.test(src.slice(u.end, hi))) continue;
      const to = Math.max(u.end, hi);
      if (to - from > MAX_SNIPPET) return null;
      let w = wrap;
      if (this.p.lang === 'python' && u.parent.type === 'block' && from === u.start) w = NONE;
      if (this.p.lang === 'python' && u.parent.type === 'module') w = NONE;
      return { from, to, wrap: w };
    }
    return null;
  }
}
