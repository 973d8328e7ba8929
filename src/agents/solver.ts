/**
 * The embedded solver: it gets the buggy repository (no history, no original files) and, as its whole task,
 * the reverse of the test-weakening patch. It finds out how to run the tests, applies the task's test changes,
 * localises the code the failing tests use, and repairs by generate-and-validate search within a budget of
 * test runs. Every choice of what to try next comes from the policy.
 */
import { makeDiff } from '../repo/diffgen.js';
import { detectRunners, isTestFile, NoTestRunnerError, type Runner } from '../repo/runners/index.js';
import { applyDiff, PatchApplyError, type TestRun, type TestResults } from '../repo/testrun.js';
import { touchedPaths } from '../artifact/diff.js';
import type { Sandbox } from '../sandbox/types.js';
import type { Option, Policy, SearchRecord } from '../policy/policy.js';
import { applyEdits, findMutations, type Edit, type Mutation, type MutationKind } from './code/index.js';
import { clamp01, TestRunCache, TestRunCounter } from './common.js';
import { sha256 } from '../store/store.js';
import { localize, type SourceFile, type Suspect } from './localize.js';
import { traceDistance, tracedLines } from './traces.js';
import { changedLines, LineModel } from './naturalness.js';
import { coverageSupported, type Coverage } from './coverage.js';
import type { HangLimit } from '../repo/hangLimit.js';

const REMOVING = new Set<MutationKind>(['remove-statement', 'remove-branch', 'return-change']);

export type SolveStopReason = 'all-tests-pass' | 'budget-exhausted' | 'no-candidates' | 'no-failing-tests' | 'no-test-runner' | 'task-does-not-apply';

export interface SolveResult {
  /** The solver's patch against the buggy state (code files only). */
  patch: string;
  stop: SolveStopReason;
  /** What the solver itself observed; grading decides. */
  selfReportedPass: boolean;
  tried: string[];
  testRuns: number;
  testRunMs: number;
  /** The repair search as the trainer's expected gradient needs it (src/trainer/expected.ts); absent when no search ran. */
  search?: SearchRecord;
  /**
   * In memory only, for the activity's restoring options (src/trainer/expected.ts): what each option of `search` edits,
   * and the start (buggy) text of the files those edits are in.
   */
  repair?: { edits: { file: string; edit: Edit }[]; texts: Map<string, string> };
}

export interface SolverOptions {
  sandbox: Sandbox;
  /** Used only to learn how tests are run and which files are tests/code: the same in the buggy tree. */
  runnerHintDir: string;
  task: string;
  policy: Policy;
  budget: number;
  testTimeoutMs: number;
  /**
   * Limits of the probes after the first run (see `probeLimitMs`); without it, every run has testTimeoutMs.
   * `referenceFactor` applies to `referenceRunMs` (default: `factor`); `firstMinMs` (default: `minMs`) is the first
   * run's floor where `referenceRunMs` limits it. `cpu` (default true): where the first run's CPU time was measured,
   * the probes are limited by CPU time instead, and their wall-clock limit is `wallSlack` (default 3) times looser.
   */
  probeTimeout?: { factor: number; minMs: number; referenceFactor?: number; firstMinMs?: number; cpu?: boolean; wallSlack?: number };
  /**
   * How long the artifact's test script took on the original code (the checks' reference run), when known. With
   * `probeTimeout` it limits the first run too, and every probe where the first run itself was stopped: a bug that
   * makes the suite hang leaves no run of the buggy state to measure the probes by.
   */
  referenceRunMs?: number;
  /** The CPU time of that run, where the sandbox measured it: with `probeTimeout.cpu`, the same limits are CPU time. */
  referenceRunCpuMs?: number;
  /**
   * The CPU-time limit of runs of the repository's bug states (src/repo/hangLimit.ts): the attempt's first run is one
   * (the buggy state with the full tests), so, where calibrated, it limits that run, and an ended first run calibrates it.
   */
  hangLimit?: HangLimit;
  maxFiles?: number;
  /**
   * Reuse results of tree states this process has tested before, under `scope` (what identifies the starting
   * state: the artifact). For deterministic suites only; the budget is counted the same either way.
   */
  cache?: { runs: TestRunCache; scope: string };
  /** Score the options left again after an edit is kept (default); false keeps the first order throughout. */
  rerank?: boolean;
}

