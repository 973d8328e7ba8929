/**
 * The compiled dependencies of a Rust repository, built once per base tree (see sandbox/base-warm.ts) so that a
 * fresh sandbox's first `cargo test` compiles only the repository's own crates. Without it every solver attempt
 * and injector check compiled all dependencies and dev-dependencies again (minutes with criterion on 2 cores).
 *
 * Why only the dependencies, never the repository's own crates: cargo decides whether a path package (the
 * workspace, its path dependencies, [patch]es) is fresh by comparing file mtimes with its fingerprint. A cached
 * artifact of the repository's own crate could then be taken as fresh for a changed tree (an edit whose mtime is
 * not newer, a file deleted or replaced by a snapshot layer) and a test would run the old code: a wrong result,
 * which must never happen. So every artifact of a path package is removed from the cache (its .fingerprint,
 * build and deps entries, and incremental/ entirely) and cargo always rebuilds those crates. A registry or git
 * dependency's artifacts are named by a hash of its package id, version, features, profile and rustc, and its
 * sources are read-only in ~/.cargo: reusing them is what cargo itself does across builds.
 *
 * The identity (manifests, lock files, toolchain) only decides when a new cache is worth building: a stale one
 * is never wrong, since cargo rebuilds any dependency whose fingerprint no longer matches.
 */
import { execFile } from 'node:child_process';
import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { scanForMinutes, type BaseWarmer } from '../../sandbox/base-warm.js';
import type { Sandbox } from '../../sandbox/types.js';
import { defaultSandboxEnv, HOST_PATH } from '../../sandbox/bwrap.js';
import { shQuote } from './bash.js';
import { CARGO_CAP_LINTS, detectRust, rustTarget } from './rust.js';
import { RepoTree } from './scan.js';

const run = promisify(execFile);

/** Where test runs build: the same path inside every sandbox (defaultSandboxEnv), so fingerprints match. */
const TARGET_ENTRY = 'cargo-target';
const MAX_BUILDS = 32;
/** Files that decide what the dependencies build to, as the tree lists them. */
const IDENTITY_FILE = /(?:^|\/)(?:Cargo\.toml|Cargo\.lock|rust-toolchain(?:\.toml)?)$/;

interface Manifests {
  /** Manifests the cargo-test runner builds (those of crates with tests), relative to the base, in build order. */
  packages: string[];
  identity: string;
}

/**
 * The manifests the cargo-test runner would test, and what decides dependency builds; only reads (never follows
 * a symlink). No manifests where the runner does not apply: a Python package with a Rust extension and no Rust
 * tests does not pay for a dependency build its test runs never use.
 */
async function scanManifests(base: string): Promise<Manifests> {
  const tree = await RepoTree.scan(base);
  const runner = (await detectRust(tree))[0];
  const tested = new Set<string>();
  for (const f of runner?.testFiles ?? []) {
    const t = await rustTarget(tree, f);
    if (t) tested.add(t.manifest);
  }
  if (tested.size === 0) return { packages: [], identity: '' };
  const files = tree.files.filter((f) => IDENTITY_FILE.test(f));
  // The tree's listing leaves out hidden directories; cargo reads .cargo/config from each manifest's directory and
  // its ancestors, so those are looked up directly.
  const dirs = new Set<string>();
  for (const f of files) for (let d = path.posix.dirname(f); ; d = path.posix.dirname(d)) { dirs.add(d); if (d === '.') break; }
  const configs: string[] = [];
  for (const d of [...dirs].sort()) {
    for (const name of ['config', 'config.toml']) {
      const rel = d === '.' ? `.cargo/${name}` : `${d}/.cargo/${name}`;
      const st = await lstat(path.join(base, rel)).catch(() => null);
      if (st?.isFile()) configs.push(rel);
    }
  }
  const parts: string[] = [];
  for (const f of files) parts.push(`${f}\0${await tree.read(f)}`);
  for (const f of configs) parts.push(`${f}\0${await readFile(path.join(base, f), 'utf8').catch(() => '')}`);
  const packages = [...tested];
  // Shallow manifests first: a workspace root builds most of what its members need.
  packages.sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  return { packages, identity: `${packages.join('\0')}\0\0${parts.join('\0\0')}` };
}

const scanCached = scanForMinutes(scanManifests);

let toolchain: Promise<string> | null = null;
/** The default toolchain as a sandbox sees it; run outside the repository so its rust-toolchain file is not read. */
function toolchainVersion(): Promise<string> {
  toolchain ??= (async () => {
    const env = { ...defaultSandboxEnv('/tmp'), PATH: `/root/.cargo/bin:${HOST_PATH}` };
    const [rustc, cargo] = await Promise.all([
      run('rustc', ['-vV'], { env, cwd: '/', timeout: 60_000 }),
      run('cargo', ['-V'], { env, cwd: '/', timeout: 60_000 }),
    ]);
    return `${rustc.stdout}\n${cargo.stdout}`;
  })();
  toolchain.catch(() => { toolchain = null; });
  return toolchain;
}

/**
 * The repository's own packages (path sources: the workspace, path dependencies, [patch]es) and their targets,
 * as JSON, and the manifests whose packages cannot be resolved offline (a fuzz crate needing crates not in the
 * cache: it cannot build either, so it is left out). Run before the build, while nothing of the repository's
 * dependencies has run yet and the tree is still the pristine base: what it reports cannot have been tampered with.
 */
