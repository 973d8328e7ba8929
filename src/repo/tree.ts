import { shQuote } from '../sandbox/shell.js';
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Sandbox, SandboxProvider, SandboxLimits } from '../sandbox/types.js';
import { applyDiff } from './testrun.js';

/** Reads a file of the original repository on the host, refusing symlinks that lead out of it. */
export async function readOriginal(repoDir: string, rel: string): Promise<Buffer | null> {
  const full = path.join(repoDir, rel);
  try {
    const real = await realpath(full);
    const root = await realpath(repoDir);
    if (real !== root && !real.startsWith(root + path.sep)) return null;
    if (!(await stat(real)).isFile()) return null;
    return await readFile(real);
  } catch {
    return null;
  }
}

export async function existsInOriginal(repoDir: string, rel: string): Promise<boolean> {
  return (await readOriginal(repoDir, rel)) !== null;
}

/**
 * A sandbox over the original repository with diffs applied in order, then some files put back to their
 * original content (or removed when the original has no such file). This is every tree state the checks
 * and the grader need: original, buggy, weakened, buggy with one file reverted, graded.
 */
export async function treeState(
  provider: SandboxProvider,
  repoDir: string,
  diffs: { diff: string; what: string }[],
  restore: string[] = [],
  limits?: Partial<SandboxLimits>,
  labels?: Record<string, string>,
): Promise<Sandbox> {
  const sb = await provider.create({ base: repoDir }, limits, labels);
  try {
    for (const d of diffs) await applyDiff(sb, d.diff, d.what);
    for (const rel of restore) {
      const orig = await readOriginal(repoDir, rel);
      if (orig) await sb.writeFile(rel, orig);
      else await sb.exec(`rm -f -- ${shQuote(rel)}`);
    }
    return sb;
  } catch (e) {
    await sb.dispose();
    throw e;
  }
}
