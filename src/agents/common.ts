import { shQuote } from '../sandbox/shell.js';
import { sha256 } from '../store/store.js';
import type { Runner } from '../repo/runners/index.js';
import type { Sandbox, SandboxProvider } from '../sandbox/types.js';
import { runTestScript, type TestResults, type TestRun } from '../repo/testrun.js';
import { reusable, type RunLimits } from '../repo/stateRuns.js';
import { failingCoverage, type Coverage } from './coverage.js';

/** The file part of a test id (`<file>::<name>`). */
export const testFileOf = (id: string): string => id.split('::')[0];

/** The test's own name as a parser of test definitions knows it: no file, no parameters, no subtests. */
export function testNameOf(id: string): string {
  const name = id.split('::').slice(1).join('::');
  return name.replace(/\[.*\]$/, '').replace(/^(Test\w+)\/.*$/, '$1');
}

export function byFile(results: TestResults): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const id of Object.keys(results)) {
    const f = testFileOf(id);
    (m.get(f) ?? m.set(f, []).get(f)!).push(id);
  }
  return m;
}

/**
 * Results of test runs by the exact state they ran on, for suites known to be deterministic: an agent that names
 * the state it is in (`stateKey`) gets a repeated state's results without running the suite again. Bounded, and
 * without logs but those of start states: it holds what a search decides on, not evidence.
 *
 * A run stopped by a limit is kept too: a state whose suite hangs (an edit that makes a loop endless) or eats all
 * memory does so every time, and ran its whole limit each time a search met it again. A run stopped by a time limit
 * is reused only under a limit no longer than the one it ran out (`limitMs`, `cpuLimitMs` for a CPU-time one): a run
 * that did not end in 10 s says nothing about 20 s. (A wall-clock timeout also depends on the load.) One that ended
 * is reused only under limits it ended within.
 */
export class TestRunCache {
  private readonly runs = new Map<string, { run: TestRun; limits: RunLimits }>();
  /** Coverage runs of start states (src/agents/coverage.ts), by the same kind of key. */
  readonly coverage = new Map<string, Coverage>();
  /**
   * A start state's repair options, by its key and what its first run said: the solver's own type, which it alone
   * stores and reads (`TestRunCounter.candidates`); unknown here, where the solver's types cannot be imported.
   */
  readonly candidates = new Map<string, unknown>();
  constructor(private readonly maxEntries = 20_000) {}
  /**
   * The run of `key` where it answers for one under these limits (the bug states' rule, `reusable`): a run that ended
   * only where it ended within them too, or a probe's outcome would depend on whether an attempt with a looser limit
   * ran the state first.
   */
  get(key: string, limitMs = Infinity, cpuLimitMs?: number): TestRun | undefined {
    const e = this.runs.get(key);
    return e && reusable(e, { ms: limitMs, cpuMs: cpuLimitMs }) ? e.run : undefined;
  }
  /**
   * Runs in progress, by key: two attempts at one bug state (the modes of a learning bench's seed solve the same bugs
   * with the same solver until their policies differ, at the same time) wait for one run instead of making two.
   */
  private readonly pending = new Map<string, Promise<{ run: TestRun; limits: RunLimits }>>();
  /** The run of `key` in progress, once it ends, where it answers for one under these limits (as `get`). */
  async inProgress(key: string, limitMs = Infinity, cpuLimitMs?: number): Promise<TestRun | undefined> {
    const e = await this.pending.get(key)?.catch(() => null);
    return e && reusable(e, { ms: limitMs, cpuMs: cpuLimitMs }) ? e.run : undefined;
  }
  /** Marks `key` as running under these limits until `run` settles, and keeps its run (as `set`) when it ends. */
  running(key: string, run: Promise<TestRun>, keepLog = false, limitMs = Infinity, cpuLimitMs?: number): void {
    const p = run.then((r) => {
      this.set(key, r, keepLog, limitMs, cpuLimitMs);
      return { run: r, limits: { ms: limitMs, cpuMs: cpuLimitMs } };
    });
    this.pending.set(key, p);
    const done = () => { if (this.pending.get(key) === p) this.pending.delete(key); };
    p.then(done, done);
  }
  /** `keepLog`: for the few runs whose log an agent reads (the first run at a task's start state), not every probe. */
  set(key: string, r: TestRun, keepLog = false, limitMs = Infinity, cpuLimitMs?: number): void {
    if (this.runs.size >= this.maxEntries) this.runs.delete(this.runs.keys().next().value!);
    this.runs.set(key, { run: { ...r, log: keepLog ? r.log : '' }, limits: { ms: limitMs, cpuMs: cpuLimitMs } });
  }
}

/**
 * Runs a runner's script for some test files in a sandbox; counts the runs and the time spent in them. A run served
 * from the cache still counts as a run (an agent's budget is a number of test runs, cached or not) but costs no time.
 */