const LOCAL_PACKAGES = String.raw`
import json, subprocess, sys

# Resolved for this host only: unfiltered, cargo metadata needs every package of every platform's resolve (a crate a
# dev-dependency uses only on another architecture), which an offline cache filled by this host's own cargo test lacks.
host = []
v = subprocess.run(['rustc', '-vV'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
for line in v.stdout.splitlines() if v.returncode == 0 else []:
    if line.startswith('host: '):
        host = ['--filter-platform', line[len('host: '):].strip()]

names, unresolved, errors = set(), [], []
for m in sys.argv[1:]:
    r = subprocess.run(['cargo', 'metadata', '--format-version', '1', '--offline', *host, '--manifest-path', m],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        unresolved.append(m)
        errors.append('%s: %s' % (m, r.stderr.strip()[-600:]))
        continue
    for p in json.loads(r.stdout)['packages']:
        if p.get('source') is None:
            names.add(p['name'])
            names.update(t['name'] for t in p['targets'])
print(json.dumps({'names': sorted(names), 'unresolved': unresolved, 'errors': errors}))
`;

/**
 * Removes every artifact of the named packages and all but the dependencies' units. Run in a command of its own
 * after the build: processes the build left behind (a build.rs may start one) died with the build's pid
 * namespace and cannot write after this pass.
 */
const PRUNE = String.raw`
import os, re, shutil, sys

target = os.environ['CARGO_TARGET_DIR']
forms = set()
for n in sys.argv[1:]:
    forms.update((n, n.replace('-', '_'), n.replace('_', '-')))
# cargo names a unit's files <name>-<hash>...; a looser match only removes more, which costs time, never correctness.
own = re.compile(r'^(?:lib)?(?:%s)-[0-9a-f]+(?:[.-].*)?$' % '|'.join(re.escape(f) for f in sorted(forms)))

def remove(p):
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p)
    else:
        os.unlink(p)

for e in os.listdir(target):
    if e != 'debug':
        remove(os.path.join(target, e))
debug = os.path.join(target, 'debug')
if os.path.isdir(debug):
    # incremental/, examples/ and the uplifted copies at the top belong to the repository's own crates.
    for e in os.listdir(debug):
        if e not in ('.fingerprint', 'build', 'deps'):
            remove(os.path.join(debug, e))
    for d in ('.fingerprint', 'build', 'deps'):
        dd = os.path.join(debug, d)
        if os.path.isdir(dd):
            for e in os.listdir(dd):
                if own.match(e):
                    remove(os.path.join(dd, e))
`;

const CRATE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export interface CargoWarmerOptions {
  /** Wall-clock limit of the dependency build (the sandbox's other limits are the provider's defaults). */
  timeoutMs?: number;
}

export function cargoWarmer(opts: CargoWarmerOptions = {}): BaseWarmer {
  const timeoutMs = opts.timeoutMs ?? 20 * 60_000;
  return {
    name: 'cargo-deps',
    async identity(base: string): Promise<string | null> {
      const m = await scanCached(base);
      if (m.packages.length === 0) return null;
      // The build's flags are part of every fingerprint: a cache built under other flags would be rebuilt by every run.
      return `${await toolchainVersion()}\0${CARGO_CAP_LINTS}\0${m.identity}`;
    },
    async build(sb: Sandbox, base: string): Promise<string[]> {
      const manifests = (await scanCached(base)).packages.slice(0, MAX_BUILDS);
      if (manifests.length === 0) throw new Error('no Cargo.toml with a [package]');
      const meta = await sb.exec(`python3 - ${manifests.map(shQuote).join(' ')} <<'SSR_PY'\n${LOCAL_PACKAGES}\nSSR_PY`, { timeoutMs: 5 * 60_000 });
      if (meta.exitCode !== 0 || meta.killed) throw new Error(`reading the packages failed: ${(meta.stdout + meta.stderr).trim().slice(-1500)}`);
      const local = JSON.parse(meta.stdout) as { names: string[]; unresolved: string[]; errors?: string[] };
      const buildable = manifests.filter((m) => !local.unresolved.includes(m));
      // cargo's own words, which the script captured: why (a missing crate, rustup, a bad manifest) is in them.
      if (buildable.length === 0) throw new Error(`no package resolves offline: ${(local.errors ?? []).join('\n').slice(-1500) || meta.stderr.trim().slice(-1500)}`);
      // Every name must be pruned, so a name the pattern cannot carry discards the cache rather than keep its crate.
      if (local.names.length === 0 || !local.names.every((n) => CRATE_NAME.test(n))) throw new Error(`unexpected package names ${JSON.stringify(local.names).slice(0, 500)}`);
      // The same command line shape as the runner's test runs (test profile, default features, offline), so the
      // dependencies' fingerprints are the ones those runs look for. A manifest that fails to build still leaves
      // the dependencies it built, each under its own fingerprint.
      const b = await sb.exec(
        `export CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never; ok=0; for m in ${buildable.map(shQuote).join(' ')}; do cargo test ${CARGO_CAP_LINTS} --no-run --manifest-path "$m" </dev/null && ok=1; done; [ "$ok" = 1 ]`,
        { timeoutMs },
      );
      if (b.exitCode !== 0 || b.killed) throw new Error(`cargo test --no-run ${b.killed ? `stopped (${b.killed})` : `exited ${b.exitCode}`}: ${(b.stdout + b.stderr).trim().slice(-1500)}`);
      const p = await sb.exec(`python3 - ${local.names.map(shQuote).join(' ')} <<'SSR_PY'\n${PRUNE}\nSSR_PY`, { timeoutMs: 10 * 60_000 });
      if (p.exitCode !== 0 || p.killed) throw new Error(`pruning the repository's own crates failed: ${(p.stdout + p.stderr).trim().slice(-1500)}`);
      return [TARGET_ENTRY];
    },
  };
}
