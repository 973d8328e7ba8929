/**
 * Which Rust files the test script's cargo builds compile: the modules reached from each crate's library and binary
 * roots (src/lib.rs, src/main.rs, src/bin/*, or the manifest's `path`s) and test targets (tests/*.rs) through `mod`
 * declarations, `#[path]` and `include!`, leaving out a module whose `#[cfg(...)]` does not hold for the build the
 * script runs (default features, this host, a test build). A file it never reaches (an example, a bench, a module
 * behind a feature that is off, a `#[cfg(windows)]` module) is not code the tests run: a bug injected there breaks
 * nothing, and a test declared there never reports.
 *
 * Only a crate whose roots read cleanly is filtered; where anything cannot be told (a cfg predicate of a kind not
 * known here, a module file that cannot be found, a macro that may declare modules), the file is kept.
 */
import path from 'node:path/posix';
import { arch as hostArch } from 'node:os';
import type { RepoTree } from './scan.js';

/** What `#[cfg]` predicates see: the features on by default and the host. */
export interface RustCfgEnv { features: ReadonlySet<string>; os: string; arch: string }

const RUST_ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'aarch64', ia32: 'x86', arm: 'arm', riscv64: 'riscv64', s390x: 's390x', ppc64: 'powerpc64' };

export function hostCfgEnv(features: ReadonlySet<string>): RustCfgEnv {
  return { features, os: process.platform === 'darwin' ? 'macos' : process.platform, arch: RUST_ARCH[hostArch()] ?? hostArch() };
}

