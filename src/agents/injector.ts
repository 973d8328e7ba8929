/**
 * The embedded injector: explores a naked repository, injects a bug with one of the method's strategies,
 * hides it by weakening exactly the tests that expose it, and writes the five-file artifact. Written for any
 * repository: it discovers the test runner, reads code with real parsers, and decides with the policy.
 */
import { sha256 } from '../store/store.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Artifact } from '../artifact/artifact.js';
import type { Strategy } from '../config/schema.js';
import { makeDiff, type FileChange } from '../repo/diffgen.js';
import { detectRunners, isTestFile, NoTestRunnerError, type Runner, type RunnerName } from '../repo/runners/index.js';
import { passed, type TestResults, type TestRun } from '../repo/testrun.js';
import type { HangLimit } from '../repo/hangLimit.js';
import { StateRunCache } from '../repo/stateRuns.js';
import type { SandboxProvider } from '../sandbox/types.js';
import type { Policy } from '../policy/policy.js';
import {
  addsSyntaxErrors, applyEdits, findMutations, findRemovals, findTests, langOfPath, referencedNames, removalEdits, sitesForTest, testCodeRanges, type Edit, type Lang, type Mutation, type MutationKind, type Removal, type TestSite,
  pyClassTests, pyImportedBases,
} from './code/index.js';
import { byFile, clamp01, sandboxWith, testFileOf, testNameOf, TestRunCounter } from './common.js';
import { historyCandidates, revertCommit } from './history.js';
import { pythonReachable } from './code/pyreach.js';
import { jsReachable } from './code/jsreach.js';
import { goReachable } from './code/goreach.js';
import { JS_EXT } from '../repo/runners/test-files.js';
import { buildErrorLines, buildErrors, type BuildError } from '../repo/runners/builderrors.js';
import type { Language } from '../repo/runners/types.js';
import { sameCode } from './code/sameCode.js';
import { dropOrphanedGoImports } from './code/gousage.js';
import { cfgOffRanges, rustCfgEnvFor } from './code/cfgoff.js';

export type InjectFailureCode = 'no-test-runner' | 'no-passing-tests' | 'no-bug-found' | 'no-code-files';

/**
 * A candidate dropped after its test runs: `attempt`, its line in `attempts` (why); `bug`, its bug_inject diff; `log`,
 * the end of the last run that judged it (up to REJECTED_LOG_BYTES). An operator asking why a repository gave no bug
 * reads the runs themselves, not only their verdict.
 */
export interface RejectedCandidate { attempt: number; bug: string; log: string | null }
const REJECTED_LOG_BYTES = 256 * 1024;

/** The last `bytes` of a log (characters, near enough for logs of ASCII), said to be cut where it is. */
function tail(log: string, bytes: number): string {
  return log.length <= bytes ? log : `[... the first ${log.length - bytes} characters left out]\n${log.slice(-bytes)}`;
}

export type InjectResult =
  | { ok: true; artifact: Artifact; strategy: Strategy; description: string; testRuns: number; testRunMs: number; attempts: string[]; rejected: RejectedCandidate[] }
  | { ok: false; code: InjectFailureCode; reason: string; strategy: Strategy | null; testRuns: number; testRunMs: number; attempts: string[]; rejected: RejectedCandidate[] };

export interface InjectorOptions {
  repoDir: string;
  provider: SandboxProvider;
  policy: Policy;
  strategies: Strategy[];
  minPassingTests: number;
  candidates: number;
  testTimeoutMs: number;
  /** Reference results of the full suite on the original, when known (reused per repository and commit). */
  /** `script`: the test script it ran (absent in references stored before it was kept). */
  reference?: { runner: string; results: TestResults; script?: string } | null;
  onReference?: (runner: string, results: TestResults, script: string) => Promise<void>;
  /** The CPU-time limit of the runs of candidate bugs, calibrated by those that end (src/repo/hangLimit.ts); absent: none. */
  hangLimit?: HangLimit;
  /**
   * Runs of the same candidate state under the same script, shared in the process (src/repo/stateRuns.ts); `scope`
   * names the repository's state (its RepoInfo key). Only for deterministic suites (config `bugStateRunCache`).
   */
  runs?: { cache: StateRunCache; scope: string };
  log?: (msg: string) => void;
  /**
   * Bugs that must never be injected, as sha256 of their bug_inject.diff (a held-out set's `bugHash`es, bugHashOf in
   * src/eval/heldout.ts): training must never see the bugs its evaluation measures, and the injector's own
   * candidates can land on the same site.
   */
  excludeBugs?: ReadonlySet<string>;
  /** Check 4's least number of changed code files (config minChangedFiles; default 1): a bug is never trimmed below it. */
  minChangedFiles?: number;
}

/**
 * A run of a candidate bug's state (the original with `changes`: the bug, and its weakening where given), in a fresh
 * sandbox, under the hang limit where there is one.
 */
async function bugStateRun(o: InjectorOptions, counter: TestRunCounter, runner: Runner, changes: Map<string, string | null>, files: string[]): Promise<TestRun> {
  const limits = { ms: o.testTimeoutMs, cpuMs: o.hangLimit?.limitMs() };
  counter.limitTo(limits.ms, limits.cpuMs);
  const exec = async (): Promise<TestRun> => {
    const sb = await sandboxWith(o.provider, { base: o.repoDir }, changes);
    try { return await counter.run(sb, runner, files); } finally { await sb.dispose(); }
  };
  let run: TestRun;
  if (o.runs) {
    const state = [...changes].sort(([a], [b]) => a.localeCompare(b)).map(([p, t]) => `${p}\0${t === null ? 'deleted' : sha256(t)}`);
    const r = await o.runs.cache.run(StateRunCache.key(o.runs.scope, runner.script(files), runner.parser(), ...state), limits, exec);
    // A shared run counts as one of this injector's, taking no time of its own.
    if (r.cached) counter.runs++;
    run = r.run;
  } else {
    run = await exec();
  }
  o.hangLimit?.observe(run);
  counter.lastRun = run;
  return run;
}

