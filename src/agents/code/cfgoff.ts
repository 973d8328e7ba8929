/**
 * Rust code the test build does not compile: an item, statement or field under a `#[cfg(...)]` that does not hold for
 * `cargo test` with the crate's default features on this host (a `#[cfg(feature = "nightly")]` fn, an aarch64 SIMD
 * impl, a `#[cfg(windows)]` branch). A bug injected there breaks no test; the injector leaves such code alone, as
 * src/repo/runners/rustmods.ts leaves out whole files the build never reaches.
 *
 * Conservative: a predicate this cannot evaluate, or a crate whose manifest cannot be read, keeps the code.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { defaultFeatures, evalCfg, hostCfgEnv, type RustCfgEnv } from '../../repo/runners/rustmods.js';
import { isComment, walk } from './ast.js';
import type { Lang } from './lang.js';
import { withParsed } from './parser.js';

const CFG = /^#\[\s*cfg\s*\(([\s\S]*)\)\s*\]$/;

/** Byte ranges (attributes included) of the code a false `#[cfg]` leaves out of the build. */
export async function cfgOffRanges(lang: Lang, source: string, env: RustCfgEnv | null): Promise<{ start: number; end: number }[]> {
  if (lang !== 'rust' || !env || !source.includes('#[cfg')) return [];
  return withParsed(lang, source, (p) => {
    const out: { start: number; end: number }[] = [];
    walk(p.root, (n) => {
      let first: number | null = null, off = false;
      for (const c of n.children) {
        if (c.type === 'attribute_item') {
          first ??= c.start;
          const m = CFG.exec(p.text(c).trim());
          if (m && evalCfg(m[1], env) === false) off = true;
          continue;
        }
        if (isComment(c)) continue;
        if (off && first !== null) out.push({ start: first, end: c.end });
        first = null;
        off = false;
      }
      return true;
    });
    return out;
  });
}

/**
 * What `#[cfg]` sees for a file of the repository: the default features of the nearest Cargo.toml above it (within
 * the repository) on this host; null where there is none or it cannot be read.
 */
export async function rustCfgEnvFor(repoDir: string, file: string): Promise<RustCfgEnv | null> {
  const root = path.resolve(repoDir);
  for (let dir = path.dirname(path.resolve(root, file)); dir.startsWith(root); dir = path.dirname(dir)) {
    const manifest = await readFile(path.join(dir, 'Cargo.toml'), 'utf8').catch(() => null);
    if (manifest !== null) {
      const features = defaultFeatures(manifest);
      return features ? hostCfgEnv(features) : null;
    }
    if (dir === root) break;
  }
  return null;
}