/** A `cfg(...)` predicate's value; null for one this does not know (the module is then kept). */
export function evalCfg(pred: string, env: RustCfgEnv): boolean | null {
  const tokens = pred.match(/"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|[(),=]/g) ?? [];
  let i = 0;
  const list = (): (boolean | null)[] | undefined => {
    if (tokens[i++] !== '(') return undefined;
    const out: (boolean | null)[] = [];
    while (i < tokens.length && tokens[i] !== ')') {
      out.push(one());
      if (tokens[i] === ',') i++;
    }
    i++;
    return out;
  };
  const one = (): boolean | null => {
    const name = tokens[i++] ?? '';
    if (name === 'all' || name === 'any' || name === 'not') {
      const xs = list();
      if (!xs) return null;
      if (name === 'not') return xs.length === 1 && xs[0] !== null ? !xs[0] : null;
      if (name === 'all') return xs.includes(false) ? false : xs.includes(null) ? null : true;
      return xs.includes(true) ? true : xs.includes(null) ? null : false;
    }
    if (tokens[i] === '=') {
      i++;
      const value = JSON.parse(tokens[i++] ?? '""') as string;
      switch (name) {
        case 'feature': return env.features.has(value);
        case 'target_os': return value === env.os;
        case 'target_family': return value === (env.os === 'windows' ? 'windows' : 'unix');
        case 'target_arch': return value === env.arch;
        case 'target_pointer_width': return value === (/64/.test(env.arch) ? '64' : '32');
        case 'target_endian': return value === (env.arch === 's390x' || env.arch === 'powerpc64' ? 'big' : 'little');
        default: return null;
      }
    }
    switch (name) {
      case 'test': case 'debug_assertions': return true;
      case 'unix': return env.os !== 'windows';
      case 'windows': return env.os === 'windows';
      // Set by rustdoc, docs.rs, miri, fuzzers or the benchmark harness: never by the script's cargo test.
      case 'doc': case 'docsrs': case 'miri': case 'fuzzing': case 'loom': case 'kani': return false;
      default: return null;
    }
  };
  const v = one();
  return i === tokens.length ? v : null;
}

/** Comments, strings and char literals blanked (lengths kept), so braces and `mod` are only the code's. */
function codeOnly(src: string): string {
  return src.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\/|r(#*)"[\s\S]*?"\1|b?"(?:[^"\\]|\\[\s\S])*"|b?'(?:[^'\\\n]|\\[^\n]{1,10}?)'/g, (m) => m.replace(/[^\n]/g, ' '));
}

interface ModDecl { name: string; inline: boolean; cfg: boolean | null; pathAttr: string | null; start: number; bodyEnd: number }

/** `mod` items of a file with their attributes; an inline module's body ends at its matching brace. */
function modDecls(src: string, env: RustCfgEnv): { mods: ModDecl[]; includes: string[]; macroMods: boolean; off: boolean } {
  const code = codeOnly(src);
  const mods: ModDecl[] = [];
  const re = /((?:#\[[^\]]*(?:\[[^\]]*\][^\]]*)*\]\s*)*)(?:pub(?:\s*\([^)]*\))?\s+)?mod\s+(r#)?([A-Za-z_][A-Za-z0-9_]*)\s*([;{])/g;
  for (let m = re.exec(code); m; m = re.exec(code)) {
    const attrs = src.slice(m.index, m.index + m[1].length);
    let cfg: boolean | null = true;
    let pathAttr: string | null = null;
    for (const a of attrs.matchAll(/#\[\s*(cfg|path)\s*(\(([\s\S]*)\)|=\s*"([^"]*)")\s*\]/g)) {
      if (a[1] === 'path' && a[4] !== undefined) pathAttr = a[4];
      else if (a[1] === 'cfg' && a[3] !== undefined && cfg !== false) {
        const v = evalCfg(a[3], env);
        cfg = v === false ? false : v === null ? null : cfg;
      }
    }
    let bodyEnd = m.index + m[0].length;
    if (m[4] === '{') {
      let depth = 1;
      while (bodyEnd < code.length && depth > 0) {
        if (code[bodyEnd] === '{') depth++;
        else if (code[bodyEnd] === '}') depth--;
        bodyEnd++;
      }
    }
    mods.push({ name: m[3], inline: m[4] === '{', cfg, pathAttr, start: m.index + m[1].length, bodyEnd });
  }
  const includes = [...src.matchAll(/\binclude!\s*\(\s*"([^"]+)"\s*\)/g)].map((x) => x[1]);
  // A macro_rules! that expands to `mod` items, or a mod named by a macro argument: modules this scan cannot see.
  const macroMods = /macro_rules!\s*\w+\s*\{[\s\S]*?\bmod\s+\$/.test(code);
  // An inner `#![cfg(...)]` that does not hold leaves the whole file (and what it declares) out.
  const off = [...src.matchAll(/^\s*#!\[\s*cfg\s*\(([\s\S]*?)\)\s*\]/gm)].some((a) => evalCfg(a[1], env) === false);
  return { mods, includes, macroMods, off };
}

/** The features on with the defaults: `default` and what it turns on, transitively (not `dep:` nor `crate/feature`). */
export function defaultFeatures(manifest: string): Set<string> | null {
  const sec = /^\s*\[features\]\s*$([\s\S]*?)(?=^\s*\[|(?![\s\S]))/m.exec(manifest);
  const table = new Map<string, string[]>();
  if (sec) {
    for (const m of sec[1].matchAll(/^\s*"?([A-Za-z0-9_\-.+]+)"?\s*=\s*\[([\s\S]*?)\]/gm)) {
      table.set(m[1], [...m[2].matchAll(/"([^"]+)"/g)].map((x) => x[1]));
    }
  }
  const on = new Set<string>();
  const add = (f: string) => {
    if (on.has(f) || f.startsWith('dep:') || f.includes('/')) return;
    on.add(f);
    for (const g of table.get(f) ?? []) add(g.replace(/\?$/, ''));
  };
  add('default');
  on.delete('default');
  return on;
}

/** A target path from a `[lib]` or `[[bin]]`/`[[test]]` table of the manifest. */
function manifestPaths(manifest: string, table: RegExp): string[] {
  const out: string[] = [];
  for (const m of manifest.matchAll(new RegExp(`^\\s*${table.source}\\s*$([\\s\\S]*?)(?=^\\s*\\[|(?![\\s\\S]))`, 'gm'))) {
    const p = /^\s*path\s*=\s*"([^"]+)"/m.exec(m[1]);
    if (p) out.push(p[1]);
  }
  return out;
}

/**
 * The .rs files of the crate in `crate` ('.' for the repository root) that its lib, bins and test targets compile;
 * null where the crate cannot be read to the end (then none of its files should be left out).
 */
export async function crateFiles(tree: RepoTree, crate: string): Promise<Set<string> | null> {
  const join = (p: string) => path.normalize(crate === '.' ? p : `${crate}/${p}`);
  const manifest = await tree.read(join('Cargo.toml'));
  const features = defaultFeatures(manifest);
  if (!features) return null;
  const roots = [
    ...manifestPaths(manifest, /\[lib\]/), ...manifestPaths(manifest, /\[\[bin\]\]/), ...manifestPaths(manifest, /\[\[test\]\]/),
    'src/lib.rs', 'src/main.rs',
  ].map(join);
  const prefix = crate === '.' ? '' : `${crate}/`;
  for (const f of tree.files) {
    if (!f.startsWith(prefix)) continue;
    const r = f.slice(prefix.length);
    if (/^src\/bin\/[^/]+\.rs$/.test(r) || /^src\/bin\/[^/]+\/main\.rs$/.test(r) || /^tests\/[^/]+\.rs$/.test(r) || /^tests\/[^/]+\/main\.rs$/.test(r)) roots.push(f);
  }
  const env = hostCfgEnv(features);
  const seen = new Set<string>();
  const queue: string[] = [];
  const reach = (f: string) => { if (!seen.has(f)) { seen.add(f); queue.push(f); } };
  // A root, a mod.rs, a main.rs or lib.rs declares its children beside it; any other foo.rs in foo/.
  const childDir = (file: string) => (/(^|\/)(mod|lib|main)\.rs$/.test(file) ? path.dirname(file) : file.replace(/\.rs$/, ''));
  for (const r of roots) if (tree.has(r)) reach(r);
  if (queue.length === 0) return null;
  while (queue.length) {
    const file = queue.shift()!;
    const decl = modDecls(await tree.read(file), env);
    if (decl.off) { seen.delete(file); continue; }
    if (decl.macroMods) return null;
    for (const inc of decl.includes) {
      const f = path.normalize(path.join(path.dirname(file), inc));
      if (/\.rs$/.test(f) && tree.has(f)) reach(f);
    }
    // Inline modules nest the directory their `mod x;` children are looked up in.
    const dirAt = (pos: number): { dir: string; nested: boolean; off: boolean } => {
      let dir = childDir(file), nested = false, off = false;
      for (const m of decl.mods) {
        if (!m.inline || !(m.start < pos && pos < m.bodyEnd)) continue;
        dir = m.pathAttr ? path.join(dir, m.pathAttr) : path.join(dir, m.name);
        nested = true;
        off ||= m.cfg === false;
      }
      return { dir, nested, off };
    };
    for (const m of decl.mods) {
      if (m.inline) continue;
      const at = dirAt(m.start);
      if (m.cfg === false || at.off) continue;
      // `#[path]` is relative to the declaring file's directory, or inside an inline module to that module's.
      const candidates = m.pathAttr
        ? [path.normalize(path.join(at.nested ? at.dir : path.dirname(file), m.pathAttr))]
        : [path.join(at.dir, `${m.name}.rs`), path.join(at.dir, m.name, 'mod.rs')];
      const found = candidates.find((c) => tree.has(c));
      // A module file that is not there (generated by build.rs into OUT_DIR, or an error): nothing to reach.
      if (!found) continue;
      reach(found);
    }
  }
  return seen;
}

/**
 * Of `files` (.rs files of the repository), those the test script's builds compile. A file outside every crate, or
 * in a crate that cannot be read to the end, is kept.
 */
export async function compiledRustFiles(tree: RepoTree, files: string[], crateOf: (f: string) => Promise<string | null>): Promise<string[]> {
  const byCrate = new Map<string, Promise<Set<string> | null>>();
  const out: string[] = [];
  for (const f of files) {
    const crate = await crateOf(f);
    if (crate === null) { out.push(f); continue; }
    let reach = byCrate.get(crate);
    if (!reach) { reach = crateFiles(tree, crate); byCrate.set(crate, reach); }
    const set = await reach;
    if (!set || set.has(f)) out.push(f);
  }
  return out;
}

/** Tables of a manifest that name a target's file, not a crate: their `path`s are no dependencies. */
const TARGET_TABLE = /^\[\[?(?:lib|bin|test|bench|example)\]\]?$/;

/** The directories (relative to the manifest's own) every `path = "..."` outside a target table names. */
function manifestPathDeps(manifest: string): string[] {
  const out: string[] = [];
  let inTarget = false;
  for (const line of manifest.split('\n')) {
    const t = line.trim();
    if (t.startsWith('[')) inTarget = TARGET_TABLE.test(t.replace(/\s+/g, ''));
    if (inTarget) continue;
    for (const m of t.matchAll(/\bpath\s*=\s*(?:"([^"]+)"|'([^']+)')/g)) out.push(m[1] ?? m[2]!);
  }
  return out;
}

/**
 * The crates (directories of a `[package]` manifest) the test script's cargo builds compile: the crates of the test
 * files and, through every `path` dependency (a workspace's `[workspace.dependencies]` and `[patch]` entries too),
 * the local crates they depend on. Another crate of the repository (a bench-only crate, a fuzz crate, a helper binary
 * of the workspace) is built by no test run: a bug there breaks nothing.
 */
export async function builtCrates(tree: RepoTree, testCrates: Iterable<string>, isCrate: (dir: string) => Promise<boolean>): Promise<Set<string>> {
  const norm = (d: string) => path.normalize(d).replace(/\/$/, '') || '.';
  const queue = [...testCrates].map(norm);
  // A workspace's shared dependency tables apply to its members, which name them with `workspace = true`.
  const workspaceDeps: string[] = [];
  for (const f of tree.files) {
    if (f !== 'Cargo.toml' && !f.endsWith('/Cargo.toml')) continue;
    const text = await tree.read(f);
    if (!/^\s*\[workspace\]/m.test(text)) continue;
    for (const p of manifestPathDeps(text)) workspaceDeps.push(norm(path.join(path.dirname(f), p)));
  }
  const built = new Set<string>();
  while (queue.length > 0) {
    const crate = queue.shift()!;
    if (built.has(crate)) continue;
    built.add(crate);
    const manifest = await tree.read(crate === '.' ? 'Cargo.toml' : `${crate}/Cargo.toml`);
    const deps = manifestPathDeps(manifest).map((p) => norm(path.join(crate, p)));
    if (/workspace\s*=\s*true/.test(manifest)) deps.push(...workspaceDeps);
    for (const d of deps) if (!d.startsWith('..') && !built.has(d) && (await isCrate(d))) queue.push(d);
  }
  return built;
}
