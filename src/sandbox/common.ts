/**
 * What both sandbox backends share: the rules for paths handed to readFile/writeFile/cwd, the one-command-at-a-time
 * lock, and the shell snippets that read and write files inside a sandbox without following links out of it.
 */
import path from 'node:path';
import { SandboxError, SandboxPathError } from './errors.js';
import type { RawResult } from './run.js';

export function normalizeRel(rel: string, what: string, allowRoot: boolean, workdir: string): string {
  if (rel.includes('\0')) throw new SandboxPathError(`${what}: NUL byte in path`);
  let r = rel;
  if (path.posix.isAbsolute(r)) {
    // An absolute path is accepted only when it names something inside the work directory as commands see it.
    const inside = path.posix.relative(workdir, path.posix.normalize(r));
    if (inside.startsWith('..') || path.posix.isAbsolute(inside)) throw new SandboxPathError(`${what}: ${rel} is outside the work directory`);
    r = inside;
  }
  const n = path.posix.normalize(r === '' ? '.' : r);
  if (n === '..' || n.startsWith('../')) throw new SandboxPathError(`${what}: ${rel} escapes the work directory`);
  if (!allowRoot && (n === '.' || n === './')) throw new SandboxPathError(`${what}: ${JSON.stringify(rel)} names the work directory itself`);
  return n.replace(/\/+$/, '');
}

export class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/** Reads "$1/$2" when it resolves inside "$1": exit 2 missing, 3 outside, 4 not a regular file. */
export const READ_SCRIPT = `p=$(realpath -e -- "$1/$2" 2>/dev/null) || exit 2
case "$p" in "$1"/*) ;; *) exit 3 ;; esac
[ -f "$p" ] || exit 4
exec cat -- "$p"`;

/** Writes stdin to "$1/$2" when it resolves inside "$1": exit 3 outside, 4 a directory. */
export const WRITE_SCRIPT = `p=$(realpath -m -- "$1/$2") || exit 2
case "$p" in "$1"/*) ;; *) exit 3 ;; esac
[ -d "$p" ] && exit 4
mkdir -p -- "$(dirname -- "$p")" || exit 5
exec cat > "$p"`;

/** cd into a sub-directory before the command: a missing cwd is then the command's failure, not ours. */
export const CD_SCRIPT = 'cd -- "$1" || exit 2; shift; exec "$@"';


/** What READ_SCRIPT/WRITE_SCRIPT runs return, in either backend. */
export type FileRun = Pick<RawResult, 'exitCode' | 'signal' | 'stdout' | 'stderr' | 'killed' | 'truncated'>;

/** The file READ_SCRIPT printed, or the typed error its exit code stands for. */
export function readResult(rel: string, r: FileRun): Buffer {
  if (r.exitCode === 0 && !r.truncated && r.killed === null) return r.stdout;
  if (r.exitCode === 2) throw Object.assign(new Error(`ENOENT: no such file in sandbox: ${rel}`), { code: 'ENOENT' });
  if (r.exitCode === 3) throw new SandboxPathError(`readFile: ${rel} resolves outside the work directory`);
  if (r.exitCode === 4) throw Object.assign(new Error(`not a regular file in sandbox: ${rel}`), { code: 'EISDIR' });
  throw new SandboxError(`readFile ${rel} failed (exit ${r.exitCode ?? r.signal}, killed ${r.killed}, truncated ${r.truncated}): ${r.stderr.toString('utf8').trim()}`);
}

/** Nothing when WRITE_SCRIPT wrote the file, else the typed error its exit code stands for. */
export function writeResult(rel: string, r: FileRun): void {
  if (r.exitCode === 0 && r.killed === null) return;
  if (r.exitCode === 3) throw new SandboxPathError(`writeFile: ${rel} resolves outside the work directory`);
  if (r.exitCode === 4) throw Object.assign(new Error(`is a directory in sandbox: ${rel}`), { code: 'EISDIR' });
  throw new SandboxError(`writeFile ${rel} failed (exit ${r.exitCode ?? r.signal}, killed ${r.killed}): ${r.stderr.toString('utf8').trim()}`);
}
