/**
 * Which Python files the tests can load, following their imports. A bug in a file no test loads (setup.py, docs'
 * conf.py, demo and example scripts) breaks no test, so every such candidate costs the injector a test run and, when
 * a repository has many of them, the whole episode (no-bug-found). Read statically and over-approximated: a name
 * matches every file whose dotted path ends with it (src layouts, tests that put their own directory on sys.path), a
 * package brings its __init__.py, and `from a import b` brings a.b as well as a. Where a loaded file imports by
 * name at run time (importlib, __import__, entry points) the static graph is incomplete, and nothing is filtered,
 * unless the name is made from a module's own (`f"{pkg.__name__}._types"`): then every module of the loaded packages
 * counts as loaded.
 */
import { RepoTree } from '../../repo/runners/scan.js';

/** Past this many Python files the listing is not read: the filter is an optimisation, never a requirement. */
const MAX_PY_FILES = 3000;

const IMPORT_RE = /^[ \t]*import[ \t]+([^\n#;]+)/gm;
const FROM_RE = /^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]+)/gm;
/** Loading modules found at run time: the static graph cannot see where that leads. */
const DYNAMIC_RE = /\b(?:entry_points|iter_entry_points|pkgutil\.|runpy\.|load_source|spec_from_file_location)\b/;
/** importlib.import_module / __import__: with a literal name it is an import like any other; otherwise dynamic. */
const BY_NAME_RE = /\b(?:import_module|__import__)\s*\(\s*(?:(['"])([\w.]+)\1(?=\s*[,)]))?/g;
/** Other literal module names: pytest.importorskip("a.b"), and dotted targets such as mock.patch("a.b.f"), which import a.b. */
const LITERAL_RE = /\bimportorskip\s*\(\s*(['"])([\w.]+)\1|(['"])(\w+(?:\.\w+)+)\3/g;

function dotted(file: string): string {
  const noExt = file.replace(/\.py$/, '');
  const mod = noExt.endsWith('/__init__') ? noExt.slice(0, -'/__init__'.length) : noExt === '__init__' ? '' : noExt;
  return mod.split('/').join('.');
}

/** The module names a file's import statements name (absolute, relative ones resolved against the file's package). */
export function importedModules(file: string, text: string): string[] {
  const out: string[] = [];
  const add = (name: string): void => {
    const parts = name.split('.').filter((p) => p !== '');
    // Importing a.b.c runs a/__init__.py and a/b/__init__.py first.
    for (let i = 1; i <= parts.length; i++) out.push(parts.slice(0, i).join('.'));
  };
  for (const m of text.matchAll(IMPORT_RE)) {
    for (const item of m[1].split(',')) {
      const name = item.trim().split(/\s+/)[0];
      if (name && /^[\w.]+$/.test(name)) add(name);
    }
  }
  const pkg = dotted(file).split('.').filter((p) => p !== '');
  if (!file.endsWith('__init__.py')) pkg.pop();
  for (const m of text.matchAll(FROM_RE)) {
    const dots = m[1].length;
    let base = m[2];
    if (dots > 0) {
      if (dots - 1 > pkg.length) continue;
      base = [...pkg.slice(0, pkg.length - (dots - 1)), ...(m[2] ? [m[2]] : [])].join('.');
    }
    if (base) add(base);
    for (const item of m[3].replace(/[()\\]/g, ' ').split(',')) {
      const name = item.trim().split(/\s+/)[0];
      // `from a import b` may name the submodule a.b; no such module simply matches no file.
      if (name && name !== '*' && /^\w+$/.test(name)) add(base ? `${base}.${name}` : name);
    }
  }
  for (const m of text.matchAll(BY_NAME_RE)) if (m[2]) add(m[2]);
  for (const m of text.matchAll(LITERAL_RE)) add(m[2] ?? m[4]);
  return out;
}

/** A module loaded by a name computed at run time (not a literal), or a loader that finds modules itself. */
export function importsDynamically(text: string): boolean {
  if (DYNAMIC_RE.test(text)) return true;
  for (const m of text.matchAll(BY_NAME_RE)) if (!m[2]) return true;
  return false;
}

/**
 * The Python files loaded, statically, from the given test files (and every conftest.py, which pytest loads
 * itself), or null when the graph cannot be trusted: too many files, or a loaded file imports dynamically.
 * Test files and helpers are walked through, so code reached only through a test helper counts.
 */
export async function pythonReachable(repoDir: string, testFiles: readonly string[]): Promise<Set<string> | null> {
  const tree = await RepoTree.scan(repoDir);
  const pyFiles = tree.files.filter((f) => f.endsWith('.py'));
  if (pyFiles.length > MAX_PY_FILES) return null;
  const bySuffix = new Map<string, string[]>();
  for (const f of pyFiles) {
    const parts = dotted(f).split('.').filter((p) => p !== '');
    for (let i = 0; i < parts.length; i++) {
      const key = parts.slice(i).join('.');
      const list = bySuffix.get(key);
      if (list) list.push(f);
      else bySuffix.set(key, [f]);
    }
  }
  const reached = new Set<string>();
  const queue = [...testFiles.filter((f) => tree.has(f)), ...pyFiles.filter((f) => f === 'conftest.py' || f.endsWith('/conftest.py'))];
  // Tests that run a script by its path (subprocess, runpy) name it in their text.
  const testTexts = await Promise.all(queue.map((f) => tree.read(f)));
  for (const f of pyFiles) {
    const base = f.slice(f.lastIndexOf('/') + 1);
    if (base !== '__init__.py' && testTexts.some((t) => t.includes(base))) queue.push(f);
  }
  // Set once a loaded file imports a submodule of a loaded package by a name made from that package's (withinPackage).
  let packagesWhole = false;
  for (;;) {
    while (queue.length > 0) {
      const f = queue.pop()!;
      if (reached.has(f)) continue;
      reached.add(f);
      const text = await tree.read(f);
      if (importsDynamically(text)) {
        if (!importsWithinPackage(text)) return null;
        packagesWhole = true;
      }
      for (const mod of importedModules(f, text)) {
        for (const g of bySuffix.get(mod) ?? []) if (!reached.has(g)) queue.push(g);
      }
    }
    if (!packagesWhole) return reached;
    // Every module of a loaded package may be loaded so: those files join, and what they import, until none is new.
    const dirs = [...reached].filter((f) => f.endsWith('/__init__.py')).map((f) => f.slice(0, -'__init__.py'.length));
    for (const f of pyFiles) if (!reached.has(f) && dirs.some((d) => f.startsWith(d))) queue.push(f);
    if (queue.length === 0) return reached;
  }
}

/**
 * Whether every module a file loads by a computed name is named from a module's own name (`f"{pkg.__name__}._types"`,
 * `__name__ + ".x"`, `import_module("." + name, __package__)`): a module of a package that is loaded already, where
 * the graph stays sure once every module of the loaded packages counts as loaded. Entry points and loaders are not.
 */
export function importsWithinPackage(text: string): boolean {
  if (DYNAMIC_RE.test(text)) return false;
  for (const m of text.matchAll(BY_NAME_RE)) {
    if (m[2]) continue;
    // The call's arguments, to the end of its line: a name made from __name__ or __package__.
    const rest = text.slice(m.index! + m[0].length).split('\n', 1)[0]!;
    if (!/\b__(?:name|package)__\b/.test(rest)) return false;
  }
  return true;
}