const DELETING = new Set<MutationKind>(['remove-statement', 'remove-branch', 'return-change']);

/** Runs of a candidate spent on tests that do not build (Go reports at most 10 errors a package, so more may follow). */
const MAX_BUILD_ROUNDS = 3;

/** Whether a reported test name is one of `sites` (a Rust test's carries its module path: `tests::x` for a site `x`). */
function isSiteOf(sites: ReadonlySet<string> | undefined, name: string): boolean {
  if (!sites) return false;
  for (const s of sites) if (name === s || name.endsWith(`::${s}`)) return true;
  return false;
}

/**
 * Empties the tests at the compile errors a run reports in `files` (buildErrorLines), on top of `pre`, the files
 * edited so far, and records them in `emptied`; false when there is no new one. A bug that removes what a test uses
 * (a field, a function: every revert of a commit that added one with its test) otherwise kept every test of the
 * package from reporting: a crash when that was all the tests, else a weakening that had nothing to go on.
 * An error outside any test (in a helper) is left: the tests it keeps from building stay broken.
 */
async function emptyUnbuiltTests(
  repoDir: string, runner: Runner, log: string, files: string[], pre: Map<string, string>, emptied: Map<string, Set<string>>,
): Promise<boolean> {
  let any = false;
  for (const [f, lines] of buildErrorLines(runner.name, log, files)) {
    const lang = langOfPath(f);
    const src = pre.get(f) ?? (await readText(repoDir, f));
    if (!lang || src === null) continue;
    const done = emptied.get(f) ?? new Set<string>();
    const lineOf = (offset: number): number => src.slice(0, offset).split('\n').length;
    const hit = (await findTests(lang, src)).filter((s) => !done.has(s.name) && [...lines].some((l) => l >= lineOf(s.start) && l <= lineOf(s.end)));
    if (hit.length === 0) continue;
    let text = applyEdits(src, mergeEdits(hit.map((s) => emptyBody(runner.name, s) ?? { start: s.start, end: s.end, replacement: '' })));
    if (lang === 'go') text = await dropOrphanedGoImports(src, text);
    if (await addsSyntaxErrors(lang, src, text)) continue;
    pre.set(f, text);
    for (const s of hit) done.add(s.name);
    emptied.set(f, done);
    any = true;
  }
  return any;
}

/** The first compile error a run reports in the code (not in a Rust code file's own tests, which only their target builds). */
async function codeBuildError(repoDir: string, runner: Runner, log: string, changes: ReadonlyMap<string, string | null>): Promise<BuildError | null> {
  for (const e of buildErrors(runner.name, log, runner.sourceFiles)) {
    const lang = langOfPath(e.file);
    // The lines are the bug's: a file it changed is read as it left it.
    const src = changes.has(e.file) ? changes.get(e.file)! : await readText(repoDir, e.file);
    if (!lang || src === null) continue;
    const lineStart = src.split('\n').slice(0, e.line - 1).reduce((n, l) => n + l.length + 1, 0);
    if (!(await testCodeRanges(lang, src)).some((r) => lineStart >= r.start && lineStart < r.end)) return e;
  }
  return null;
}

interface Candidate { changes: Map<string, string | null>; description: string }
/** A draw that is no candidate, and why. */
interface Skipped { skipped: string }

// Reading every candidate file for its features is cheap up to a few hundred files; beyond, the first ones.
const MAX_SOURCE_FILES = 400;

/** The line of a run's output most likely to say why nothing passed: the first that reads as an error, else the last. */
function outputHint(log: string): string {
  const lines = log.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('@@'));
  // A named error with its message first ("ModuleNotFoundError: No module named x", "Unsupported options: ..."), then
  // any line with the word (a summary such as "1 error"), then the last line.
  const line = lines.find((l) => /\w*(?:Error|Exception)\b:|\[ERROR\]|unsupported|not found|cannot|could not|no such|refused|requires/i.test(l))
    ?? lines.find((l) => /error/i.test(l)) ?? lines.at(-1) ?? '(none)';
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}

/**
 * Per language, the files the passing tests can load (src/agents/code/{pyreach,goreach,jsreach}.ts; null where the
 * import graph is unsure), and which sources that answer speaks for.
 */
const REACHABLE: Partial<Record<Language, { owns: (file: string) => boolean; reach: (repoDir: string, tests: readonly string[]) => Promise<Set<string> | null> }>> = {
  python: { owns: (f) => f.endsWith('.py'), reach: pythonReachable },
  go: { owns: (f) => f.endsWith('.go'), reach: goReachable },
  javascript: { owns: (f) => JS_EXT.test(f), reach: jsReachable },
  typescript: { owns: (f) => JS_EXT.test(f), reach: jsReachable },
};

