/**
 * The disk side of the limits, shared by both backends. Two guards, because each misses what the other catches:
 *  - RLIMIT_FSIZE on every command: one file cannot grow past `maxFileBytes` (the writer gets SIGXFSZ, or EFBIG
 *    where it ignores the signal, as CPython does);
 *  - a watchdog polling statfs of the filesystem that holds the sandbox's writable layer while the command runs:
 *    many files, each under the cap, that together eat the host's disk stop at a free-space floor.
 * statfs is O(1) whatever the tree holds; walking the tree (du) per poll would cost more than the commands.
 */
import { readdir, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import type { KillReason } from './types.js';

const GiB = 1024 ** 3;
/** Often enough that a writer at disk speed overshoots the floor by well under the floor's own 1 GiB. */
export const DISK_POLL_MS = 250;
/** What a command may still write once the host is below the floor already. */
export const DISK_SLACK_BYTES = 64 * 1024 ** 2;

/** Exit status of a command killed by SIGXFSZ, as a shell (or bwrap's pid-1 reaper) reports it: 128 + 25. */
const XFSZ_EXIT = 128 + (os.constants.signals.SIGXFSZ ?? 25);

export interface DiskWatch {
  /** A path on the filesystem that fills when the command writes (the sandbox's own directory, Docker's data root). */
  path: string;
  /** The floor, in bytes; 0 for the default max(1 GiB, 5%). */
  minFreeBytes: number;
}

export function diskFloor(totalBytes: number, minFreeBytes: number): number {
  return minFreeBytes > 0 ? minFreeBytes : Math.max(GiB, Math.floor(totalBytes * 0.05));
}

/** Free space for unprivileged writers and the floor that applies to it; null when the path cannot be read. */
export async function diskState(w: DiskWatch): Promise<{ free: number; floor: number } | null> {
  try {
    const s = await statfs(w.path);
    return { free: s.bavail * s.bsize, floor: diskFloor(s.blocks * s.bsize, w.minFreeBytes) };
  } catch {
    return null;
  }
}

/**
 * Polls free space until stopped; calls `onLow` once when it drops below the floor. A path that cannot be read
 * (the sandbox is being removed) ends the watch: no verdict is better than a wrong one.
 */
export function watchDisk(w: DiskWatch, onLow: () => void): () => void {
  let stopped = false;
  let busy = false;
  // Free space when the command started: a host already below the floor must not turn every command into a
  // disk kill, so the watch fires only once the command (or what runs beside it) has also eaten DISK_SLACK_BYTES.
  let startFree: number | null = null;
  const timer = setInterval(() => {
    if (busy || stopped) return;
    busy = true;
    void diskState(w).then((s) => {
      busy = false;
      if (stopped) return;
      if (s === null) { stop(); return; }
      startFree ??= s.free;
      if (s.free < s.floor && (startFree >= s.floor || startFree - s.free >= DISK_SLACK_BYTES)) { stop(); onLow(); }
    });
  }, DISK_POLL_MS);
  void diskState(w).then((s) => { if (s && startFree === null) startFree = s.free; });
  const stop = (): void => { stopped = true; clearInterval(timer); };
  return stop;
}

/**
 * The kill reason a finished command earned by its own exit: death by SIGXFSZ (directly, or as 128+25 from a
 * shell or reaper in between) means a file hit `maxFileBytes`. A command that ignores the signal gets EFBIG
 * instead and fails in its own way; its host was protected all the same.
 */
export function fileSizeKill(exitCode: number | null, signal: string | null): KillReason | null {
  return signal === 'SIGXFSZ' || exitCode === XFSZ_EXIT ? 'disk' : null;
}

/**
 * Whether an exit that reads as a death by SIGXFSZ was one: 128+25 is also an exit status any script may choose
 * (`exit 153`), so without the signal itself it counts only when some file the command could write has reached the
 * limit, which RLIMIT_FSIZE leaves at exactly the limit. A tree too large to walk keeps the limit's reading.
 */
export async function fileAtLimit(dirs: string[], limitBytes: number, maxEntries = 200_000): Promise<boolean> {
  const stack = [...dirs];
  let seen = 0;
  while (stack.length) {
    const dir = stack.pop()!;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (++seen > maxEntries) return true;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) {
        try {
          if ((await stat(p)).size >= limitBytes) return true;
        } catch { /* gone since: not the one */ }
      }
    }
  }
  return false;
}

/** RLIMIT_FSIZE in bytes for prlimit/ulimit; at least one page, so a command can still write small files. */
export function fsizeLimit(maxFileBytes: number): number {
  return Math.max(4096, Math.floor(maxFileBytes));
}