export class TestRunCounter {
  runs = 0;
  ms = 0;
  /** The last run counted, served from a cache or not: the evidence of whatever the runs decided last. */
  lastRun: TestRun | null = null;
  private timeoutMs: number;
  private cpuTimeoutMs: number | undefined;
  constructor(private readonly maxTimeoutMs: number, private readonly cache: TestRunCache | null = null) {
    this.timeoutMs = maxTimeoutMs;
  }

  /**
   * Sets the limits of the test runs to come (src/agents/solver.ts, probeLimitMs): wall clock, never above the one it
   * was made with, and CPU time where given (none otherwise), which applies where the sandbox measures it.
   */
  limitTo(ms: number, cpuMs?: number): void {
    this.timeoutMs = Math.min(this.maxTimeoutMs, ms);
    this.cpuTimeoutMs = cpuMs;
  }
  /** `prepare`: brings the sandbox to the state named, called only where the run is not served from the cache. */
  async run(sb: Sandbox, runner: Runner, files: string[], stateKey?: string, keepLog = false, prepare?: () => Promise<void>): Promise<TestRun> {
    const script = runner.script(files), parser = runner.parser();
    const key = this.cache && stateKey !== undefined ? sha256(`${stateKey}\0${script}\0${parser}`) : null;
    const hit = key ? this.cache!.get(key, this.timeoutMs, this.cpuTimeoutMs) ?? await this.cache!.inProgress(key, this.timeoutMs, this.cpuTimeoutMs) : undefined;
    this.runs++;
    if (hit) return (this.lastRun = hit);
    // Marked as running before anything is awaited: a second attempt at the state waits for this one.
    const running = (async () => { await prepare?.(); return runTestScript(sb, script, parser, this.timeoutMs, this.cpuTimeoutMs); })();
    // A kill by a limit other than time (memory, pids, output, disk) is the code's; the sandbox and its limits are
    // the same for every run that shares the cache.
    if (key) this.cache!.running(key, running, keepLog, this.timeoutMs, this.cpuTimeoutMs);
    const r = await running;
    this.ms += r.durationMs;
    return (this.lastRun = r);
  }

  /**
   * The failing tests' line coverage at a start state, counted as one run like any other: it is one more run of the
   * suite. Null when the run gave nothing readable; the solver then goes on without it.
   */
  async coverage(sb: Sandbox, runner: Runner, files: string[], failing: string[], codeFiles: string[], first: TestRun, stateKey?: string): Promise<Coverage | null> {
    const key = this.cache && stateKey !== undefined ? sha256(`coverage\0${stateKey}\0${runner.script(files)}\0${failing.join(',')}\0${codeFiles.join(',')}`) : null;
    const hit = key ? this.cache!.coverage.get(key) : undefined;
    this.runs++;
    if (hit) return hit;
    // Tracing slows a suite down (Python's settrace most, a few times over): a multiple of what the plain run of the
    // same state took, so that a suite too slow to trace costs a bounded time and the solver goes on without.
    const r = await failingCoverage(sb, runner, files, failing, codeFiles, Math.min(2 * this.maxTimeoutMs, Math.max(60_000, 6 * first.durationMs)));
    this.ms += r.durationMs;
    if (key && r.coverage) {
      if (this.cache!.coverage.size >= 1000) this.cache!.coverage.delete(this.cache!.coverage.keys().next().value!);
      this.cache!.coverage.set(key, r.coverage);
    }
    return r.coverage;
  }

  /**
   * A start state's repair options, computed once per cache (`compute` reads the tree and parses every code file).
   * The runs computing them took (the coverage run) count again on reuse, as a cached run does. `keep`: whether a
   * result may be reused (one computed without the coverage it asked for is not: that run may succeed next time).
   */
  async candidates<T>(key: string | undefined, compute: () => Promise<T>, keep: (v: T) => boolean = () => true): Promise<T> {
    if (!this.cache || key === undefined) return compute();
    const k = sha256(`candidates\0${key}`);
    const hit = this.cache.candidates.get(k) as { value: T; runs: number } | undefined;
    if (hit) {
      this.runs += hit.runs;
      return hit.value;
    }
    const before = this.runs;
    const value = await compute();
    if (!keep(value)) return value;
    if (this.cache.candidates.size >= 1000) this.cache.candidates.delete(this.cache.candidates.keys().next().value!);
    this.cache.candidates.set(k, { value, runs: this.runs - before });
    return value;
  }
}

/** A fresh sandbox over a base tree with some files replaced (null content deletes the file). */
export async function sandboxWith(provider: SandboxProvider, from: Parameters<SandboxProvider['create']>[0], files: Map<string, string | null>): Promise<Sandbox> {
  const sb = await provider.create(from);
  try {
    for (const [rel, text] of files) {
      if (text === null) await sb.exec(`rm -f -- ${shQuote(rel)}`);
      else await sb.writeFile(rel, text);
    }
    return sb;
  } catch (e) {
    await sb.dispose();
    throw e;
  }
}

export const clamp01 = (x: number) => Math.max(0, Math.min(1, x));
