/**
 * The per-repository cache of compiled Rust dependencies (src/repo/runners/rust-warm.ts over sandbox/base-warm.ts):
 * real cargo, real sandboxes. The fixture depends on itoa, which `node src/cli/setup.mjs` fetches into ~/.cargo.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalSandboxProvider } from '../../src/sandbox/local.js';
import { baseWarmDir } from '../../src/sandbox/base-warm.js';
import { warmTmpDir } from '../../src/sandbox/warm.js';
import { findExecutable } from '../../src/sandbox/bwrap.js';
import { cargoWarmer } from '../../src/repo/runners/rust-warm.js';
import { CARGO_CAP_LINTS } from '../../src/repo/runners/rust.js';
import { cleanup, isolatedSkipReason, makeBase, tempDir } from './helpers.js';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'runners', 'cargo-dep');
const skip = (await isolatedSkipReason()) || (!findExecutable('cargo') && 'cargo not installed');
const dirs: string[] = [];
let stateDir = '';
let provider: LocalSandboxProvider;

/** A copy of the fixture at a path of its own; files in `extra` replace or add, '' removes. */
async function fixture(extra: Record<string, string> = {}): Promise<string> {
  const files: Record<string, string> = {};
  for (const f of ['Cargo.toml', 'Cargo.lock', 'src/lib.rs']) files[f] = await readFile(path.join(FIXTURE, f), 'utf8');
  const all: Record<string, string> = { ...files, ...extra };
  for (const [f, v] of Object.entries(extra)) if (v === '') delete all[f];
  const base = await makeBase(all);
  dirs.push(path.dirname(base));
  return base;
}

async function layers(): Promise<string[]> {
  return (await readdir(baseWarmDir(stateDir)).catch(() => [] as string[])).filter((n) => !n.includes('.building')).sort();
}

/** The test script's cargo command line (its lint flags are part of every crate's fingerprint, the cache's too). */
const CARGO = `CARGO_TERM_COLOR=never cargo test ${CARGO_CAP_LINTS} -v 2>&1`;

before(async () => {
  if (skip) return;
  stateDir = await tempDir('state');
  dirs.push(stateDir);
  // As in production, where the toolchain cache (warm.ts) is already a lower layer of every /tmp, the build's too.
  await mkdir(warmTmpDir(stateDir), { recursive: true });
  await writeFile(path.join(warmTmpDir(stateDir), 'toolchain-marker'), 'go');
  provider = new LocalSandboxProvider({ stateDir, isolation: 'bwrap', defaults: { timeoutMs: 240_000 }, baseWarmers: [cargoWarmer()] });
});
after(async () => {
  if (skip) return;
  await cleanup(...dirs);
});

test('the dependencies are built once per repository and reused; the repository\'s own crate always rebuilds', { skip }, async () => {
  const a = await fixture();
  const sb1 = await provider.create({ base: a });
  try {
    const built = await layers();
    assert.equal(built.length, 1, built.join(' '));
    // Only the dependency is kept: an artifact of the repository's own crate could be taken as fresh for a changed tree.
    const deps = await readdir(path.join(baseWarmDir(stateDir), built[0]!, 'cargo-target', 'debug', 'deps'));
    assert.ok(deps.some((f) => /^libitoa-[0-9a-f]+\.rlib$/.test(f)), deps.join(' '));
    assert.ok(!deps.some((f) => f.includes('cargo_dep')), deps.join(' '));
    const fps = await readdir(path.join(baseWarmDir(stateDir), built[0]!, 'cargo-target', 'debug', '.fingerprint'));
    assert.ok(!fps.some((f) => f.startsWith('cargo-dep-')), fps.join(' '));
    const r = await sb1.exec(`cat /tmp/toolchain-marker && ${CARGO}`);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /^go/);
    assert.match(r.stdout, /Fresh itoa v/);
    assert.doesNotMatch(r.stdout, /Compiling itoa/);
    assert.match(r.stdout, /Compiling cargo-dep v/);
    assert.match(r.stdout, /test t::formats \.\.\. ok/);
  } finally {
    await sb1.dispose();
  }

  const sb2 = await provider.create({ base: a });
  try {
    assert.equal((await layers()).length, 1);
    // The correctness guard: an edit dated before the cache was built must still be compiled and tested.
    await sb2.writeFile('src/lib.rs', (await readFile(path.join(a, 'src/lib.rs'), 'utf8')).replace('.to_owned()', '.to_owned() + "!"'));
    await sb2.exec('touch -d @946684800 src/lib.rs');
    const r = await sb2.exec(CARGO);
    assert.notEqual(r.exitCode, 0, r.stdout);
    assert.doesNotMatch(r.stdout, /Compiling itoa/);
    assert.match(r.stdout, /Compiling cargo-dep v/);
    assert.match(r.stdout, /test t::formats \.\.\. FAILED/);
  } finally {
    await sb2.dispose();
  }

  // Without the cache the same sandbox compiles the dependency: the difference above is the cache's.
  const coldState = await tempDir('cold');
  dirs.push(coldState);
  const cold = await new LocalSandboxProvider({ stateDir: coldState, isolation: 'bwrap', defaults: { timeoutMs: 240_000 } }).create({ base: a });
  try {
    const r = await cold.exec(CARGO);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /Compiling itoa v/);
  } finally {
    await cold.dispose();
  }
});

