import type { TestRun } from './testrun.js';

/**
 * The CPU-time limit of the runs of candidate bugs' states (config `bugStateCpuLimit`): the injector's runs of its
 * candidates and weakenings, the checks' runs of the bug, the weakened tests and each reverted file. A bug that makes
 * the suite hang (a loop that never ends) would cost the whole run limit at each of them.
 *
 * Calibrated on the runs of bug states that ended on the repository, never on the original's: a changed file is
 * built again (Go, Rust, Java), which a run of the original over warm caches never shows, so a limit from the
 * original's CPU time would stop a build and take every candidate for a crash. Until some run of a bug state has ended
 * there is no limit but the run's own. The highest CPU time seen is the base, so one slow build raises it for all.
 */
export class HangLimit {
  private observed = 0;
  constructor(private readonly lim: { factor: number; minSec: number }) {}

  /** The limit of the next run of a bug state, or undefined: none (no ended run seen yet, or `factor` 0). */
  limitMs(): number | undefined {
    if (this.lim.factor <= 0 || this.observed === 0) return undefined;
    return Math.max(this.lim.minSec * 1000, Math.ceil(this.lim.factor * this.observed));
  }

  /** A run of a bug state: one that ended (no limit stopped it) with its CPU time measured calibrates the limit. */
  observe(run: Pick<TestRun, 'killed' | 'cpuMs'>): void {
    if (run.killed === null && run.cpuMs !== undefined) this.observed = Math.max(this.observed, run.cpuMs);
  }
}