export async function inject(o: InjectorOptions): Promise<InjectResult> {
  const counter = new TestRunCounter(o.testTimeoutMs);
  const attempts: string[] = [];
  const rejected: RejectedCandidate[] = [];
  const result = (r: Omit<Extract<InjectResult, { ok: false }>, 'testRuns' | 'testRunMs' | 'attempts' | 'rejected' | 'ok'>): InjectResult =>
    ({ ok: false, ...r, testRuns: counter.runs, testRunMs: counter.ms, attempts, rejected });

  let runners: Runner[];
  try {
    runners = await detectRunners(o.repoDir);
  } catch (e) {
    if (e instanceof NoTestRunnerError) return result({ code: 'no-test-runner', reason: e.message, strategy: null });
    throw e;
  }
  const runner = runners[0];

  // The reference run of the whole suite on the original: which tests exist and pass. One with too few passing
  // tests is neither kept nor reused: it says more about the environment (dependencies not installed, a toolchain
  // that could not start) than about the repository, and kept it would answer every later episode the same way
  // after the user fixed that.
  const usable = (r: TestResults): boolean => passed(r).length >= o.minPassingTests;
  // A reference kept from an earlier detection (an older ssr, a runner that since leaves a file out or finds one
  // more) ran another script: its results would put files this one does not run back into every oracle, or leave
  // the files it newly runs out of all of them, so it is made again. One stored without its script is judged by the
  // files it names.
  const script = runner.script(runner.testFiles);
  const current = new Set(runner.testFiles);
  const sameFiles = (r: TestResults): boolean => Object.keys(r).every((id) => current.has(testFileOf(id)));
  const sameRun = (r: NonNullable<InjectorOptions['reference']>): boolean => (r.script !== undefined ? r.script === script : sameFiles(r.results));
  let ref = o.reference && o.reference.runner === runner.name && usable(o.reference.results) && sameRun(o.reference) ? o.reference.results : null;
  // Why the reference run ended early, if it did: a suite cut off by the time limit reports few or no tests, and
  // the reason must say so (the limit is the user's to raise), not only count them.
  let stopped = '';
  if (!ref) {
    const sb = await o.provider.create({ base: o.repoDir });
    try {
      const r = await counter.run(sb, runner, runner.testFiles);
      ref = r.results;
      if (r.killed) stopped = `; the run was stopped (${r.killed}) after ${Math.round(r.durationMs / 1000)} s, the limit of one test run being ${Math.round(o.testTimeoutMs / 1000)} s (testTimeoutSec)`;
      // Nothing passing is the environment's doing far more often than the repository's (a tool refusing an option,
      // a module not installed): the count alone left the user nothing to go on, the run's log not being kept.
      else if (passed(r.results).length === 0) stopped = `; its output says: ${outputHint(r.log)}`;
    } finally { await sb.dispose(); }
    // A run cut short by a limit (a loaded machine, a testTimeoutSec too low) still serves this episode, but is not
    // kept for the later ones: the files it never reached, and the one it was stopped in (failed), would stay out
    // of every oracle of this repository state, whatever the load or the limit then.
    if (usable(ref) && !stopped) await o.onReference?.(runner.name, ref, script);
  }
  const files = byFile(ref);
  const goodFiles = [...files.entries()].filter(([, ids]) => ids.every((id) => ref![id] === 'passed')).map(([f]) => f);
  if (!usable(ref)) {
    return result({ code: 'no-passing-tests', reason: `${passed(ref).length} tests pass on the original with ${runner.name}; at least ${o.minPassingTests} needed${stopped}`, strategy: null });
  }
  // Oracle files run whole, so only files whose every test passes can be one; say which failing tests keep the
  // rest out, instead of a "breaks every test" per candidate over the few tests left.
  const usableTests = goodFiles.reduce((n, f) => n + files.get(f)!.length, 0);
  if (usableTests < o.minPassingTests) {
    const failing = [...files.entries()].filter(([f]) => !goodFiles.includes(f)).map(([f, ids]) => `${f} (${ids.filter((id) => ref![id] !== 'passed').slice(0, 3).join(', ')})`);
    return result({
      code: 'no-passing-tests',
      reason: `${passed(ref).length} tests pass on the original, but only ${usableTests} in files whose tests all pass (an oracle file runs whole; at least ${o.minPassingTests} needed); failing tests keep out ${failing.slice(0, 5).join('; ')}`,
      strategy: null,
    });
  }
  const sources = runner.sourceFiles.filter((f) => langOfPath(f) !== null);
  if (sources.length === 0) return result({ code: 'no-code-files', reason: `no source files in a supported language for ${runner.name}`, strategy: null });
  // Sites (and the files a past commit is reverted in) are drawn from the files the passing tests can load: the Python
  // modules they import, the Go files their packages compile, the JS/TS modules they require or import. A bug in
  // setup.py, a demo script, an example's main package or a build script breaks no test and only spends a candidate.
  // Kept whole where the import graph is unsure (or reaches none of them).
  let siteSources = sources;
  const reachable = REACHABLE[runner.language];
  if (reachable) {
    const reach = await reachable.reach(o.repoDir, goodFiles);
    const kept = reach ? sources.filter((f) => !reachable.owns(f) || reach.has(f)) : sources;
    if (kept.length > 0) siteSources = kept;
  }

  // Names the tests use: code they reference is "close to the tests", a feature of every site choice.
  const testNames = new Set<string>();
  for (const tf of goodFiles) {
    const lang = langOfPath(tf);
    const text = await readText(o.repoDir, tf);
    if (lang && text !== null) for (const n of await referencedNames(lang, text)) testNames.add(n);
  }

  const history = o.strategies.includes('history') ? await historyCandidates(o.provider, o.repoDir, siteSources) : [];
  const strategies = o.strategies.filter((s) => s !== 'history' || history.length > 0);
  if (strategies.length === 0) return result({ code: 'no-bug-found', reason: 'no strategy applies (history-aware needs a git history with code changes)', strategy: null });
  const strategy = strategies[await o.policy.choose('inject.strategy', strategies.map((s) => ({ key: s })))];

  // A candidate drawn again is judged already: it costs no test run and no attempt, though a small repository can
  // offer fewer distinct candidates than attempts, so the draws are bounded too.
  const seen = new Set<string>();
  const codeSources = strategy === 'history' ? [] : await withSites(o.repoDir, strategy, siteSources);
  if (strategy !== 'history' && codeSources.length === 0) return result({ code: 'no-bug-found', reason: `no ${strategy} site in any of ${siteSources.length} code files`, strategy });
  const pool = await filePool(o.repoDir, codeSources, testNames);
  // A candidate's bug state, run on every usable test file: what it breaks, what of that a weakening could hide, which
  // files its oracle may take, and the tests emptied because the bug kept them from building; or why it can be no bug.
  type Judged = {
    killed: TestRun['killed']; broken: string[]; hidable: string[]; oracleFiles: string[];
    /** Test files whose tests at the compiler's errors were emptied, as edited; `unbuilt`, those tests. */
    pre: Map<string, string>; unbuilt: Set<string>;
    /** The tests that still pass under the bug with the original test files: the oracle needs one (check 5). */
    survivors: Set<string>;
  } | { rejected: string };
  const judge = async (cand: Candidate): Promise<Judged> => {
    const first = await bugStateRun(o, counter, runner, cand.changes, goodFiles);
    // A run stopped by a limit leaves the tests after the cut without a result: unknown, not broken. Read as broken,
    // a whole-suite run that outgrew the time limit on a loaded machine made every later test a "break", weakened and
    // listed in the oracle, which the checks then ran alone, in time, and saw pass (bug-breaks-nothing).
    const brokenIn = (run: TestRun): string[] => goodFiles.flatMap((f) => files.get(f)!).filter((id) => run.results[id] !== 'passed' && !(run.killed && run.results[id] === undefined));
    const unknown = first.killed ? goodFiles.flatMap((f) => files.get(f)!).filter((id) => first.results[id] === undefined) : [];
    const firstBroken = brokenIn(first);
    const total = goodFiles.reduce((n, f) => n + files.get(f)!.length, 0) - unknown.length;
    if (firstBroken.length === 0) return { rejected: `breaks no test${first.killed ? ` before the run was stopped by the sandbox (${first.killed}), ${unknown.length} tests left without a result` : ''}` };
    // Code that no longer compiles fails every test of the packages that build it, and no edit of a test file hides
    // that: known now, and said, rather than after the weakening's runs as "could not be weakened", or as a crash
    // where the one package was the whole suite.
    const unbuildable = await codeBuildError(o.repoDir, runner, first.log, cand.changes);
    if (unbuildable) return { rejected: `does not build (${unbuildable.file}:${unbuildable.line}: ${unbuildable.message.slice(0, 200)})` };
    // Judged on the original tests, as check 5 judges it: a bug every test of which breaks is a crash.
    if (firstBroken.length === total) return { rejected: `breaks every test (${first.killed ? `the run was stopped by the sandbox: ${first.killed}${first.killed === 'cpu' || first.killed === 'timeout' ? ', a suite that hangs' : ''}` : 'crash'})` };
    const firstBrokenSet = new Set(firstBroken);
    const survivors = new Set(goodFiles.flatMap((f) => files.get(f)!).filter((id) => !firstBrokenSet.has(id)));

    // Test files the bug stops compiling (a test still using what it removed) take their whole package down, no test
    // of it reporting, so the weakening had no result to go on: the tests at the compiler's errors are emptied first,
    // and what breaks then is the rest of the bug.
    let run = first;
    const pre = new Map<string, string>();
    const emptied = new Map<string, Set<string>>();
    const buildable = goodFiles.filter((f) => isTestFile(f) && !cand.changes.has(f));
    for (let round = 0; round < MAX_BUILD_ROUNDS && !run.killed; round++) {
      if (!(await emptyUnbuiltTests(o.repoDir, runner, run.log, buildable, pre, emptied))) break;
      run = await bugStateRun(o, counter, runner, new Map<string, string | null>([...cand.changes, ...pre]), goodFiles);
    }
    // An emptied test passes now, but the bug broke it all the same: it stays among the tests to hide.
    const unbuilt = new Set(goodFiles.flatMap((f) => files.get(f)!).filter((id) => isSiteOf(emptied.get(testFileOf(id)), testNameOf(id))));
    const broken = run === first ? firstBroken : [...new Set([...unbuilt, ...brokenIn(run)])];
    const killed = run.killed;

    // Check 1 lets the bug touch no oracle file and the weakening touch only test files: tests kept inside a code
    // file (Rust's #[cfg(test)] modules) can neither hide this bug nor sit in the file it changes.
    // Such files stay out of the oracle: it is made of the other files' broken tests, when there are any.
    const unhidable = new Set(broken.map(testFileOf).filter((f) => cand.changes.has(f) || !isTestFile(f)));
    // A file none of whose tests ran, in a run no limit cut (and none of whose tests were emptied to build), was
    // stopped at load by the bug (a type error under ts-jest, an import-time error): weakening its tests' bodies cannot
    // make it load, so it can neither be hidden nor be an oracle file. Weakened anyway, it cost two runs of the broken
    // files (minutes each under a type-checking runner) to learn that.
    const notLoaded = killed ? [] : [...new Set(broken.map(testFileOf))].filter((f) => !unhidable.has(f) && !emptied.has(f) && files.get(f)!.every((id) => run.results[id] === undefined));
    for (const f of notLoaded) unhidable.add(f);
    const hidable = broken.filter((id) => !unhidable.has(testFileOf(id)));
    if (hidable.length === 0) {
      return {
        rejected: notLoaded.length > 0
          ? `stops ${notLoaded.length === 1 ? 'its test file' : `${notLoaded.length} test files`} at load (${notLoaded.slice(0, 3).join(', ')}: none of their tests ran), which no weakening can hide${notLoaded.length < unhidable.size ? '; the others are tests kept in code files' : ''}`
          : `breaks only tests kept in code files (${[...unhidable].join(', ')}), which cannot be weakened`,
      };
    }
    return { killed, broken, hidable, oracleFiles: goodFiles.filter((f) => !unhidable.has(f) && !cand.changes.has(f)), pre, unbuilt, survivors };
  };

  for (let attempt = 0, draws = 0; attempt < o.candidates && draws < 3 * o.candidates; attempt++, draws++) {
    let cand: Candidate | Skipped | null;
    if (strategy === 'history') {
      if (history.length === 0) { attempts.push('no commit left to revert'); break; }
      cand = await historyCandidate(o, history, siteSources);
    } else cand = await codeCandidate(o, strategy, pool, testNames);
    if (!cand) { attempts.push('no candidate'); continue; }
    // Known without a test run, as a comments-only change is: no attempt spent. The draws stay bounded, but a commit
    // leaves the pool once drawn, so a history whose old commits no longer apply is drawn through to its end.
    const judgedFree = (): void => { attempt--; if (strategy === 'history') draws--; };
    if ('skipped' in cand) { attempts.push(cand.skipped); judgedFree(); continue; }
    let cur: Candidate = cand;
    const originals = await Promise.all([...cur.changes.keys()].map(async (p) => [p, await readText(o.repoDir, p)] as const));
    const bugChanges: FileChange[] = originals.map(([p, before]) => ({ path: p, before, after: cur.changes.get(p) ?? null }));
    let bugInject = await makeDiff(bugChanges);
    if (seen.has(bugInject)) { attempt--; continue; }
    seen.add(bugInject);
    // A revert of a commit that only reworded comments or docstrings breaks no test: known without running them.
    if (await onlyNonCode(bugChanges)) { attempts.push(`${cur.description}: changes only comments, docstrings or layout (not run)`); judgedFree(); continue; }
    if (o.excludeBugs?.has(sha256(bugInject))) { attempts.push(`${cur.description}: a held-out bug (excludeBugs), never trained on`); continue; }

    // A candidate dropped after its runs keeps its diff and the last run's log beside its line in `attempts`.
    const runBefore = counter.lastRun;
    const reject = (why: string): void => {
      attempts.push(why);
      const run = counter.lastRun !== runBefore ? counter.lastRun : null;
      rejected.push({ attempt: attempts.length - 1, bug: bugInject, log: run ? tail(run.log, REJECTED_LOG_BYTES) : null });
    };
    let judged = await judge(cur);
    if ('rejected' in judged) { reject(`${cur.description}: ${judged.rejected}`); continue; }
    // Every file a bug changes must matter (check 7, inverse mutation): a past commit's revert often spans files the
    // failing tests never needed (a docstring, an export list, a helper nothing tested calls), and whole it was
    // rejected at the end of the checks. Each file is reverted alone from the bug on the broken tests' files; those
    // whose revert fixes none leave the bug, which is judged again.
    const minFiles = Math.max(1, o.minChangedFiles ?? 1);
    if (cur.changes.size > 1 && cur.changes.size <= MAX_TRIMMED_FILES && !judged.killed) {
      const matter = await filesThatMatter(o, counter, runner, cur.changes, judged.hidable);
      if (matter.size === 0) { reject(`${cur.description}: breaks ${judged.broken.length} tests, but reverting any one of its ${cur.changes.size} files alone fixes none (every changed file must matter)`); continue; }
      if (matter.size < minFiles) { reject(`${cur.description}: only ${[...matter].join(', ')} of its files matter to the broken tests, fewer than minChangedFiles (${minFiles})`); continue; }
      if (matter.size < cur.changes.size) {
        const dropped = [...cur.changes.keys()].filter((p) => !matter.has(p));
        attempts.push(`${cur.description}: reverting ${dropped.join(', ')} alone fixes no failing test: left out of the bug`);
        const trimmed: Candidate = { changes: new Map([...cur.changes].filter(([p]) => matter.has(p))), description: `${cur.description}, only ${[...matter].join(', ')}` };
        bugInject = await makeDiff(bugChanges.filter((c) => matter.has(c.path)));
        if (seen.has(bugInject)) continue;
        seen.add(bugInject);
        if (o.excludeBugs?.has(sha256(bugInject))) { attempts.push(`${trimmed.description}: a held-out bug (excludeBugs), never trained on`); continue; }
        cur = trimmed;
        judged = await judge(cur);
        if ('rejected' in judged) { reject(`${cur.description}: ${judged.rejected}`); continue; }
      }
    }
    const { broken, hidable, oracleFiles, pre, unbuilt, survivors } = judged;
    const weak = await weaken(o, runner, counter, cur, hidable, oracleFiles, files, ref, pre, survivors);
    const unbuiltNote = unbuilt.size > 0 ? ` (${unbuilt.size} of them no longer built: emptied)` : '';
    if (!weak) { reject(`${cur.description}: the failing tests could not be weakened${unbuiltNote}`); continue; }
    attempts.push(`${cur.description}: breaks ${broken.length} tests, ${weak.hidden} hidden${unbuiltNote}`);

    const weakChanges: FileChange[] = await Promise.all([...weak.files.entries()].map(async ([p, after]) => ({ path: p, before: await readText(o.repoDir, p), after })));
    const artifact: Artifact = {
      bugInject,
      testWeaken: await makeDiff(weakChanges),
      testScript: runner.script(weak.testFiles),
      testParser: runner.parser(),
      testFiles: weak.testFiles,
    };
    return { ok: true, artifact, strategy, description: cur.description, testRuns: counter.runs, testRunMs: counter.ms, attempts, rejected };
  }
  return result({ code: 'no-bug-found', reason: `no valid bug in ${o.candidates} candidates (${strategy})`, strategy });
}

