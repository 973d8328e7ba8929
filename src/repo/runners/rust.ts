import { checkTestFiles, scriptPrelude, shQuote } from './bash.js';
import { pythonParser } from './parser-common.js';
import type { RepoTree } from './scan.js';
import { RUST_EXT, isTestFile } from './test-files.js';
import type { Runner } from './types.js';
import { builtCrates, compiledRustFiles } from './rustmods.js';

/**
 * Lints warn, never fail the build: a crate under `#![deny(warnings)]` (or a test file under one) otherwise fails to
 * compile for an unused parameter or variable, which is what removing a function's body or a test's assertions
 * leaves, so every such bug read as a crash and every such weakening failed. A `--config` array joins the project's
 * own `build.rustflags` rather than replacing them (RUSTFLAGS would); the dependency cache is built with the same
 * flags (rust-warm.ts), so its fingerprints stay the ones the test runs look for.
 */
export const CARGO_CAP_LINTS = `--config ${shQuote('build.rustflags=["--cap-lints=warn"]')}`;

const TEST_ATTR = /#\[(?:[\w:]+::)?(?:test|rstest)\b|#\[cfg\(test\)\]/;

/** Where one file's tests live in cargo's terms: the target to build, and the module path its tests are named under. */
export interface RustTarget {
  manifest: string;
  args: string[];
  /** Module path of the file inside its target ('' for a crate root); libtest names its tests `<module>::...`. */
  module: string;
  /** Modules of other files of the same target nested under `module`: their tests belong to those files. */
  exclude: string[];
}

function dirOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '.' : p.slice(0, i);
}

function join(dir: string, rel: string): string {
  return dir === '.' ? rel : `${dir}/${rel}`;
}

/** Module path of a file relative to its target's root directory: a/b.rs and a/b/mod.rs are both `a::b`. */
function modulePath(relToRoot: string, rootFile: string): string {
  if (relToRoot === rootFile) return '';
  const parts = relToRoot.replace(/\.rs$/, '').split('/');
  if (parts[parts.length - 1] === 'mod') parts.pop();
  return parts.join('::');
}

async function crateDir(tree: RepoTree, file: string): Promise<string | null> {
  for (let d = dirOf(file); ; d = dirOf(d)) {
    const manifest = join(d, 'Cargo.toml');
    if (tree.has(manifest) && /^\s*\[package\]/m.test(await tree.read(manifest))) return d;
    if (d === '.') return null;
  }
}

export async function rustTarget(tree: RepoTree, file: string): Promise<RustTarget | null> {
  const crate = await crateDir(tree, file);
  if (crate === null) return null;
  const rel = crate === '.' ? file : file.slice(crate.length + 1);
  const manifest = join(crate, 'Cargo.toml');
  const inCrate = (p: string): boolean => tree.has(join(crate, p));
  const parts = rel.split('/');
  let args: string[];
  let rootDir: string;
  let rootFile: string;
  if (parts[0] === 'tests') {
    if (parts.length === 2) return { manifest, args: ['--test', parts[1]!.replace(/\.rs$/, '')], module: '', exclude: [] };
    if (!inCrate(`tests/${parts[1]}/main.rs`)) return null; // a helper module shared by several test targets
    args = ['--test', parts[1]!];
    rootDir = `tests/${parts[1]}`;
    rootFile = 'main.rs';
  } else if (parts[0] === 'src' && parts[1] === 'bin') {
    const name = parts[2]!.replace(/\.rs$/, '');
    if (parts.length === 3) return { manifest, args: ['--bin', name], module: '', exclude: [] };
    args = ['--bin', name];
    rootDir = `src/bin/${parts[2]}`;
    rootFile = 'main.rs';
  } else if (parts[0] === 'src') {
    const isLib = rel !== 'src/main.rs' && inCrate('src/lib.rs');
    args = isLib ? ['--lib'] : ['--bins'];
    rootDir = 'src';
    rootFile = isLib ? 'lib.rs' : 'main.rs';
  } else {
    return null;
  }
  const module = modulePath(rel.slice(rootDir.length + 1), rootFile);
  const prefix = join(crate, rootDir) + '/';
  const exclude: string[] = [];
  for (const f of tree.files) {
    if (!f.startsWith(prefix) || !RUST_EXT.test(f) || f === file) continue;
    const r = f.slice(prefix.length);
    if (rootDir === 'src' && (r.startsWith('bin/') || r === 'main.rs' || r === 'lib.rs')) continue;
    const m = modulePath(r, rootFile);
    if (m !== '' && (module === '' || m.startsWith(`${module}::`))) exclude.push(m);
  }
  return { manifest, args, module, exclude };
}

