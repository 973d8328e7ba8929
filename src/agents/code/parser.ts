import { createRequire } from 'node:module';
import path from 'node:path';
import { Language, Parser, type Tree } from 'web-tree-sitter';
import type { Edit } from './edits.js';
import { applyEdits } from './edits.js';
import type { Lang } from './lang.js';

const GRAMMAR_FILE: Record<Lang, string> = {
  python: 'tree-sitter-python.wasm',
  javascript: 'tree-sitter-javascript.wasm',
  typescript: 'tree-sitter-typescript.wasm',
  tsx: 'tree-sitter-tsx.wasm',
  go: 'tree-sitter-go.wasm',
  rust: 'tree-sitter-rust.wasm',
  java: 'tree-sitter-java.wasm',
  c: 'tree-sitter-c.wasm',
  cpp: 'tree-sitter-cpp.wasm',
};

let initOnce: Promise<void> | null = null;
/**
 * Grammar loads run one at a time: web-tree-sitter links each grammar's wasm into one shared
 * module, and concurrent loads race there ("bad export type for '..._external_scanner_create'").
 */
let loadChain: Promise<unknown> = Promise.resolve();
const parsers = new Map<Lang, Promise<Parser>>();

function grammarPath(lang: Lang): string {
  const req = createRequire(import.meta.url);
  const pkg = req.resolve('tree-sitter-wasms/package.json');
  return path.join(path.dirname(pkg), 'out', GRAMMAR_FILE[lang]);
}

/** One parser per language, created (and its grammar loaded) on first use. */
export function parserFor(lang: Lang): Promise<Parser> {
  let p = parsers.get(lang);
  if (!p) {
    p = (async () => {
      initOnce ??= Parser.init();
      await initOnce;
      const load = loadChain.then(() => Language.load(grammarPath(lang)));
      loadChain = load.catch(() => undefined);
      const language = await load;
      const parser = new Parser();
      parser.setLanguage(language);
      return parser;
    })();
    // A failed load must not poison the cache forever (e.g. a transient fs error).
    p.catch(() => parsers.delete(lang));
    parsers.set(lang, p);
  }
  return p;
}

/**
 * web-tree-sitter's string input hands the whole remaining string to a 10 KiB buffer on every
 * read; feeding bounded chunks keeps each read small and the reported length truthful.
 */
export function parseSource(parser: Parser, source: string, old?: Tree): Tree {
  const tree = parser.parse((i) => (i < source.length ? source.slice(i, i + 4096) : undefined), old ?? null);
  if (!tree) throw new Error('tree-sitter returned no tree');
  return tree;
}

export async function hasSyntaxErrors(lang: Lang, source: string): Promise<boolean> {
  const parser = await parserFor(lang);
  const tree = parseSource(parser, source);
  try {
    return tree.rootNode.hasError;
  } finally {
    tree.delete();
  }
}

/** ERROR and MISSING nodes in a source's parse: 0 for a clean one. */
export async function syntaxErrorCount(lang: Lang, source: string): Promise<number> {
  const parser = await parserFor(lang);
  const tree = parseSource(parser, source);
  try {
    return tree.rootNode.hasError ? countErrors(tree) : 0;
  } finally {
    tree.delete();
  }
}

/**
 * Whether an edited source parses worse than the original (`before` null: a new file, judged on its own). Where the
 * grammar already stumbles on the original (C code full of macros the parser cannot expand; tree-sitter-rust 0.20
 * reading a multi-line `#![doc(...)]` as a shebang plus an ERROR), every version of the file "has errors": the edit
 * is judged by their number, as Parsed.accepts judges single edits.
 */
export async function addsSyntaxErrors(lang: Lang, before: string | null, after: string): Promise<boolean> {
  const errors = await syntaxErrorCount(lang, after);
  if (errors === 0) return false;
  return before === null || errors > (await syntaxErrorCount(lang, before));
}

/**
 * A read-only JS mirror of a tree-sitter node. The analyses walk the tree many times, and every
 * property read of a wasm-backed node is a call into wasm, so one cursor pass copies what they need.
 */
export class SNode {
  readonly children: SNode[] = [];
  constructor(
    readonly type: string,
    readonly named: boolean,
    readonly field: string | null,
    readonly start: number,
    readonly end: number,
    /** 0-based row of `start`. */
    readonly row: number,
    readonly depth: number,
    readonly parent: SNode | null,
    readonly isError: boolean,
    private readonly lines: LineIndex,
  ) {}
  /** 0-based row of `end`; computed on demand since few nodes need it. */
  get endRow(): number {
    return this.lines.row(this.end);
  }
}

function mirror(tree: Tree, lines: LineIndex): SNode {
  const c = tree.walk();
  const language = tree.language;
  const namedCache = new Map<number, boolean>();
  // MISSING nodes only exist in trees with errors; skip the per-node call otherwise.
  const checkMissing = tree.rootNode.hasError;
  const starts = lines.starts;
  let row = 0;
  const make = (parent: SNode | null, depth: number): SNode => {
    const typeId = c.nodeTypeId;
    let named = namedCache.get(typeId);
    if (named === undefined) {
      named = language.nodeTypeIsNamed(typeId);
      namedCache.set(typeId, named);
    }
    const type = language.types[typeId] ?? 'ERROR';
    const fieldId = c.currentFieldId;
    const start = c.startIndex;
    // Pre-order visits nodes by non-decreasing start, so the row only ever moves forward.
    while (row + 1 < starts.length && starts[row + 1]! <= start) row++;
    const missing = checkMissing && c.nodeIsMissing;
    return new SNode(
      type,
      named,
      fieldId ? (language.fields[fieldId] ?? null) : null,
      start,
      c.endIndex,
      row,
      depth,
      parent,
      type === 'ERROR' || missing,
      lines,
    );
  };
  const root = make(null, 0);
  let node = root;
  try {
    for (;;) {
      if (c.gotoFirstChild()) {
        const n = make(node, node.depth + 1);
        node.children.push(n);
        node = n;
        continue;
      }
      for (;;) {
        if (node.parent && c.gotoNextSibling()) {
          const n = make(node.parent, node.depth);
          node.parent.children.push(n);
          node = n;
          break;
        }
        if (!node.parent || !c.gotoParent()) return root;
        node = node.parent;
      }
    }
  } finally {
    c.delete();
  }
}

