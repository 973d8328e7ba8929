import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface FileChange {
  path: string;
  /** null: the file does not exist on that side. */
  before: string | null;
  after: string | null;
}

/**
 * A git-format diff of in-memory changes, made with `git diff --no-index` on two scratch trees we wrote
 * ourselves: it needs no repository (and so runs none of a repository's git configuration).
 */
export async function makeDiff(changes: FileChange[]): Promise<string> {
  const real = changes.filter((c) => c.before !== c.after);
  if (real.length === 0) return '';
  const dir = await mkdtemp(path.join(tmpdir(), 'ssr-diff-'));
  try {
    for (const side of ['a', 'b'] as const) await mkdir(path.join(dir, side));
    for (const c of real) {
      for (const [side, text] of [['a', c.before], ['b', c.after]] as const) {
        if (text === null) continue;
        const f = path.join(dir, side, c.path);
        await mkdir(path.dirname(f), { recursive: true });
        await writeFile(f, text);
      }
    }
    try {
      const r = await run('git', ['-c', 'core.quotepath=off', 'diff', '--no-index', '--no-prefix', '--no-color', '--no-ext-diff', 'a', 'b'], { cwd: dir, maxBuffer: 64 << 20 });
      return normalizeHeaders(r.stdout);
    } catch (e) {
      // git diff exits 1 when the trees differ: that is the normal case here.
      const err = e as { code?: number; stdout?: string; stderr?: string };
      if (err.code === 1 && typeof err.stdout === 'string') return normalizeHeaders(err.stdout);
      throw new Error(`git diff --no-index failed: ${err.stderr ?? String(e)}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** git names a new or deleted file from one side only (`diff --git b/x b/x`); write the usual `a/x b/x`. */
function normalizeHeaders(diff: string): string {
  return diff.replace(/^diff --git [ab]\/(.+) [ab]\/(.+)$/gm, 'diff --git a/$1 b/$2');
}