const AVA_ASSERTIONS: ReadonlySet<string> = new Set([
  'is', 'not', 'deepEqual', 'notDeepEqual', 'like', 'true', 'false', 'truthy', 'falsy', 'throws', 'throwsAsync', 'notThrows',
  'notThrowsAsync', 'regex', 'notRegex', 'snapshot', 'assert', 'pass', 'fail',
]);

/**
 * The edits that take a test's assertions away. ava fails a test that ran no assertion ("Test finished without
 * running any assertions"), so there the first one becomes `t.pass()` on the same execution context: the weakened
 * test passes, as in every other runner, instead of failing for a reason of its own.
 */
export function assertionRemovals(runner: RunnerName, src: string, assertions: readonly Edit[]): Edit[] {
  if (runner !== 'ava' || assertions.length === 0) return [...assertions];
  const first = assertions.reduce((a, b) => (b.start < a.start ? b : a));
  const text = src.slice(first.start, first.end);
  const m = /^(\s*)(?:await\s+)?([A-Za-z_$][\w$]*)\s*\.\s*([A-Za-z_$][\w$]*)/.exec(text);
  // Only a call on ava's execution context has a pass() beside it (not node:assert's or chai's).
  if (!m || !AVA_ASSERTIONS.has(m[3]!)) return [...assertions];
  // The removed span may take its line's indentation and newline with it: the new statement keeps them.
  const replacement = `${m[1]}${m[2]}.pass();${/\s*$/.exec(text)![0]}`;
  return assertions.map((e) => (e === first ? { ...e, replacement } : e));
}