const RUST_PARSE = String.raw`
RESULT_RE = re.compile(r'^test (\S+)(?: - should panic)? \.\.\. (ok|FAILED|ignored)')


def parse(seg):
    module = seg.get('rust-module', '')
    exclude = seg.get('rust-exclude', '').split()
    for line in seg.lines:
        m = RESULT_RE.match(line)
        if not m or m.group(2) == 'ignored':
            continue
        name = m.group(1)
        # A target's tests come from many files; keep those named under this file's module and not a child file's.
        if module and not name.startswith(module + '::'):
            continue
        if any(name.startswith(e + '::') for e in exclude):
            continue
        seg.test(name, 'passed' if m.group(2) == 'ok' else 'failed')
`;

function rustScript(targets: ReadonlyMap<string, RustTarget>, testFiles: string[]): string {
  const files = checkTestFiles(testFiles);
  const blocks = files.map((f) => {
    const t = targets.get(f);
    const key = shQuote(`${t?.manifest} ${t?.args.join(' ')}`);
    const body = t
      ? `  printf '@@ssr-meta rust-module %s\\n' ${shQuote(t.module)}
  printf '@@ssr-meta rust-exclude %s\\n' ${shQuote(t.exclude.join(' '))}
  if [ -n "\${ssr_cargo_broken[${key}]+x}" ]; then
    echo "ssr: cargo test "${key}" did not build for an earlier file of this run (its errors are above); not built again"
    ssr_rc=101
  else
    ssr_limited cargo test ${CARGO_CAP_LINTS} --manifest-path ${shQuote(t.manifest)} ${t.args.map(shQuote).join(' ')} -- --color never${t.module ? ' ' + shQuote(`${t.module}::`) : ''} </dev/null 2>&1 | tee "$ssr_tmp/cargo.out"
    ssr_rc=\${PIPESTATUS[0]}
    if [ "$ssr_rc" -ne 0 ] && grep -q '^error: could not compile' "$ssr_tmp/cargo.out"; then ssr_cargo_broken[${key}]=1; fi
  fi`
      : `  echo "ssr: no cargo test target contains this file"
  ssr_rc=0`;
    return `printf '\\n@@ssr-file %s\\n' ${shQuote(f)}
if [ -f ${shQuote(f)} ]; then
${body}
else
  echo "ssr: test file not found: "${shQuote(f)}
  ssr_rc=127
fi
printf '\\n@@ssr-exit %s\\n' "$ssr_rc"
`;
  });
  return `${scriptPrelude('cargo-test', 'Each test file runs as its own cargo test invocation (its target, filtered to its module), so every result is attributed to its file.')}# Offline: dependencies must already be in the cargo cache or vendored; rustup installs nothing a rust-toolchain.toml asks for.
export CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never RUSTUP_AUTO_INSTALL=0
# Targets that failed to compile in this run. Many files share a target (every src file's unit tests are the --lib
# test binary), and cargo caches no failed build: without this a bug that breaks the build compiled it again for
# every file, and a crate of many files ran into the time limit (reported as a hang) where one build fails in seconds.
declare -A ssr_cargo_broken=()
${blocks.join('')}`;
}

export async function detectRust(tree: RepoTree): Promise<Runner[]> {
  if (!tree.files.some((f) => f === 'Cargo.toml' || f.endsWith('/Cargo.toml'))) return [];
  const targets = new Map<string, RustTarget>();
  for (const f of tree.files) {
    if (!RUST_EXT.test(f) || !TEST_ATTR.test(await tree.read(f))) continue;
    const t = await rustTarget(tree, f);
    if (t) targets.set(f, t);
  }
  // Files no build of the script compiles (examples, benches, modules behind a feature that is off or another OS)
  // are neither code the tests run nor tests that report.
  const compiled = new Set(await compiledRustFiles(tree, tree.files.filter((f) => RUST_EXT.test(f)), (f) => crateDir(tree, f)));
  for (const f of targets.keys()) if (!compiled.has(f)) targets.delete(f);
  if (targets.size === 0) return [];
  // The script runs cargo test on the test files' crates only: a crate none of them depends on is never compiled.
  const testCrates = new Set<string>();
  for (const f of targets.keys()) { const c = await crateDir(tree, f); if (c !== null) testCrates.add(c); }
  const isCrate = async (d: string) => { const m = d === '.' ? 'Cargo.toml' : `${d}/Cargo.toml`; return tree.has(m) && /^\s*\[package\]/m.test(await tree.read(m)); };
  const built = await builtCrates(tree, testCrates, isCrate);
  const sources: string[] = [];
  for (const f of tree.files) {
    if (!RUST_EXT.test(f) || isTestFile(f) || !compiled.has(f)) continue;
    const c = await crateDir(tree, f);
    if (c === null || built.has(c)) sources.push(f);
  }
  return [
    {
      name: 'cargo-test',
      language: 'rust',
      testFiles: [...targets.keys()].sort(),
      sourceFiles: sources,
      script: (testFiles: string[]) => rustScript(targets, testFiles),
      parser: () => pythonParser('cargo-test', RUST_PARSE),
    },
  ];
}