test('another repository never gets the first one\'s cache', { skip }, async () => {
  const a = await fixture();
  const b = await fixture();
  const before = new Set(await layers());
  await (await provider.create({ base: a })).dispose();
  const la = (await layers()).filter((l) => !before.has(l));
  assert.equal(la.length, 1);
  // What a build.rs of repository a could have left in its cache.
  await writeFile(path.join(baseWarmDir(stateDir), la[0]!, 'cargo-target', 'planted-by-a'), 'x');
  const sbA = await provider.create({ base: a });
  const sbB = await provider.create({ base: b });
  try {
    assert.equal((await sbA.exec('cat /tmp/cargo-target/planted-by-a')).stdout, 'x');
    const r = await sbB.exec('test -e /tmp/cargo-target/planted-by-a && echo planted; ' + CARGO);
    assert.doesNotMatch(r.stdout, /planted/);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /Fresh itoa v/);
    assert.equal((await layers()).filter((l) => !before.has(l)).length, 2);
  } finally {
    await sbA.dispose();
    await sbB.dispose();
  }
});

test('a manifest that does not resolve offline is left out, not the whole cache', { skip }, async () => {
  // Like a crate's fuzz/ crate: its own package, needing crates the cache does not hold.
  const d = await fixture({
    'fuzz/Cargo.toml': '[package]\nname = "fuzz-it"\nversion = "0.0.0"\nedition = "2021"\n\n[dependencies]\nssr-no-such-crate-anywhere = "9"\n',
    'fuzz/src/lib.rs': '#[cfg(test)]\nmod t {\n    #[test]\n    fn f() {}\n}\n',
  });
  const before = new Set(await layers());
  const sb = await provider.create({ base: d });
  try {
    assert.equal((await layers()).filter((l) => !before.has(l)).length, 1);
    const r = await sb.exec(CARGO);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /Fresh itoa v/);
    assert.match(r.stdout, /Compiling cargo-dep v/);
  } finally {
    await sb.dispose();
  }
});

test('a dependency of another platform, whose crate the cache does not hold, does not keep the cache from being built', { skip }, async () => {
  // As a dev-dependency's own dependency for another architecture: the lock names it, this host never builds it, and
  // `cargo metadata` over every platform wanted to download it offline.
  const other = process.arch === 'arm64' ? 'x86_64' : 'aarch64';
  const toml = (await readFile(path.join(FIXTURE, 'Cargo.toml'), 'utf8')) + `\n[target.'cfg(target_arch = "${other}")'.dependencies]\nitoa_old = { package = "itoa", version = "=0.4.8" }\n`;
  const lock = [
    '# This file is automatically @generated by Cargo.', '# It is not intended for manual editing.', 'version = 4', '',
    '[[package]]', 'name = "cargo-dep"', 'version = "0.1.0"', 'dependencies = [', ' "itoa 0.4.8",', ' "itoa 1.0.19",', ']', '',
    '[[package]]', 'name = "itoa"', 'version = "0.4.8"', 'source = "registry+https://github.com/rust-lang/crates.io-index"', 'checksum = "b71991ff56294aa922b450139ee08b3bfc70982c6b2c7562771375cf73542dd4"', '',
    '[[package]]', 'name = "itoa"', 'version = "1.0.19"', 'source = "registry+https://github.com/rust-lang/crates.io-index"', 'checksum = "3bd1574e617a9a6c1f8f8181bd7e841e1f20e4277607ef28945765188d6284d4"', '',
  ].join('\n');
  const d = await fixture({ 'Cargo.toml': toml, 'Cargo.lock': lock });
  const before = new Set(await layers());
  const sb = await provider.create({ base: d });
  try {
    assert.equal((await layers()).filter((l) => !before.has(l)).length, 1, 'the cache was built');
    const r = await sb.exec(CARGO);
    assert.equal(r.exitCode, 0, r.stdout);
    assert.match(r.stdout, /Fresh itoa v1/);
  } finally {
    await sb.dispose();
  }
});

test('a crate without Rust tests gets no cache: the cargo-test runner does not apply', { skip }, async () => {
  const e = await fixture({ 'src/lib.rs': 'pub fn one() -> u32 { 1 }\n' });
  const before = await layers();
  const sb = await provider.create({ base: e });
  await sb.dispose();
  assert.deepEqual(await layers(), before);
});

test('a failed build leaves the repository\'s sandboxes working cold', { skip }, async () => {
  const c = await fixture({
    'Cargo.toml': '[package]\nname = "cargo-dep"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nssr-no-such-crate-anywhere = "9"\n',
    'Cargo.lock': '',
    'src/lib.rs': '#[cfg(test)]\nmod t {\n    #[test]\n    fn ok() {}\n}\n',
  });
  const before = await layers();
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (m: string) => void warnings.push(m);
  try {
    const sb1 = await provider.create({ base: c });
    const sb2 = await provider.create({ base: c });
    try {
      assert.deepEqual(await layers(), before);
      assert.equal(warnings.filter((w) => w.includes(c)).length, 1, warnings.join('\n'));
      // cargo's reason, not just that it failed.
      assert.match(warnings.find((w) => w.includes(c)) ?? '', /ssr-no-such-crate-anywhere/);
      for (const sb of [sb1, sb2]) {
        const r = await sb.exec('echo hi > /tmp/f && cat /tmp/f && ls /tmp');
        assert.equal(r.exitCode, 0, r.stderr);
        assert.match(r.stdout, /^hi\n/);
        assert.doesNotMatch(r.stdout, /cargo-target/);
      }
    } finally {
      await sb1.dispose();
      await sb2.dispose();
    }
  } finally {
    console.warn = warn;
  }
});