/**
 * A test still failing without its assertions raises before them: its body goes, and the test stays, passing (a
 * deleted test does not pass, so it hides nothing). ava fails a test that asserts nothing, tape one that never ends,
 * mocha and jest one whose done callback is never called, pytest-benchmark one that never calls its fixture: those
 * keep that one call. Null where the site has no body to empty.
 */
export function emptyBody(runner: RunnerName, s: TestSite): Edit | null {
  if (!s.body) return null;
  if (runner === 'pytest' || runner === 'unittest') return { start: s.body.start, end: s.body.end, replacement: s.body.empty ?? 'pass' };
  const { start, end, param, empty } = s.body;
  if (empty !== undefined) return { start, end, replacement: empty };
  if (runner === 'ava' || runner === 'tape') return param ? { start, end, replacement: `{ ${param}.${runner === 'ava' ? 'pass' : 'end'}(); }` } : null;
  // A mocha or jest callback that takes a parameter is ended by calling it (done); an empty one would time out.
  if ((runner === 'mocha' || runner === 'jest') && param) return { start, end, replacement: `{ ${param}(); }` };
  return { start, end, replacement: '{}' };
}

/**
 * Sites may share assertions (a C test program's `main` stands for all of its test functions, so its assertions are
 * theirs too): identical edits are applied once, and edits inside a site deleted whole go with it.
 */
