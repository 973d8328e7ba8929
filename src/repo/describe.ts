import { execFile } from 'node:child_process';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { sha256 } from '../store/store.js';

const run = promisify(execFile);

export interface RepoInfo {
  name: string;
  path: string;
  /** HEAD commit, or null for a directory that is not a git work tree. */
  commit: string | null;
  /** Identity of the exact tree state (commit plus uncommitted changes): the key of reference-run reuse. */
  key: string;
  /** Set when the repository is a Docker image: `path` is then its read-only host mirror (see sandbox/docker/imageRepo.ts). */
  image?: { ref: string; id: string; workdir: string; workdirFrom: string };
}

export class RepoError extends Error {
  constructor(message: string) { super(message); this.name = 'RepoError'; }
}

// Only plumbing commands with the repository's optional hooks turned off: a repository is untrusted input.
const SAFE = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null', '--no-optional-locks'];

export async function describeRepo(dir: string, name?: string): Promise<RepoInfo> {
  const abs = path.resolve(dir);
  try {
    if (!(await stat(abs)).isDirectory()) throw new Error('not a directory');
  } catch {
    throw new RepoError(`repository ${abs} does not exist or is not a directory`);
  }
  let commit: string | null = null;
  let status = '';
  try {
    commit = (await run('git', [...SAFE, '-C', abs, 'rev-parse', 'HEAD'])).stdout.trim();
    status = (await run('git', [...SAFE, '-C', abs, 'status', '--porcelain', '--untracked-files=no'], { maxBuffer: 16 << 20 })).stdout;
  } catch {
    commit = null;
  }
  const key = sha256(`${abs}\n${commit ?? 'no-git'}\n${status}`).slice(0, 16);
  return { name: name ?? path.basename(abs), path: abs, commit, key };
}