/** Line starts of a text, for turning string offsets into tree-sitter points. */
export class LineIndex {
  readonly starts: number[] = [0];
  constructor(readonly text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }
  row(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
  point(offset: number): { row: number; column: number } {
    const row = this.row(offset);
    return { row, column: offset - this.starts[row]! };
  }
  lineStart(offset: number): number {
    return this.starts[this.row(offset)]!;
  }
  get lineCount(): number {
    return this.starts.length;
  }
}

function countErrors(tree: Tree): number {
  const c = tree.walk();
  let n = 0;
  try {
    for (;;) {
      if (c.nodeType === 'ERROR' || c.nodeIsMissing) n++;
      if (c.gotoFirstChild()) continue;
      for (;;) {
        if (c.gotoNextSibling()) break;
        if (!c.gotoParent()) return n;
      }
    }
  } finally {
    c.delete();
  }
}

/**
 * One parsed source and the means to check edits of it. Use through `withParsed` so the wasm
 * trees are freed.
 */
export class Parsed {
  readonly root: SNode;
  readonly lines: LineIndex;
  private readonly baseErrors: number;

  constructor(
    readonly lang: Lang,
    readonly source: string,
    private readonly parser: Parser,
    private readonly tree: Tree,
  ) {
    this.lines = new LineIndex(source);
    this.root = mirror(tree, this.lines);
    this.baseErrors = tree.rootNode.hasError ? countErrors(tree) : 0;
  }

  text(n: SNode): string {
    return this.source.slice(n.start, n.end);
  }

  /**
   * Whether the source with the edits applied parses without new syntax errors. A source that
   * already had errors (a grammar lagging the language) is judged by error count, so valid edits
   * of it are still accepted.
   */
  accepts(edits: readonly Edit[]): boolean {
    if (edits.length === 0) return true;
    let next: string;
    try {
      next = applyEdits(this.source, edits);
    } catch {
      return false;
    }
    let tree: Tree;
    let copy: Tree | null = null;
    if (edits.length === 1) {
      // Incremental re-parse: only the edited region is re-lexed, so checking hundreds of
      // mutations of a large file stays cheap.
      const e = edits[0]!;
      copy = this.tree.copy();
      const startPosition = this.lines.point(e.start);
      const nl = e.replacement.lastIndexOf('\n');
      const newEndPosition =
        nl < 0
          ? { row: startPosition.row, column: startPosition.column + e.replacement.length }
          : { row: startPosition.row + countNewlines(e.replacement), column: e.replacement.length - nl - 1 };
      copy.edit({
        startIndex: e.start,
        oldEndIndex: e.end,
        newEndIndex: e.start + e.replacement.length,
        startPosition,
        oldEndPosition: this.lines.point(e.end),
        newEndPosition,
      });
      tree = parseSource(this.parser, next, copy);
    } else {
      tree = parseSource(this.parser, next);
    }
    try {
      if (!tree.rootNode.hasError) return true;
      return this.baseErrors > 0 && countErrors(tree) <= this.baseErrors;
    } finally {
      tree.delete();
      copy?.delete();
    }
  }

  /** Whether a standalone text of this language parses without errors (used on small snippets). */
  parsesClean(text: string): boolean {
    const tree = parseSource(this.parser, text);
    try {
      return !tree.rootNode.hasError;
    } finally {
      tree.delete();
    }
  }

  /** Parse another text of the same language (e.g. a generated stub file); the caller disposes it. */
  reparse(source: string): Parsed {
    return new Parsed(this.lang, source, this.parser, parseSource(this.parser, source));
  }

  dispose(): void {
    this.tree.delete();
  }
}

function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * Recently parsed sources: callers typically ask several questions about one file in a row
 * (tests, names, mutations), and parsing plus mirroring is most of each call's cost. Parsed
 * objects are never mutated, so sharing them is safe; evicted ones free their wasm trees.
 */
const CACHE_SIZE = 6;
const cache = new Map<string, Parsed>();

export async function withParsed<T>(lang: Lang, source: string, fn: (p: Parsed) => T): Promise<T> {
  const key = `${lang}\0${source}`;
  let parsed = cache.get(key);
  if (parsed) {
    cache.delete(key);
  } else {
    const parser = await parserFor(lang);
    // Another call may have parsed the same source while this one awaited the parser.
    parsed = cache.get(key);
    if (parsed) cache.delete(key);
    else parsed = new Parsed(lang, source, parser, parseSource(parser, source));
  }
  cache.set(key, parsed);
  while (cache.size > CACHE_SIZE) {
    const [oldKey, old] = cache.entries().next().value as [string, Parsed];
    cache.delete(oldKey);
    old.dispose();
  }
  return fn(parsed);
}