export function mergeEdits(edits: readonly Edit[]): Edit[] {
  const sorted = [...edits].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: Edit[] = [];
  for (const e of sorted) {
    const last = out[out.length - 1];
    const inside = !!last && e.start >= last.start && e.end <= last.end;
    const same = inside && e.start === last.start && e.end === last.end && e.replacement === last.replacement;
    if (same || (inside && last.replacement === '' && last.end > last.start)) continue;
    out.push(e);
  }
  return out;
}

async function readText(repoDir: string, rel: string): Promise<string | null> {
  try { return await readFile(path.join(repoDir, rel), 'utf8'); } catch { return null; }
}

/**
 * The files with a site for the strategy, in order: a file of declarations only (type-only modules, re-exporting
 * index files, an __init__.py of imports) has none, and drawn it would spend one of the injector's attempts on
 * nothing (in a TypeScript library, 16 of 41 files and 4 of an episode's 6 attempts). The sites are those
 * `codeCandidate` draws from (`fileSites`), so a file whose every site is left alone (a Rust file whose only
 * comparisons are in its #[cfg(test)] module) is not drawn either.
 */
async function withSites(repoDir: string, strategy: Strategy, sources: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of sources) {
    if (out.length >= MAX_SOURCE_FILES) break;
    const s = await fileSites(repoDir, f, strategy);
    if (s && (s.removals.length > 0 || s.mutations.length > 0)) out.push(f);
  }
  return out;
}

type FileSites = { lang: Lang; source: string; removals: Removal[]; mutations: Mutation[] };

/**
 * A code file's sites for a strategy: its removals (removal) or its value and operator mutations (direct; deleting
 * code is the removal strategy's business), without those the injector leaves alone: unit tests kept in the code file
 * (Rust's #[cfg(test)] modules: a change there is a change of a test) and code the test build does not compile
 * (under a Rust `#[cfg]` that does not hold: a change there breaks nothing).
 */
async function fileSites(repoDir: string, file: string, strategy: Strategy): Promise<FileSites | null> {
  const lang = langOfPath(file);
  const source = lang ? await readText(repoDir, file) : null;
  if (!lang || source === null) return null;
  const leftAlone = [...await testCodeRanges(lang, source), ...await cfgOffRanges(lang, source, lang === 'rust' ? await rustCfgEnvFor(repoDir, file) : null)];
  const offLimits = (edits: readonly Edit[]) => edits.some((e) => leftAlone.some((r) => e.start < r.end && r.start < e.end));
  if (strategy === 'removal') return { lang, source, removals: (await findRemovals(lang, source)).filter((r) => !offLimits(removalEdits(r))), mutations: [] };
  return { lang, source, removals: [], mutations: (await findMutations(lang, source)).filter((m) => !DELETING.has(m.kind) && !offLimits([m.edit])) };
}

/** The files a code candidate is drawn from, each with the features the policy chooses it by (computed once an injection). */
type FilePool = { files: string[]; options: { key: string; features: number[] }[] };

async function filePool(repoDir: string, sources: string[], testNames: Set<string>): Promise<FilePool> {
  const files = sources.slice(0, MAX_SOURCE_FILES);
  const names = [...testNames].filter((n) => n.length > 2);
  const options = await Promise.all(files.map(async (f) => {
    const text = (await readText(repoDir, f)) ?? '';
    const lines = text.split('\n').length;
    return { key: 'file', features: [Math.log1p(lines) / 8, names.some((n) => text.includes(n)) ? 1 : 0] };
  }));
  return { files, options };
}

/** Direct and removal-oriented candidates: sites chosen by the policy among what the parser finds. */
async function codeCandidate(o: InjectorOptions, strategy: Strategy, pool: FilePool, testNames: Set<string>): Promise<Candidate | null> {
  const file = pool.files[await o.policy.choose('inject.file', pool.options)];
  const sites = await fileSites(o.repoDir, file, strategy);
  if (!sites) return null;
  const { lang, source } = sites;
  const near = (fn: string | null) => (fn && testNames.has(fn) ? 1 : 0);

  if (strategy === 'removal') {
    const removals = sites.removals;
    if (removals.length === 0) return null;
    const i = await o.policy.choose('inject.removal', removals.map((r) => ({ key: r.kind, features: [clamp01(r.size / 40), near(r.functionName)] })));
    const r = removals[i];
    return { changes: new Map([[file, applyEdits(source, removalEdits(r))]]), description: `removal: ${r.description} in ${file}` };
  }

  const muts = sites.mutations;
  if (muts.length === 0) return null;
  const k = [1, 2, 3][await o.policy.choose('inject.compose', [{ key: '1' }, { key: '2' }, { key: '3' }])];
  const chosen: Edit[] = [];
  const desc: string[] = [];
  const left = muts.slice();
  while (chosen.length < k && left.length) {
    const i = await o.policy.choose('inject.mutation', left.map((m) => ({ key: `${m.kind} ${m.variant}`, features: [clamp01(m.depth / 20), near(m.functionName)] })));
    const m = left.splice(i, 1)[0];
    if (chosen.some((e) => e.start < m.edit.end && m.edit.start < e.end)) continue;
    chosen.push(m.edit);
    desc.push(m.description);
  }
  const text = applyEdits(source, chosen);
  if (await addsSyntaxErrors(lang, source, text)) return null;
  return { changes: new Map([[file, text]]), description: `direct: ${desc.join('; ')} in ${file}` };
}

