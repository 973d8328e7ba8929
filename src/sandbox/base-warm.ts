/**
 * Caches built once per base tree, inside a sandbox over that pristine tree, and offered read-only to every later
 * sandbox of the same base as a lower layer of its /tmp (copy-on-write, like the toolchain cache of warm.ts).
 *
 * What goes into one is derived from the repository's code (a Rust dependency's build.rs runs to make it), so it
 * is built under the same isolation and limits as any test run, never on the host, and it is keyed by the base
 * path: a cache one repository planted is never stacked under another's sandboxes.
 */
import { lstat, mkdir, rename, rm } from 'node:fs/promises';
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
const ENTRY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/;

export function baseWarmDir(stateDir: string): string {
  return path.join(stateDir, 'warm', 'base');
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
      const key = `${w.name}-${createHash('sha256').update(`${base}\0${identity}`).digest('hex').slice(0, 32)}`;
      const dst = path.join(this.dir, key);
      if (existsSync(dst)) {
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
}
