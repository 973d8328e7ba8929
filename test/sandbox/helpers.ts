/** Shared fixtures for the local sandbox tests: real directories, real processes, no mocks. */
import { mkdtemp, mkdir, writeFile, readdir, readFile, lstat, readlink, rm } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `ssr-sbtest-${prefix}-`));
}

/** A base tree with the given files (path -> content) under a fresh temp dir; returns its path. */
export async function makeBase(files: Record<string, string>): Promise<string> {
  const root = await tempDir('base');
  const base = path.join(root, 'repo');
  await mkdir(base);
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(base, rel);
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, content);
  }
  return base;
}

/** Hash of a tree's names, types, modes, contents and link targets: any change to the tree changes it. */
export async function treeChecksum(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string, rel: string): Promise<void> => {
    const names = (await readdir(d)).sort();
    for (const n of names) {
      const p = path.join(d, n);
      const r = path.posix.join(rel, n);
      const st = await lstat(p);
      h.update(`${r}\0${st.mode}\0`);
      if (st.isDirectory()) await walk(p, r);
      else if (st.isSymbolicLink()) h.update(await readlink(p));
      else if (st.isFile()) h.update(await readFile(p));
    }
  };
  await walk(dir, '');
  return h.digest('hex');
}

/** Host processes whose command line contains `marker` (other than this test process). */
export async function hostProcsWith(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = (await readFile(`/proc/${name}/cmdline`)).toString().replace(/\0/g, ' ');
      if (cmd.includes(marker)) found.push(Number(name));
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

/**
 * Isolated tests never skip: on a machine that cannot run them (not root, no bwrap or overlay) they fail, and the
 * doctor test says what is missing and how to install it (`apt-get install bubblewrap`, run as root).
 */
export async function isolatedSkipReason(): Promise<false> {
  return false;
}

export async function cleanup(...dirs: string[]): Promise<void> {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}

export function uniqueMarker(): string {
  return `${Math.floor(Math.random() * 1e6) + 100}.${Math.floor(Math.random() * 900) + 100}`;
}