/** Past this many files a revert's files are not tried one by one: the checks judge it whole. */
const MAX_TRIMMED_FILES = 8;

/**
 * The files of a bug each of whose revert alone (the bug's other files kept) makes some broken test pass, as check 7
 * (inverse mutation) will ask of them: one run of the broken tests' files per changed file.
 */
async function filesThatMatter(o: InjectorOptions, counter: TestRunCounter, runner: Runner, changes: Map<string, string | null>, broken: string[]): Promise<Set<string>> {
  const testFiles = [...new Set(broken.map(testFileOf))].sort();
  const out = new Set<string>();
  for (const f of changes.keys()) {
    const run = await bugStateRun(o, counter, runner, new Map([...changes].filter(([p]) => p !== f)), testFiles);
    if (broken.some((id) => run.results[id] === 'passed')) out.add(f);
  }
  return out;
}

/** Every change keeps the file's code tokens (src/agents/code/sameCode.ts); a file of no known language counts as code. */
async function onlyNonCode(changes: FileChange[]): Promise<boolean> {
  for (const c of changes) {
    const lang = langOfPath(c.path);
    if (!lang || c.before === null || c.after === null || !(await sameCode(lang, c.before, c.after))) return false;
  }
  return changes.length > 0;
}

/** A past commit reverted, drawn by the policy from `history`, which it leaves: drawn again, it would be judged again. */
async function historyCandidate(o: InjectorOptions, history: Awaited<ReturnType<typeof historyCandidates>>, sources: string[]): Promise<Candidate | Skipped | null> {
  const i = await o.policy.choose('inject.commit', history.map((c) => ({ key: c.isFix ? 'fix' : 'other', features: [clamp01(c.files.length / 5), clamp01(c.age / 50)] })));
  const [c] = history.splice(i, 1);
  const changes = await revertCommit(o.provider, o.repoDir, c, sources);
  if (!changes || changes.size === 0) {
    return { skipped: `history: revert ${c.sha.slice(0, 10)} "${c.subject}": none of its change applies to the code as it is now, and the files moved too far since for a whole-file revert (not run)` };
  }
  for (const [f, text] of changes) {
    const lang = langOfPath(f);
    if (lang && text !== null && (await addsSyntaxErrors(lang, await readText(o.repoDir, f), text))) return null;
  }
  return { changes, description: `history: revert ${c.sha.slice(0, 10)} "${c.subject}" in ${[...changes.keys()].join(', ')}` };
}

/**
 * Several reported tests may share one definition (a mixin's method, run under each class that inherits it): it is
 * weakened once, emptied where any of them must be, since emptying it and removing its assertions would overlap.
 */
function choose(chosen: Map<string, { site: TestSite; del: boolean }>, site: TestSite, del: boolean): void {
  const key = `${site.start}:${site.end}`;
  const had = chosen.get(key);
  chosen.set(key, { site, del: del || (had?.del ?? false) });
}

function siteEdits(runner: RunnerName, src: string, chosen: Map<string, { site: TestSite; del: boolean }>): Edit[] {
  const edits: Edit[] = [];
  for (const { site, del } of chosen.values()) {
    if (del) edits.push(emptyBody(runner, site) ?? { start: site.start, end: site.end, replacement: '' });
    else edits.push(...assertionRemovals(runner, src, site.assertions));
  }
  return edits;
}

/**
 * Where the broken tests of a Python test file that no site of the file names (`Class::test_x`) are defined when
 * their class inherits them from a mixin of another module of the suite (`from . import SharedTests`,
 * `from .base import SharedTests`): that module's file (a test file: the weakening may edit only those) and the
 * method's site there.
 */
async function importedMixinSites(repoDir: string, file: string, src: string, names: string[]): Promise<{ file: string; site: TestSite; test: string }[]> {
  const out: { file: string; site: TestSite; test: string }[] = [];
  for (const test of names) {
    const [cls, method, ...rest] = test.split('::');
    if (!cls || !method || rest.length > 0) continue;
    for (const base of await pyImportedBases(src, cls)) {
      const mod = pyModuleFile(file, base.module);
      const found = await firstExisting(repoDir, mod);
      if (!found || !isTestFile(found)) continue;
      const text = await readText(repoDir, found);
      const site = text === null ? undefined : (await pyClassTests(text, base.name)).find((s) => s.name === method);
      if (site) { out.push({ file: found, site, test }); break; }
    }
  }
  return out;
}

/** The files a Python module imported from `file` may be (`.base` beside it, `..` a package above, `pkg.mod`). */
function pyModuleFile(file: string, module: string): string[] {
  const dots = /^\.*/.exec(module)![0].length;
  const parts = module.slice(dots).split('.').filter((x) => x !== '');
  let dir = dots > 0 ? path.posix.dirname(file) : '';
  for (let i = 1; i < dots; i++) dir = path.posix.dirname(dir);
  const base = path.posix.join(dir === '.' ? '' : dir, ...parts);
  return parts.length === 0 ? [path.posix.join(base, '__init__.py')] : [`${base}.py`, path.posix.join(base, '__init__.py')];
}

async function firstExisting(repoDir: string, files: string[]): Promise<string | null> {
  for (const f of files) if ((await readText(repoDir, f)) !== null) return f;
  return null;
}

