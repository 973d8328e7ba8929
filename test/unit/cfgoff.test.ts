/** Rust code a false `#[cfg]` leaves out of the test build: the injector leaves it alone (src/agents/code/cfgoff.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cfgOffRanges, rustCfgEnvFor } from '../../src/agents/code/cfgoff.js';
import { findMutations } from '../../src/agents/code/index.js';
import { hostCfgEnv } from '../../src/repo/runners/rustmods.js';

const SRC = `pub struct Opts {
    pub width: usize,
    #[cfg(feature = "color")]
    pub color: bool,
}

/// Kept: the default feature.
#[cfg(feature = "std")]
pub fn on(a: i32) -> i32 { a + 1 }

/// Left out: a feature that is off by default.
#[cfg(feature = "nightly")]
#[inline]
pub fn off_feature(a: i32) -> i32 { a + 2 }

#[cfg(all(target_arch = "aarch64", not(miri)))]
mod neon {
    pub fn lanes(n: usize) -> usize { n * 4 }
}

#[cfg(any(unix, windows))]
pub fn either(a: i32) -> i32 { a - 3 }

#[cfg(some_custom_flag)]
pub fn unknown(a: i32) -> i32 { a * 5 }

#[cfg_attr(docsrs, doc(cfg(feature = "nightly")))]
pub fn documented(a: i32) -> i32 { a / 6 }

pub fn body(a: i32) -> i32 {
    #[cfg(windows)]
    let a = a + 7;
    #[cfg(not(windows))]
    let a = a + 8;
    a
}

#[cfg(test)]
mod tests {
    #[test]
    fn t() { assert_eq!(super::on(1), 2); }
}
`;

const textsOf = (src: string, rs: { start: number; end: number }[]) => rs.map((r) => src.slice(r.start, r.end));

test('items, fields and statements under a cfg that does not hold for the default features on this host are left out', async () => {
  const env = { ...hostCfgEnv(new Set(['std'])), os: 'linux', arch: 'x86_64' };
  const off = textsOf(SRC, await cfgOffRanges('rust', SRC, env));
  assert.ok(off.some((t) => t.startsWith('#[cfg(feature = "color")]') && t.endsWith('pub color: bool')), off.join('\n---\n'));
  assert.ok(off.some((t) => t.startsWith('#[cfg(feature = "nightly")]\n#[inline]') && t.includes('a + 2')), 'the attribute run and the fn it precedes');
  assert.ok(off.some((t) => t.includes('n * 4')), 'an aarch64 module on x86_64');
  assert.ok(off.some((t) => t.includes('a + 7')), 'a statement for windows');
  for (const kept of ['a + 1', 'a - 3', 'a * 5', 'a / 6', 'a + 8', 'assert_eq!']) {
    assert.ok(!off.some((t) => t.includes(kept)), `${kept}: a cfg that holds, one not known here, a cfg_attr, or the tests are kept`);
  }
  // What the injector is left with: mutations of the kept code only.
  const muts = await findMutations('rust', SRC);
  const ranges = await cfgOffRanges('rust', SRC, env);
  const kept = muts.filter((m) => !ranges.some((r) => m.edit.start < r.end && r.start < m.edit.end));
  assert.ok(muts.length > kept.length && kept.length > 0, `${muts.length} mutations, ${kept.length} kept`);
  // Other languages and a crate not read: nothing left out.
  assert.deepEqual(await cfgOffRanges('go', SRC, env), []);
  assert.deepEqual(await cfgOffRanges('rust', SRC, null), []);
});

test('the env of a file is its nearest manifest\'s default features, transitively; none outside a crate', async () => {
  const repo = mkdtempSync(path.join(tmpdir(), 'ssr-cfgoff-'));
  mkdirSync(path.join(repo, 'crates', 'a', 'src', 'deep'), { recursive: true });
  writeFileSync(path.join(repo, 'Cargo.toml'), '[workspace]\nmembers = ["crates/a"]\n');
  writeFileSync(path.join(repo, 'crates', 'a', 'Cargo.toml'), '[package]\nname = "a"\n\n[features]\ndefault = ["std"]\nstd = ["alloc"]\nalloc = []\nnightly = []\n');
  const env = await rustCfgEnvFor(repo, 'crates/a/src/deep/x.rs');
  assert.deepEqual([...env!.features].sort(), ['alloc', 'std']);
  const root = await rustCfgEnvFor(repo, 'build/x.rs');
  assert.deepEqual([...root!.features], [], 'the workspace manifest: no features');
  const bare = mkdtempSync(path.join(tmpdir(), 'ssr-cfgoff-'));
  assert.equal(await rustCfgEnvFor(bare, 'src/lib.rs'), null);
});