/** The fixed task statement of the method around the reversed weakening patch. */
export function taskStatement(reverseWeaken: string): string {
  return [
    'I am improving the test suite of the project with the following changes, but the current code does not pass the tests.',
    'Please fix the code. If any existing tests relevant to the functionality being changed are failing, please make sure',
    'your patch passes those tests as well.',
    '',
    '```diff',
    // Never trim: a diff's last line may be a blank context line (' '), which trimming would corrupt.
    reverseWeaken.endsWith('\n') ? reverseWeaken.slice(0, -1) : reverseWeaken,
    '```',
    '',
  ].join('\n');
}

/** The diff block of a task statement. */
export function taskDiff(statement: string): string {
  const m = /```diff\n([\s\S]*)\n```\n*$/.exec(statement);
  return m ? m[1] + '\n' : '';
}

export interface RepairCandidate { file: string; m: Mutation; sus: Suspect; option: Option }

/** The options of `cands` (in order) rescored for where the tests stand now (`repairCandidates`). */
export type Rescore = (results: TestResults) => Option[];

/** Lines (1-based) that characters `start`..`end` of `text` span. */
function lineSpan(text: string, start: number, end: number): [number, number] {
  let from = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < start; i = text.indexOf('\n', i + 1)) from++;
  let to = from;
  for (let i = text.indexOf('\n', start); i !== -1 && i < Math.max(start, end - 1); i = text.indexOf('\n', i + 1)) to++;
  return [from, to];
}

/**
 * What the solver may try, as the policy sees it: value-changing edits inside the functions the failing tests reach,
 * in the most suspicious code files, each an option of the 'solve.repair' decision. `first` is the test run at the
 * start state (its results localise, its log's traced lines are a feature); `cover`, when given, measures which lines
 * of the chosen files the failing tests executed (src/agents/coverage.ts), another feature.
 */
