/**
 * Which JavaScript and TypeScript files the tests can load, following their imports. A library's examples/, benchmarks,
 * build scripts and tool configs are code that no test loads; a bug there breaks no test, so each such candidate costs
 * the injector a test run, and where they outnumber the library's own files (a CLI library with sixty examples beside
 * six modules) most candidates of an episode. Read statically and over-approximated: every literal specifier of
 * `import`, `export ... from`, `import()` and `require()`, relative ones resolved as Node and TypeScript resolve
 * them (extension, `.js` naming a `.ts`, a directory's index or package.json), the package's own name through its
 * package.json (`main`, `module`, every path in `exports`), and any file whose name a loaded file's text mentions (a
 * test that runs a script by its path). Where a loaded file requires or imports a computed name, or the repository
 * maps names itself (tsconfig `paths`, an `imports` field), the graph is unsure and nothing is filtered.
 */
import path from 'node:path';
import { RepoTree } from '../../repo/runners/scan.js';
import { JS_EXT } from '../../repo/runners/test-files.js';

/** Past this many JS/TS files the listing is not read: the filter is an optimisation, never a requirement. */
const MAX_JS_FILES = 5000;

const STATIC_RE = /\b(?:import|export)\b[^'"`;]*?\bfrom\s*(['"])([^'"\n]+)\1|\bimport\s*(['"])([^'"\n]+)\3/g;
const CALL_RE = /\b(?:require(?:\.resolve)?|import)\s*\(\s*(?:(['"])([^'"\n]+)\1\s*[,)]|(`)([^`$\n]+)`\s*[,)])?/g;
const EXTS = ['.js', '.cjs', '.mjs', '.jsx', '.ts', '.tsx', '.cts', '.mts'];

/** Literal specifiers a file loads, and whether it also loads a name computed at run time. */
export function jsSpecifiers(text: string): { specs: string[]; dynamic: boolean } {
  const specs: string[] = [];
  let dynamic = false;
  for (const m of text.matchAll(STATIC_RE)) specs.push(m[2] ?? m[4]!);
  for (const m of text.matchAll(CALL_RE)) {
    const lit = m[2] ?? m[4];
    if (lit !== undefined) specs.push(lit);
    // `import(` as a word inside a string or comment would read as dynamic too: that only turns the filter off.
    else dynamic = true;
  }
  return { specs, dynamic };
}

function stripJsonComments(text: string): string {
  return text.replace(/("(?:[^"\\]|\\.)*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (_m, s: string | undefined) => s ?? '');
}

function stringsIn(v: unknown, out: string[]): void {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) for (const x of v) stringsIn(x, out);
  else if (v && typeof v === 'object') for (const x of Object.values(v)) stringsIn(x, out);
}

interface Pkg { dir: string; name: string | null; entries: string[]; mapsNames: boolean }

async function readPkg(tree: RepoTree, file: string): Promise<Pkg | null> {
  try {
    const j = JSON.parse(await tree.read(file)) as Record<string, unknown>;
    const dir = path.posix.dirname(file);
    const entries: string[] = [];
    stringsIn([j.main, j.module, j.exports], entries);
    return { dir, name: typeof j.name === 'string' ? j.name : null, entries: entries.filter((e) => e.startsWith('.') || !e.includes(':')), mapsNames: j.imports !== undefined };
  } catch {
    return null;
  }
}

/**
 * The JS/TS files loaded, statically, from the given test files, or null when the graph cannot be trusted (too many
 * files, a computed specifier, names mapped by the repository's own configuration). Test files and their helpers are
 * walked through, so code reached only through a helper counts.
 */
export async function jsReachable(repoDir: string, testFiles: readonly string[]): Promise<Set<string> | null> {
  const tree = await RepoTree.scan(repoDir);
  const jsFiles = tree.files.filter((f) => JS_EXT.test(f));
  if (jsFiles.length > MAX_JS_FILES) return null;
  for (const f of tree.files) {
    if (!/(?:^|\/)[tj]sconfig[\w.-]*\.json$/.test(f)) continue;
    if (/"paths"\s*:/.test(stripJsonComments(await tree.read(f)))) return null;
  }
  const pkgs: Pkg[] = [];
  for (const f of tree.files.filter((x) => /(?:^|\/)package\.json$/.test(x) && !x.split('/').includes('node_modules'))) {
    const p = await readPkg(tree, f);
    if (p?.mapsNames) return null;
    if (p) pkgs.push(p);
  }

  const resolveFile = (p: string): string[] => {
    const norm = path.posix.normalize(p).replace(/^\.\//, '');
    const out: string[] = [];
    if (tree.has(norm)) out.push(norm);
    for (const e of EXTS) if (tree.has(norm + e)) out.push(norm + e);
    // TypeScript's ESM convention names the emitted file: './a.js' is a.ts (or .tsx, .mts, .cts) in the sources.
    const m = /\.([cm]?)js$/.exec(norm);
    if (m) for (const e of m[1] ? [`.${m[1]}ts`] : ['.ts', '.tsx']) if (tree.has(norm.slice(0, -m[0].length) + e)) out.push(norm.slice(0, -m[0].length) + e);
    // Joined, not concatenated: the package root ('..' from test/) normalises to '.', whose index is 'index.js'.
    for (const e of EXTS) if (tree.has(path.posix.join(norm, `index${e}`))) out.push(path.posix.join(norm, `index${e}`));
    const pkg = pkgs.find((x) => x.dir === norm);
    if (pkg) for (const e of pkg.entries) out.push(...resolveFile(path.posix.join(pkg.dir, e)));
    return out;
  };
  const resolve = (from: string, spec: string): string[] => {
    if (spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..') {
      return resolveFile(path.posix.join(path.posix.dirname(from), spec));
    }
    // The package's own name (a test importing the library as its users do), or a subpath of it.
    for (const p of pkgs) {
      if (!p.name || (spec !== p.name && !spec.startsWith(`${p.name}/`))) continue;
      if (spec === p.name) return p.entries.flatMap((e) => resolveFile(path.posix.join(p.dir, e)));
      // A subpath through `exports` may be renamed; every entry and the plain path are taken.
      const sub = spec.slice(p.name.length + 1);
      return [...resolveFile(path.posix.join(p.dir, sub)), ...p.entries.flatMap((e) => resolveFile(path.posix.join(p.dir, e)))];
    }
    return [];
  };

  const reached = new Set<string>();
  const queue = testFiles.filter((f) => tree.has(f));
  const byBase = new Map<string, string[]>();
  for (const f of jsFiles) {
    const b = f.slice(f.lastIndexOf('/') + 1);
    byBase.set(b, [...(byBase.get(b) ?? []), f]);
  }
  // A script a test runs by its path (a child process, a worker) is named in the test's text, not imported.
  for (const t of [...queue]) {
    const text = await tree.read(t);
    for (const [b, files] of byBase) if (text.includes(b)) queue.push(...files);
  }
  while (queue.length > 0) {
    const f = queue.pop()!;
    if (reached.has(f)) continue;
    reached.add(f);
    const { specs, dynamic } = jsSpecifiers(await tree.read(f));
    if (dynamic) return null;
    for (const s of specs) for (const g of resolve(f, s)) if (!reached.has(g)) queue.push(g);
  }
  return reached;
}
