/**
 * Caches built once per base tree, inside a sandbox over that pristine tree, and offered read-only to every later
 * sandbox of the same base as a lower layer of its /tmp (copy-on-write, like the toolchain cache of warm.ts).
 *
 * What goes into one is derived from the repository's code (a Rust dependency's build.rs runs to make it), so it
 * is built under the same isolation and limits as any test run, never on the host, and it is keyed by the base
 * path: a cache one repository planted is never stacked under another's sandboxes.
 */
import { lstat, mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Sandbox } from './types.js';

export interface BaseWarmer {
  /** Names the cache on disk and in logs ([a-z0-9-]). */
  readonly name: string;
  /**
   * Everything the cache's usefulness depends on for this base (hashed, with the base path, into its identity),
   * or null where the warmer does not apply. Runs on the host: it may read the tree, never run anything in it.
   */
  identity(base: string): Promise<string | null>;
  /**
   * Fills /tmp of `sb`, a fresh sandbox over the pristine base, and returns the names of the /tmp entries to keep;
   * throws when the build failed. Everything kept must be safe to reuse for any later state of the tree.
   */
  build(sb: Sandbox, base: string): Promise<string[]>;
}

const NAME_RE = /^[a-z0-9][a-z0-9-]{0,40}$/;
// A dot may lead (GOCACHE is /tmp/.cache/go-build), never make the whole name: `.` and `..` are not entries.
const ENTRY_RE = /^\.?[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/;

/**
 * Which cache directories sandboxes may have mounted, from every process of the state directory: `unknown` when
 * some sandbox does not say (one made by an older version, which used the former names).
 */
export type CachesInUse = () => Promise<{ dirs: Set<string>; unknown: boolean }>;

export interface BaseWarmCacheOptions {
  /** Caches kept per warmer and base: the newest identities (a changed Cargo.lock builds another). Default 2. */
  keepPerBase?: number;
  /** Caches kept per warmer over all bases, least recently used removed first (moved or deleted repositories). Default 16. */
  keepTotal?: number;
  inUse?: CachesInUse;
}

export function baseWarmDir(stateDir: string): string {
  return path.join(stateDir, 'warm', 'base');
}

function baseHash(base: string): string {
  return createHash('sha256').update(base).digest('hex').slice(0, 16);
}

/** Per state directory, so every provider of this process shares one build per cache. */
const inflightByDir = new Map<string, Map<string, Promise<string | null>>>();
/** Caches whose build (or identity) failed in this process: their sandboxes start cold, and the failure is logged once. */
const failedByDir = new Map<string, Set<string>>();

export class BaseWarmCache {
  private readonly dir: string;
  private readonly inflight: Map<string, Promise<string | null>>;
  private readonly failed: Set<string>;

  constructor(
    stateDir: string,
    private readonly warmers: readonly BaseWarmer[],
    /** A sandbox over the pristine base with no base caches of its own, and where its /tmp lives on the host. */
    private readonly open: (base: string) => Promise<{ sandbox: Sandbox; tmpDir: string }>,
    private readonly log: (msg: string) => void = (m) => console.warn(m),
    private readonly opts: BaseWarmCacheOptions = {},
  ) {
    for (const w of warmers) if (!NAME_RE.test(w.name)) throw new Error(`bad base warmer name ${JSON.stringify(w.name)}`);
    this.dir = baseWarmDir(stateDir);
    if (!inflightByDir.has(this.dir)) inflightByDir.set(this.dir, new Map());
    if (!failedByDir.has(this.dir)) failedByDir.set(this.dir, new Set());
    this.inflight = inflightByDir.get(this.dir)!;
    this.failed = failedByDir.get(this.dir)!;
  }

  /**
   * Host directories of the caches for `base` (its real path), topmost first, building the missing ones. Waiting
   * here is the point: concurrent sandboxes of one repository wait for one build instead of each doing it cold.
   */
  async layersFor(base: string): Promise<string[]> {
    const out: string[] = [];
    for (const w of this.warmers) {
      let identity: string | null;
      try {
        identity = await w.identity(base);
      } catch (e) {
        const once = `${w.name}\0${base}`;
        if (!this.failed.has(once)) this.log(`ssr: ${w.name} cache of ${base} not used: ${(e as Error).message}`);
        this.failed.add(once);
        continue;
      }
      if (identity === null) continue;
      // The base's own hash leads the name, so the caches of one base can be told apart when pruning.
      const key = `${w.name}-${baseHash(base)}-${createHash('sha256').update(`${base}\0${identity}`).digest('hex').slice(0, 24)}`;
      const dst = path.join(this.dir, key);
      if (existsSync(dst)) {
        // Last use, for pruning: the directory's own mtime (its contents never change once it is in place).
        const now = new Date();
        await utimes(dst, now, now).catch(() => undefined);
        out.push(dst);
        continue;
      }
      if (this.failed.has(key)) continue;
      let p = this.inflight.get(key);
      if (!p) {
        p = this.build(w, base, key, dst).finally(() => this.inflight.delete(key));
        this.inflight.set(key, p);
      }
      const got = await p;
      if (got) out.push(got);
    }
    return out;
  }

  private async build(w: BaseWarmer, base: string, key: string, dst: string): Promise<string | null> {
    const tmp = `${dst}.${process.pid}.building`;
    let sandbox: Sandbox | undefined;
    try {
      await rm(tmp, { recursive: true, force: true });
      await mkdir(tmp, { recursive: true });
      const opened = await this.open(base);
      sandbox = opened.sandbox;
      const keep = await w.build(sandbox, base);
      for (const name of keep) {
        if (!ENTRY_RE.test(name)) throw new Error(`will not keep /tmp entry ${JSON.stringify(name)}`);
        const src = path.join(opened.tmpDir, name);
        // Only a real directory: a symlink the build left there would become part of every later sandbox's /tmp.
        if (!(await lstat(src)).isDirectory()) throw new Error(`/tmp/${name} is not a directory`);
        await rename(src, path.join(tmp, name));
      }
      // Atomic: a sandbox sees the whole cache or none; another process that built it first wins.
      try {
        await rename(tmp, dst);
      } catch {
        if (!existsSync(dst)) throw new Error(`could not move the cache into ${dst}`);
      }
      await this.prune(w, base, dst).catch((e: Error) => this.log(`ssr: pruning the ${w.name} caches failed: ${e.message}`));
      return dst;
    } catch (e) {
      this.failed.add(key);
      this.log(`ssr: building the ${w.name} cache of ${base} failed, its sandboxes start cold: ${(e as Error).message.slice(0, 2000)}`);
      return null;
    } finally {
      await sandbox?.dispose().catch(() => undefined);
      await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /**
   * Bounds the caches on disk, each a whole target directory (often hundreds of MiB): run after a build, so only
   * when a base gets a new identity. Keeps the newest keepPerBase of this base and the keepTotal most recently used
   * of the warmer; caches named the former way (no base hash) are never looked up again and go too. A cache some
   * sandbox has mounted stays (overlayfs forbids changing a lower layer under a mount); so do the former ones while
   * a sandbox that does not say what it mounted exists.
   */
  private async prune(w: BaseWarmer, base: string, fresh: string): Promise<void> {
    const keepPerBase = Math.max(1, this.opts.keepPerBase ?? 2);
    const keepTotal = Math.max(1, this.opts.keepTotal ?? 16);
    const current = new RegExp(`^${w.name}-[0-9a-f]{16}-[0-9a-f]{24}$`);
    const former = new RegExp(`^${w.name}-[0-9a-f]{32}$`);
    const all = await readdir(this.dir);
    // Left by a pruning process that died while removing: already out of use, whoever removes them.
    const stale = new RegExp(`^${w.name}-[0-9a-f-]+\\.\\d+\\.stale$`);
    for (const n of all) if (stale.test(n)) await rm(path.join(this.dir, n), { recursive: true, force: true });
    const names = all.filter((n) => current.test(n) || former.test(n));
    const entries: { dir: string; name: string; used: number }[] = [];
    for (const name of names) {
      const dir = path.join(this.dir, name);
      if (dir === fresh) continue;
      const st = await stat(dir).catch(() => null);
      if (st) entries.push({ dir, name, used: st.mtimeMs });
    }
    entries.sort((a, b) => b.used - a.used);
    const drop = new Set<string>();
    const mine = `${w.name}-${baseHash(base)}-`;
    entries.filter((e) => former.test(e.name)).forEach((e) => drop.add(e.dir));
    entries.filter((e) => e.name.startsWith(mine)).slice(keepPerBase - 1).forEach((e) => drop.add(e.dir));
    entries.filter((e) => !drop.has(e.dir)).slice(keepTotal - 1).forEach((e) => drop.add(e.dir));
    if (drop.size === 0) return;
    const inUse = (await this.opts.inUse?.()) ?? { dirs: new Set<string>(), unknown: false };
    for (const dir of drop) {
      if (inUse.dirs.has(dir) || (inUse.unknown && former.test(path.basename(dir)))) continue;
      // Out of sight first, in one step: a concurrent layersFor finds the cache whole or not at all.
      const gone = `${dir}.${process.pid}.stale`;
      try {
        await rename(dir, gone);
      } catch {
        continue;
      }
      await rm(gone, { recursive: true, force: true });
      this.log(`ssr: removed the ${w.name} cache ${path.basename(dir)} (least recently used beyond the limit, or superseded)`);
    }
  }
}

/**
 * A warmer's scan of a base, reused for a few minutes: every sandbox creation asks for the identity, and a large
 * tree takes a while to walk. A stale scan at worst offers a stale cache (slower, never wrong); a failed one is
 * forgotten at once.
 */
export function scanForMinutes<T>(scan: (base: string) => Promise<T>, ttlMs = 5 * 60_000): (base: string) => Promise<T> {
  const scans = new Map<string, { at: number; scan: Promise<T> }>();
  return (base) => {
    const hit = scans.get(base);
    if (hit && Date.now() - hit.at < ttlMs) return hit.scan;
    const p = scan(base);
    scans.set(base, { at: Date.now(), scan: p });
    p.catch(() => scans.delete(base));
    return p;
  };
}