export async function repairCandidates(sb: Sandbox, testFiles: string[], first: TestRun, sourceFiles: string[], maxFiles = 8, cover?: (files: string[]) => Promise<Coverage | null>): Promise<{ top: SourceFile[]; cands: RepairCandidate[]; coverage: Coverage | null; rescore: Rescore }> {
  const { sources, suspects, suspectsFor } = await localize(sb, testFiles, first.results, sourceFiles);
  const byFile = new Map<string, number>();
  for (const sus of suspects.values()) for (const f of sus.files) byFile.set(f, Math.max(byFile.get(f) ?? 0, sus.ochiai));
  const top = sources.filter((f) => byFile.has(f.file)).sort((a, b) => byFile.get(b.file)! - byFile.get(a.file)!).slice(0, maxFiles);
  const found: { file: string; m: Mutation; sus: Suspect }[] = [];
  for (const f of top) {
    for (const m of await findMutations(f.lang, f.text)) {
      const sus = m.functionName ? suspects.get(m.functionName) : undefined;
      // Deleting code (or returning a zero value) never restores what a bug took away: only value-changing edits.
      if (sus && sus.files.includes(f.file) && !REMOVING.has(m.kind)) found.push({ file: f.file, m, sus });
    }
  }
  // Relative suspiciousness, sharpened: the raw coefficients of one bug sit close together.
  const suspicion = (sus: Suspect | undefined, maxSus: number) => [
    sus ? (sus.ochiai / maxSus) ** 4 : 0, sus?.distance === 1 ? 1 : 0, sus?.distance === 2 ? 1 : 0,
  ];
  const maxSus = Math.max(...found.map((c) => c.sus.ochiai), 1e-9);
  const traced = tracedLines(first.log, top.map((f) => f.file));
  // The edited files first: in a repository past the model's size cap, they are the ones that must be in it.
  const model = new LineModel([...top, ...sources.filter((f) => !top.includes(f))].map((f) => f.text));
  const textOf = new Map(top.map((f) => [f.file, f.text]));
  const coverage = found.length && cover ? await cover(top.map((f) => f.file)) : null;
  const spans = found.map(({ file, m }) => lineSpan(textOf.get(file)!, m.edit.start, m.edit.end));
  const lineOchiai = found.map(({ file }, i) => coverage?.ochiai(file, ...spans[i]) ?? 0);
  const maxLine = Math.max(...lineOchiai, 1e-9);
  const cands = found.map(({ file, m, sus }, i) => {
    const ran = coverage?.executed(file, ...spans[i]) ?? null;
    const near = traceDistance(traced, file, m.line);
    let dLogP = 0, dCopies = 0;
    for (const l of changedLines(textOf.get(file)!, applyEdits(textOf.get(file)!, [m.edit]))) {
      const [p, c] = model.editGain(l.before, l.after);
      dLogP += p;
      dCopies += c;
    }
    const option: Option = {
      key: `${m.kind} ${m.variant}`,
      features: [
        ...suspicion(sus, maxSus), clamp01(m.depth / 20),
        // Where the failing run went (src/agents/traces.ts): on or next to a traced line, and how close within its file.
        near <= 2 ? 1 : 0, Number.isFinite(near) ? Math.exp(-near / 15) : 0,
        // Whether the edit makes its line read more like the rest of the code (src/agents/naturalness.ts).
        Math.tanh(dLogP / 4), Math.tanh(dCopies),
        // Whether the failing tests ran the edited lines: yes, no, or (both 0) coverage cannot say for this language;
        // and the lines' own Ochiai score over the failing and passing tests that ran them (src/agents/coverage.ts),
        // relative and sharpened as the function's is.
        ran === true ? 1 : 0, ran === false ? 1 : 0, (lineOchiai[i] / maxLine) ** 4,
      ],
    };
    return { file, m, sus, option };
  });
  // Only the suspicion features change with the results: the rest describe the edit, the first run's traces and the
  // coverage of the tests that failed at the start.
  const rescore: Rescore = (results) => {
    const now = suspectsFor(results);
    const at = found.map(({ file, m }) => { const x = m.functionName ? now.get(m.functionName) : undefined; return x?.files.includes(file) ? x : undefined; });
    const max = Math.max(...at.map((x) => x?.ochiai ?? 0), 1e-9);
    return cands.map((c, i) => ({ key: c.option.key, features: [...suspicion(at[i], max), ...c.option.features!.slice(3)] }));
  };
  return { top, cands, coverage, rescore };
}

/**
 * The coverage measurement `repairCandidates` takes, as the solver runs it: only the files that hold failing tests
 * run again, with coverage on (one run of the budget); undefined where nothing fails or the runner cannot be measured.
 */
export function failingCoverageOf(counter: TestRunCounter, sb: Sandbox, runner: Runner, testFiles: string[], first: TestRun, stateKey?: string): ((files: string[]) => Promise<Coverage | null>) | undefined {
  const failing = Object.keys(first.results).filter((k) => first.results[k] === 'failed');
  // A first run stopped by its limit had a test that did not end: tracing the same failing tests would hang as well,
  // and a killed coverage run gives nothing, so the run is not spent.
  if (!failing.length || !coverageSupported(runner) || first.killed !== null) return undefined;
  const failingFiles = testFiles.filter((f) => failing.some((id) => id === f || id.startsWith(`${f}::`)));
  return (files) => counter.coverage(sb, runner, failingFiles.length ? failingFiles : testFiles, failing, files, first, stateKey);
}

/**
 * The time limit of a repair probe: a multiple of what a run that ended took (the attempt's first run, the same tests
 * on the buggy state; or the original code's run where that one did not end), with a floor for suites that start
 * slowly under load. A candidate edit that makes the suite hang is then given up on in seconds instead of
 * testTimeoutMs; a killed probe reads as failing tests, so the search drops it.
 */
export function probeLimitMs(endedRunMs: number, limit: { factor: number; minMs: number }): number {
  return Math.max(limit.minMs, Math.ceil(limit.factor * endedRunMs));
}