/**
 * Weakens exactly the tests the bug breaks: first by deleting their assertions, then (for those still failing,
 * e.g. because the code raises) by emptying the test where an empty one passes (emptyBody), else deleting it.
 * Returns the weakened test files and the oracle file list.
 */
async function weaken(
  o: InjectorOptions, runner: Runner, counter: TestRunCounter, cand: Candidate, broken: string[],
  goodFiles: string[], files: Map<string, string[]>, ref: TestResults, pre: ReadonlyMap<string, string>, survivors: ReadonlySet<string>,
): Promise<{ files: Map<string, string>; testFiles: string[]; hidden: number } | null> {
  // Files whose tests were emptied to build again are weakened files whatever else breaks (emptyUnbuiltTests).
  const brokenFiles = [...new Set([...broken.map(testFileOf), ...pre.keys()])];
  // Oracle files: the files with broken tests, topped up with other passing files until there are enough tests
  // and some of them still pass under the bug (a bug that breaks every oracle test reads as a crash).
  const testFiles = brokenFiles.slice();
  // Intact: passing under the bug with the original test files, as check 5 runs them (a test of a package that a
  // test file emptied by emptyUnbuiltTests kept from building is not, though it passes once that file is weakened).
  let count = testFiles.reduce((n, f) => n + (files.get(f)?.length ?? 0), 0);
  let intact = testFiles.reduce((n, f) => n + (files.get(f) ?? []).filter((id) => survivors.has(id)).length, 0);
  // Files with such tests first (stable, so in their order): no file of a package that does not build is added for
  // nothing; elsewhere every file not broken is one.
  const survives = (f: string): boolean => (files.get(f) ?? []).some((id) => survivors.has(id));
  for (const f of [...goodFiles].sort((a, b) => Number(survives(b)) - Number(survives(a)))) {
    if (count >= o.minPassingTests && intact >= 1) break;
    if (testFiles.includes(f)) continue;
    testFiles.push(f);
    count += files.get(f)!.length;
    intact += files.get(f)!.filter((id) => survivors.has(id)).length;
  }
  if (count < o.minPassingTests || intact < 1 || passed(ref).length < o.minPassingTests) return null;

  const edited = new Map<string, string>(pre);
  const deleteWhole = new Map<string, Set<string>>();
  for (const mode of ['assertions', 'delete'] as const) {
    // Edits of the modules that define the mixins some broken tests come from (another file of the suite).
    const shared = new Map<string, Map<string, { site: TestSite; del: boolean }>>();
    for (const f of brokenFiles) {
      const lang = langOfPath(f);
      const src = pre.get(f) ?? await readText(o.repoDir, f);
      if (!lang || src === null) return null;
      const sites = await findTests(lang, src);
      // A Rust test is reported under its file's module path (a src/a/tests.rs's under a::tests::), its site by the
      // path inside the file: leading modules that no site of the file has are the file's own.
      const siteNames = new Set(sites.map((s) => s.name));
      const local = (name: string): string => {
        if (lang !== 'rust') return name;
        let parts = name.split('::');
        while (parts.length > 1 && !siteNames.has(parts.join('::'))) parts = parts.slice(1);
        return parts.join('::');
      };
      const names = new Set(broken.filter((id) => testFileOf(id) === f).map((id) => local(testNameOf(id))));
      const matched = new Set([...names].flatMap((n) => sitesForTest(lang, sites, n)));
      const toDelete = new Set([...(deleteWhole.get(f) ?? [])].flatMap((n) => sitesForTest(lang, sites, local(n))));
      const chosen = new Map<string, { site: TestSite; del: boolean }>();
      for (const s of sites) {
        if (!matched.has(s)) continue;
        // No assertion found (they live in a helper, or a library not known here), or still failing without them:
        // the body goes where an empty one passes, else the whole test.
        choose(chosen, s, s.assertions.length === 0 || (mode === 'delete' && toDelete.has(s)));
      }
      const edits = siteEdits(runner.name, src, chosen);
      if (lang === 'python') {
        const unmatched = [...names].filter((n) => sitesForTest(lang, sites, n).length === 0);
        const deleted = deleteWhole.get(f) ?? new Set<string>();
        for (const { file, site, test } of await importedMixinSites(o.repoDir, f, src, unmatched)) {
          choose(shared.get(file) ?? shared.set(file, new Map()).get(file)!, site, site.assertions.length === 0 || (mode === 'delete' && deleted.has(test)));
        }
      }
      if (edits.length === 0) continue;
      let text = applyEdits(src, mergeEdits(edits));
      if (lang === 'go') text = await dropOrphanedGoImports(src, text);
      if (await addsSyntaxErrors(lang, src, text)) return null;
      edited.set(f, text);
    }
    for (const [file, chosen] of shared) {
      const src = await readText(o.repoDir, file);
      if (src === null) continue;
      const text = applyEdits(src, mergeEdits(siteEdits(runner.name, src, chosen)));
      if (await addsSyntaxErrors('python', src, text)) return null;
      edited.set(file, text);
      // The weakening may touch only listed test files: the mixin's module is listed (it holds no test of its own
      // to run: pytest and unittest collect nothing from it).
      if (!testFiles.includes(file)) testFiles.push(file);
    }
    if (edited.size === 0) return null;
    const run = await bugStateRun(o, counter, runner, new Map<string, string | null>([...cand.changes, ...edited]), testFiles);
    const stillFailing = broken.filter((id) => run.results[id] === 'failed');
    const hidden = broken.filter((id) => run.results[id] === 'passed').length;
    if (stillFailing.length === 0 && hidden > 0) return { files: edited, testFiles: testFiles.sort(), hidden };
    if (mode === 'delete') return hidden > 0 ? { files: edited, testFiles: testFiles.sort(), hidden } : null;
    for (const id of stillFailing) {
      const f = testFileOf(id);
      (deleteWhole.get(f) ?? deleteWhole.set(f, new Set()).get(f)!).add(testNameOf(id));
    }
  }
  return null;
}
