import { sha256 } from '../store/store.js';
import type { TestRun } from './testrun.js';

/** The limits a run had: its wall-clock limit and, where given, its CPU-time limit. */
export interface RunLimits { ms: number; cpuMs?: number }

interface Entry { run: TestRun; limits: RunLimits }

/**
 * Whether a run made under `had` answers for one under `want`: a run stopped by a time limit, only under a limit no
 * longer than the one it ran out; a run that ended, only where it ended within the new limits too. Any other stop
 * (memory, pids, output, disk) is the code's own: the sandbox and its limits are the same for every run that shares
 * the cache.
 */
export function reusable(e: Entry, want: RunLimits): boolean {
  const { run, limits: had } = e;
  if (run.killed === 'timeout') return want.ms <= had.ms;
  if (run.killed === 'cpu') return want.cpuMs !== undefined && had.cpuMs !== undefined && want.cpuMs <= had.cpuMs;
  if (run.killed === null) return run.durationMs <= want.ms && (want.cpuMs === undefined || run.cpuMs === undefined || run.cpuMs <= want.cpuMs);
  return true;
}

/**
 * The test runs of a repository's bug states (a candidate bug, with its weakening, with a file reverted), shared by
 * the injector and the checks of one worker process (config `bugStateRunCache`): the same state run again under the
 * same test script gives the same results where the suite is deterministic, so a run that ended, or was stopped by
 * a limit no longer than the one asked, answers for it. Campaigns with one seed (the learning bench's modes) inject
 * the same bugs until their policies differ, and check them alike. A run in progress is shared too: two campaigns
 * at the same step do not run it twice. Logs are kept (the checks store them), so the cache is bounded by their size.
 */
export class StateRunCache {
  private readonly done = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Entry>>();
  private logBytes = 0;
  constructor(private readonly maxEntries = 1000, private readonly maxLogBytes = 256 * 1024 * 1024) {}

  /** The key of a tree state and the script run on it: any strings that name them, in a fixed order. */
  static key(...parts: string[]): string {
    return sha256(parts.join('\0'));
  }

  /** The run of the state `key` under `limits`: from the cache, from a run in progress, or from `exec`. */
  async run(key: string, limits: RunLimits, exec: () => Promise<TestRun>): Promise<{ run: TestRun; cached: boolean }> {
    const hit = this.done.get(key);
    if (hit && reusable(hit, limits)) return { run: hit.run, cached: true };
    const inFlight = this.pending.get(key);
    if (inFlight) {
      const e = await inFlight.catch(() => null);
      if (e && reusable(e, limits)) return { run: e.run, cached: true };
    }
    const p = exec().then((run) => ({ run, limits }));
    this.pending.set(key, p);
    try {
      const e = await p;
      this.remember(key, e);
      return { run: e.run, cached: false };
    } finally {
      if (this.pending.get(key) === p) this.pending.delete(key);
    }
  }

  private remember(key: string, e: Entry): void {
    const old = this.done.get(key);
    if (old) { this.logBytes -= old.run.log.length; this.done.delete(key); }
    this.done.set(key, e);
    this.logBytes += e.run.log.length;
    while (this.done.size > this.maxEntries || (this.logBytes > this.maxLogBytes && this.done.size > 1)) {
      const [k, v] = this.done.entries().next().value!;
      this.done.delete(k);
      this.logBytes -= v.run.log.length;
    }
  }
}