export async function solve(o: SolverOptions): Promise<SolveResult> {
  const sb = o.sandbox;
  const counter = new TestRunCounter(o.testTimeoutMs, o.cache?.runs ?? null);
  // The solver's tree is the starting state plus the files it changed: naming those names the state exactly.
  const stateKey = (changed: [string, string][]) =>
    o.cache ? `${o.cache.scope}\0${changed.sort(([a], [b]) => a.localeCompare(b)).map(([f, t]) => `${f}:${sha256(t)}`).join(',')}` : undefined;
  const tried: string[] = [];
  let search: SearchRecord | undefined;
  let repair: SolveResult['repair'];
  const done = (stop: SolveStopReason, patch = '', pass = false): SolveResult =>
    ({ patch, stop, selfReportedPass: pass, tried, testRuns: counter.runs, testRunMs: counter.ms, ...(search ? { search } : {}), ...(repair ? { repair } : {}) });

  let runner: Runner;
  try {
    runner = (await detectRunners(o.runnerHintDir))[0];
  } catch (e) {
    if (e instanceof NoTestRunnerError) return done('no-test-runner');
    throw e;
  }
  const diff = taskDiff(o.task);
  try {
    await applyDiff(sb, diff, 'the task diff');
  } catch (e) {
    if (e instanceof PatchApplyError) return done('task-does-not-apply');
    throw e;
  }
  const testFiles = touchedPaths(diff).filter((p) => runner.testFiles.includes(p) || isTestFile(p));
  const failingOf = (r: TestRun) => Object.keys(r.results).filter((k) => r.results[k] === 'failed');
  const pt = o.probeTimeout;
  // CPU time is what a run costs whatever runs beside it: on a loaded machine, a probe that ends in a second idle
  // would pass a wall-clock limit of a few seconds and read as a hang (failing tests), so what the search found
  // would depend on the load. The wall-clock limit stays, `wallSlack` times looser, for a run that waits without
  // computing.
  const byCpu = pt !== undefined && pt.cpu !== false;
  const slack = pt?.wallSlack ?? 3;
  const limitBy = (l: { wall: number; cpu?: number }): void => (l.cpu !== undefined ? counter.limitTo(l.wall * slack, l.cpu) : counter.limitTo(l.wall));
  // The buggy state may hang (a loop that no longer ends): the original's run says how long an ending one takes.
  const byReference = pt && o.referenceRunMs !== undefined
    ? (minMs: number): { wall: number; cpu?: number } => {
      const limit = { minMs, factor: pt.referenceFactor ?? pt.factor };
      return { wall: probeLimitMs(o.referenceRunMs!, limit), ...(byCpu && o.referenceRunCpuMs !== undefined ? { cpu: probeLimitMs(o.referenceRunCpuMs, limit) } : {}) };
    }
    : null;
  // A first run stopped by its limit makes the search take the state for one that hangs (no coverage run, other
  // options), so a load that slows a run that ends must not stop it: its floor is higher than the probes'. Where the
  // repository's bug states have a calibrated hang limit, that one: it was measured on runs that rebuild a changed
  // file, which the original's run over warm caches never shows.
  const hang = byCpu ? o.hangLimit?.limitMs() : undefined;
  const firstRef = byReference?.(Math.max(pt?.minMs ?? 0, pt?.firstMinMs ?? 0));
  if (firstRef) limitBy({ wall: firstRef.wall, cpu: hang ?? firstRef.cpu });
  else if (hang !== undefined) counter.limitTo(o.testTimeoutMs, hang);
  // Its log is read (the traced lines), so a cached start state keeps it.
  const first = await counter.run(sb, runner, testFiles, stateKey([]), true);
  o.hangLimit?.observe(first);
  if (pt && first.killed === null) {
    limitBy({ wall: probeLimitMs(first.durationMs, pt), ...(byCpu && first.cpuMs !== undefined ? { cpu: probeLimitMs(first.cpuMs, pt) } : {}) });
  } else if (byReference) limitBy(byReference(pt!.minMs));
  const failing = failingOf(first);
  if (failing.length === 0 && Object.keys(first.results).length > 0) return done('no-failing-tests');

  const cover = failingCoverageOf(counter, sb, runner, testFiles, first, stateKey([]));
  // Reading and parsing every code file of the start state is the same work for each attempt at a bug (and, in an
  // evaluation, for each version): with a cache, once. The first run's results and log are part of the key (its
  // traced lines are a feature), so a start state that ran again and read otherwise is not confused with the first.
  const start = stateKey([]);
  const candidatesKey = start === undefined ? undefined : `${start}\0${testFiles.join(',')}\0${o.maxFiles ?? ''}\0${JSON.stringify(first.results)}\0${sha256(first.log)}`;
  const { top, cands, rescore } = await counter.candidates(candidatesKey, () => repairCandidates(sb, testFiles, first, runner.sourceFiles, o.maxFiles, cover), (c) => !cover || c.cands.length === 0 || c.coverage !== null);
  if (cands.length === 0) return done('no-candidates');
  let ranking = await o.policy.rank('solve.repair', cands.map((c) => c.option));

  // Hill-climbing over single edits: keep an edit when it makes some failing test pass without breaking others.
  const current = new Map(top.map((f) => [f.file, f.text]));
  const changedWith = (file: string, text: string): [string, string][] =>
    top.map((f): [string, string] => [f.file, f.file === file ? text : current.get(f.file)!]).filter(([f, t]) => t !== top.find((x) => x.file === f)!.text);
  const applied = new Map<string, Mutation[]>();
  // An edit that overlaps a kept one cannot be applied on top of it: it is no longer an option.
  const applicable = (i: number) => !(applied.get(cands[i].file) ?? []).some((a) => a.edit.start < cands[i].m.edit.end && cands[i].m.edit.start < a.edit.end);
  let stillFailing = new Set(failing);
  search = { options: cands.map((c) => c.option), picks: [], kept: [], maxPicks: Math.max(0, o.budget - counter.runs) };
  repair = { edits: cands.map((c) => ({ file: c.file, edit: c.m.edit })), texts: new Map(top.map((f) => [f.file, f.text])) };
  // What each file holds in the sandbox now: a probe served from the cache needs no file written, and a rejected
  // edit is undone by the next probe's writes, so files are brought up to date only before a real run (each write
  // is a process in the sandbox).
  const onDisk = new Map(top.map((f) => [f.file, f.text]));
  const syncTo = (want: Map<string, string>) => async () => {
    for (const [f, t] of want) if (onDisk.get(f) !== t) { await sb.writeFile(f, t); onDisk.set(f, t); }
  };
  // Options tried and dropped since the last kept edit: once an edit is kept the tree is another, and an option
  // that did nothing alone (its line's test also needed the edit just kept) may complete the repair now.
  const rejected = new Set<number>();
  while (counter.runs < o.budget) {
    const idx = ranking.next((i) => applicable(i) && !rejected.has(i) && !search!.kept.includes(i));
    if (idx === undefined) break;
    search.picks.push(idx);
    const { file, m } = cands[idx];
    const edits = [...(applied.get(file) ?? []), m].map((x) => x.edit);
    const text = applyEdits(top.find((f) => f.file === file)!.text, edits);
    const run = await counter.run(sb, runner, testFiles, stateKey(changedWith(file, text)), false, syncTo(new Map([...current, [file, text]])));
    const now = new Set(failingOf(run));
    const better = [...stillFailing].filter((t) => !now.has(t) && run.results[t] === 'passed').length;
    const worse = [...now].filter((t) => !stillFailing.has(t)).length;
    tried.push(`${m.description} in ${file}: ${run.killed ? `stopped (${run.killed}) after ${(run.durationMs / 1000).toFixed(1)} s, ` : ''}${now.size} failing`);
    if (better > 0 && worse === 0) {
      search.kept.push(idx);
      applied.set(file, [...(applied.get(file) ?? []), m]);
      current.set(file, text);
      stillFailing = now;
      if (now.size === 0 && Object.keys(run.results).length > 0) break;
      // Part of the bug is repaired: the tests still failing point at what is left (the ones this edit fixed no
      // longer point at its function), so the options left are scored again for them.
      if (o.rerank !== false) {
        ranking = await o.policy.rank('solve.repair', rescore(run.results));
        rejected.clear();
      }
    } else {
      rejected.add(idx);
    }
  }
  const changes = top.filter((f) => current.get(f.file) !== f.text).map((f) => ({ path: f.file, before: f.text, after: current.get(f.file)! }));
  const patch = await makeDiff(changes);
  if (stillFailing.size === 0) return done('all-tests-pass', patch, true);
  return done(counter.runs >= o.budget ? 'budget-exhausted' : 'no-candidates', patch, false);
}
