/**
 * Which Go files the tests compile, following the imports of their packages. A bug in a package no test builds (an
 * `_examples/` or `cmd/` main package, a tool, a nested module of demos) breaks no test, so every such candidate costs
 * the injector a test run, and where a repository keeps many of them, the whole episode (no-bug-found). Read statically
 * and over-approximated: a package brings every .go file of its directory (build constraints are the runner's business),
 * its test files' imports count as well as its code's, an import path resolves through every go.mod of the repository
 * (and their local `replace` targets), and a directory whose path a reached test file names (a test that runs `go run
 * ./cmd/tool` or builds it) is reached too.
 */
import { RepoTree } from '../../repo/runners/scan.js';

/** Past this many Go files the listing is not read: the filter is an optimisation, never a requirement. */
const MAX_GO_FILES = 5000;

const MODULE_RE = /^[ \t]*module[ \t]+("?)([^\s"]+)\1/m;
/** `replace a/b => ./local` and `a/b v1.2.3 => ../local`, alone or inside a replace ( ... ) block. */
const REPLACE_RE = /^[ \t]*(?:replace[ \t]+)?([^\s=()]+)(?:[ \t]+v\S+)?[ \t]+=>[ \t]+(\.{1,2}(?:\/\S*)?)[ \t]*$/gm;
const IMPORT_BLOCK_RE = /^[ \t]*import[ \t]*\(([\s\S]*?)\)/gm;
const IMPORT_ONE_RE = /^[ \t]*import[ \t]+(?:[\w.]+[ \t]+)?["`]([^"`]+)["`]/gm;
const PATH_RE = /["`]([^"`\n]+)["`]/g;

function dirOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : p.slice(0, i);
}

/** A repository-relative path, `..` and `.` resolved; null where it leaves the repository. */
function normalize(p: string): string | null {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(part);
  }
  return out.length === 0 ? '.' : out.join('/');
}

/** The import paths a Go file names, from its import declarations only (never a string elsewhere in the file). */
export function goImportPaths(text: string): string[] {
  const out: string[] = [];
  // Comments could hold a quoted path; dropping them keeps the graph to what the compiler reads.
  const code = text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, '');
  for (const m of code.matchAll(IMPORT_BLOCK_RE)) for (const p of m[1]!.matchAll(PATH_RE)) out.push(p[1]!);
  for (const m of code.matchAll(IMPORT_ONE_RE)) out.push(m[1]!);
  return out;
}

/**
 * The Go files compiled, statically, with the packages of the given test files, or null when the graph cannot be
 * trusted (too many files, or no go.mod naming a module to resolve imports against).
 */
export async function goReachable(repoDir: string, testFiles: readonly string[]): Promise<Set<string> | null> {
  const tree = await RepoTree.scan(repoDir);
  const goFiles = tree.files.filter((f) => f.endsWith('.go'));
  if (goFiles.length > MAX_GO_FILES) return null;
  const byDir = new Map<string, string[]>();
  for (const f of goFiles) {
    const d = dirOf(f);
    const list = byDir.get(d);
    if (list) list.push(f);
    else byDir.set(d, [f]);
  }
  // Import path prefix -> the directory it names: each module's path, and each local replacement.
  const roots: [prefix: string, dir: string][] = [];
  for (const mod of tree.files.filter((f) => f === 'go.mod' || f.endsWith('/go.mod'))) {
    const text = await tree.read(mod);
    const dir = dirOf(mod);
    const name = MODULE_RE.exec(text)?.[2];
    if (name) roots.push([name, dir]);
    for (const m of text.matchAll(REPLACE_RE)) {
      const target = normalize(dir === '.' ? m[2]! : `${dir}/${m[2]}`);
      if (target !== null) roots.push([m[1]!, target]);
    }
  }
  if (roots.length === 0) return null;
  // The longest prefix wins: a nested module's packages are its own, not its parent's.
  roots.sort((a, b) => b[0].length - a[0].length);
  const resolve = (path: string): string | null => {
    for (const [prefix, dir] of roots) {
      if (path === prefix) return dir;
      if (path.startsWith(`${prefix}/`)) return normalize(dir === '.' ? path.slice(prefix.length + 1) : `${dir}/${path.slice(prefix.length + 1)}`);
    }
    return null;
  };

  const reachedDirs = new Set<string>();
  const queue = testFiles.filter((f) => tree.has(f)).map(dirOf);
  // Tests that build or run another package by its path (go run ./cmd/tool, go build) name it in their text.
  const testTexts = await Promise.all(testFiles.filter((f) => tree.has(f)).map((f) => tree.read(f)));
  for (const d of byDir.keys()) {
    if (d === '.') continue;
    const named = new RegExp(`(^|[^\\w.-])(\\./)?${d.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w.-])`);
    if (testTexts.some((t) => named.test(t))) queue.push(d);
  }
  while (queue.length > 0) {
    const d = queue.pop()!;
    if (reachedDirs.has(d)) continue;
    reachedDirs.add(d);
    for (const f of byDir.get(d) ?? []) {
      for (const p of goImportPaths(await tree.read(f))) {
        const target = resolve(p);
        if (target !== null && !reachedDirs.has(target)) queue.push(target);
      }
    }
  }
  const reached = new Set<string>();
  for (const d of reachedDirs) for (const f of byDir.get(d) ?? []) reached.add(f);
  return reached;
}
