/**
 * The seven consistency checks of the method (SSR-SPEC "Consistency checks"), one function each.
 * An artifact that fails any of them gets r_inject = -1 and never reaches a solver. Each check returns its
 * outcome with a typed failure code and the evidence it looked at; nothing here knows who wrote the artifact.
 */
import { DiffError, escapesRepo, touchedPaths } from '../artifact/diff.js';
import type { Artifact } from '../artifact/artifact.js';
import { failed, passed, type TestResults, type TestRun } from '../repo/testrun.js';
import type { KillReason } from '../sandbox/types.js';

export const CHECK_NAMES = ['test-files', 'parser', 'test-script', 'bug-scope', 'bug-validity', 'weakening', 'inverse-mutation'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

export type CheckFailureCode =
  | 'malformed-diff' | 'binary-diff' | 'path-outside-repo' | 'test-file-missing' | 'weakened-file-not-listed'
  | 'bug-touches-test-file' | 'weaken-touches-code-file' | 'empty-weakening'
  | 'parser-invalid' | 'parser-empty' | 'parser-silent'
  | 'too-few-tests' | 'tests-fail-on-original' | 'script-timeout'
  | 'script-forks' | 'script-memory-limit' | 'script-disk-limit' | 'script-output-limit' | 'script-needs-network'
  | 'too-few-changed-files'
  | 'bug-breaks-nothing' | 'bug-breaks-everything' | 'patch-does-not-apply'
  | 'weakening-hides-nothing'
  | 'changed-file-irrelevant';

export interface CheckResult {
  check: CheckName;
  ok: boolean;
  code?: CheckFailureCode;
  reason: string;
  /** Small facts (counts, test ids, file names); logs go to the store and are named in `logs`. */
  evidence: Record<string, unknown>;
  logs?: Record<string, string>;
}

export interface CheckLimits {
  minPassingTests: number;
  minChangedFiles: number;
  minFailingTests: number;
}

const ok = (check: CheckName, reason: string, evidence: Record<string, unknown> = {}): CheckResult => ({ check, ok: true, reason, evidence });
const fail = (check: CheckName, code: CheckFailureCode, reason: string, evidence: Record<string, unknown> = {}): CheckResult =>
  ({ check, ok: false, code, reason, evidence });

function safeTouched(diff: string): { paths: string[] } | { error: DiffError } {
  try {
    return { paths: touchedPaths(diff) };
  } catch (e) {
    if (e instanceof DiffError) return { error: e };
    throw e;
  }
}

/** Code files the bug changes (test files excluded by the caller's classification). */
export function changedCodeFiles(a: Artifact): string[] {
  const t = safeTouched(a.bugInject);
  return 'paths' in t ? t.paths : [];
}

/** 1. Test files: listed files exist, include every weakened file; the bug touches no test file and the weakening no code file. */
export function checkTestFiles(a: Artifact, existsInOriginal: (p: string) => boolean, isTestFile: (p: string) => boolean): CheckResult {
  const C: CheckName = 'test-files';
  const bug = safeTouched(a.bugInject);
  if ('error' in bug) return fail(C, bug.error.code === 'binary' ? 'binary-diff' : 'malformed-diff', `bug_inject.diff: ${bug.error.message}`);
  const weak = safeTouched(a.testWeaken);
  if ('error' in weak) return fail(C, weak.error.code === 'binary' ? 'binary-diff' : 'malformed-diff', `test_weaken.diff: ${weak.error.message}`);
  const all = [...a.testFiles, ...bug.paths, ...weak.paths];
  const outside = all.filter(escapesRepo);
  if (outside.length) return fail(C, 'path-outside-repo', `paths outside the repository: ${outside.join(', ')}`, { paths: outside });
  if (weak.paths.length === 0) return fail(C, 'empty-weakening', 'test_weaken.diff changes no file');
  const missing = a.testFiles.filter((p) => !existsInOriginal(p));
  if (missing.length) return fail(C, 'test-file-missing', `test_files.txt names files absent from the original repository: ${missing.join(', ')}`, { missing });
  const listed = new Set(a.testFiles);
  const notListed = weak.paths.filter((p) => !listed.has(p));
  if (notListed.length) return fail(C, 'weakened-file-not-listed', `test_weaken.diff touches files not in test_files.txt: ${notListed.join(', ')}`, { notListed });
  const bugTests = bug.paths.filter((p) => listed.has(p) || isTestFile(p));
  if (bugTests.length) return fail(C, 'bug-touches-test-file', `bug_inject.diff touches test files: ${bugTests.join(', ')}`, { files: bugTests });
  const weakCode = weak.paths.filter((p) => !isTestFile(p));
  if (weakCode.length) return fail(C, 'weaken-touches-code-file', `test_weaken.diff touches files that are not test files: ${weakCode.join(', ')}`, { files: weakCode });
  return ok(C, `${a.testFiles.length} test files listed, all present; diffs keep to their sides`, { testFiles: a.testFiles, bugFiles: bug.paths, weakenedFiles: weak.paths });
}

/** 2. Parser validity: the parser turns the original log into a mapping of test ids to passed/failed. */
export function checkParser(original: TestRun): CheckResult {
  const C: CheckName = 'parser';
  if (original.parserError) {
    // Printing nothing is the parser's most common way to be broken (a crash swallowed, the wrong stream): named apart.
    const silent = original.parserSilent === true;
    return fail(C, silent ? 'parser-silent' : 'parser-invalid', original.parserError, { parserStdout: original.parserStdout.slice(0, 2000) });
  }
  const n = Object.keys(original.results).length;
  const stopped = original.killed ? ` (the test script was stopped by the sandbox: ${original.killed})` : '';
  if (n === 0) return fail(C, 'parser-empty', `the parser reported no test at all on the original run${stopped}`, { logTail: original.log.slice(-2000), killed: original.killed });
  return ok(C, `parser reported ${n} tests`, { tests: n });
}

const KILL_CODES: Record<KillReason, { code: CheckFailureCode; what: string }> = {
  timeout: { code: 'script-timeout', what: 'ran past its time limit' },
  // The checks set no CPU-time limit today; a kill by one is a time limit all the same.
  cpu: { code: 'script-timeout', what: 'ran past its CPU-time limit' },
  pids: { code: 'script-forks', what: 'hit the process limit (forks without end)' },
  memory: { code: 'script-memory-limit', what: 'hit the memory limit' },
  disk: { code: 'script-disk-limit', what: 'hit the disk limit (a file past the size cap, or the host disk near full)' },
  output: { code: 'script-output-limit', what: 'printed past the output limit' },
};

/**
 * What the sandbox could show the network, as tools word it when it is absent (no interface but loopback, no
 * resolver): Python, Node, curl, Go, Rust.
 */
const NETWORK_ERRORS = /Network is unreachable|ENETUNREACH|Temporary failure in name resolution|Name or service not known|EAI_AGAIN|ENOTFOUND|getaddrinfo|Could not resolve host|No address associated with hostname|connect: network is unreachable|dial tcp/i;

/**
 * The part of check 3 decided before the parser is judged: a script the sandbox stopped, or one that reported no
 * test while its log shows it reaching for the network, failed as a script; what its parser made of the cut log
 * says nothing about the parser. Null when the run itself was whole.
 */
export function checkScriptRun(original: TestRun): CheckResult | null {
  const C: CheckName = 'test-script';
  if (original.killed) {
    const k = KILL_CODES[original.killed];
    // The wall-clock limit is the user's setting, and a large oracle on a loaded machine can outgrow it: say which.
    const hint = original.killed === 'timeout' ? `, after ${Math.round(original.durationMs / 1000)} s: the limit is testTimeoutSec, to raise where the suite is this slow or the machine this loaded` : '';
    return fail(C, k.code, `test_script.sh ${k.what} on the original repository (stopped by the sandbox: ${original.killed}${hint})`, { killed: original.killed, durationMs: original.durationMs, logTail: original.log.slice(-2000) });
  }
  const net = Object.keys(original.results).length === 0 ? NETWORK_ERRORS.exec(original.log) : null;
  if (net) {
    return fail(C, 'script-needs-network', `test_script.sh reported no test and its log shows it reaching for the network ("${net[0]}"): the sandbox has none`, { logTail: original.log.slice(-2000) });
  }
  return null;
}

/** 3. Test script validity: on the original, at least minPassingTests tests, all passing. */
export function checkTestScript(original: TestRun, lim: CheckLimits): CheckResult {
  const C: CheckName = 'test-script';
  const stopped = checkScriptRun(original);
  if (stopped) return stopped;
  const p = passed(original.results), f = failed(original.results);
  if (f.length) return fail(C, 'tests-fail-on-original', `${f.length} tests fail on the original repository: ${f.slice(0, 10).join(', ')}`, { failing: f });
  if (p.length < lim.minPassingTests) return fail(C, 'too-few-tests', `${p.length} passing tests on the original, at least ${lim.minPassingTests} required`, { passing: p.length });
  return ok(C, `${p.length} tests pass on the original`, { passing: p.length });
}

/** 4. Bug scope: the bug changes at least minChangedFiles code files. */
export function checkBugScope(a: Artifact, lim: CheckLimits): CheckResult {
  const C: CheckName = 'bug-scope';
  const files = changedCodeFiles(a);
  if (files.length < lim.minChangedFiles) return fail(C, 'too-few-changed-files', `bug_inject.diff changes ${files.length} code files, at least ${lim.minChangedFiles} required`, { files });
  return ok(C, `bug changes ${files.length} code file(s)`, { files });
}

/** 5. Bug validity: tests that passed on the original fail under the bug, but not everything through a crash. */
export function checkBugValidity(original: TestResults, bug: TestRun, lim: CheckLimits): CheckResult {
  const C: CheckName = 'bug-validity';
  const before = passed(original);
  const broken = before.filter((t) => bug.results[t] !== 'passed');
  const failedOutright = before.filter((t) => bug.results[t] === 'failed');
  if (broken.length < lim.minFailingTests) return fail(C, 'bug-breaks-nothing', `${broken.length} tests break under the bug, at least ${lim.minFailingTests} required`, { broken });
  // When every test breaks (or vanishes from the output), the bug is a syntax or import error that kills the run,
  // not a semantic bug: the method rejects those.
  if (broken.length === before.length && (before.length > 1 || failedOutright.length === 0)) {
    // A run the sandbox stopped (a suite that hangs under the bug) may report no test at all: say so, not only "crash".
    const stopped = bug.killed ? ` (the run was stopped by the sandbox: ${bug.killed}, as a suite that hangs under the bug is)` : '';
    return fail(C, 'bug-breaks-everything', `all ${before.length} tests break under the bug: a crash, syntax or import error rather than a bug${stopped}`, { broken: broken.length, ...(bug.killed ? { killed: bug.killed } : {}) });
  }
  return ok(C, `${broken.length} of ${before.length} tests break under the bug`, { broken });
}

/** 6. Weakening validity: with both diffs, some tests that failed under the bug pass again. */
export function checkWeakening(bugFailing: string[], weakened: TestRun): CheckResult {
  const C: CheckName = 'weakening';
  const hidden = bugFailing.filter((t) => weakened.results[t] === 'passed');
  if (hidden.length === 0) return fail(C, 'weakening-hides-nothing', 'no test that failed under the bug passes with the weakened tests', { bugFailing });
  return ok(C, `${hidden.length} failing tests hidden by the weakening`, { hidden });
}

/** 7. Inverse mutation testing: reverting any one changed file alone (from the full bug) makes some failing oracle test pass. */
export function checkInverseMutation(bugFailing: string[], perFile: { file: string; run: TestRun }[]): CheckResult {
  const C: CheckName = 'inverse-mutation';
  const evidence: Record<string, string[]> = {};
  const irrelevant: string[] = [];
  for (const { file, run } of perFile) {
    const fixed = bugFailing.filter((t) => run.results[t] === 'passed');
    evidence[file] = fixed;
    if (fixed.length === 0) irrelevant.push(file);
  }
  if (irrelevant.length) return fail(C, 'changed-file-irrelevant', `reverting ${irrelevant.join(', ')} alone fixes no failing test: every changed file must matter`, { fixedByFile: evidence });
  return ok(C, `each of ${perFile.length} changed files matters`, { fixedByFile: evidence });
}
