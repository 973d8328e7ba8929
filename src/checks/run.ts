import type { Artifact } from '../artifact/artifact.js';
import type { SandboxProvider } from '../sandbox/types.js';
import { PatchApplyError, runTestScript, type TestRun } from '../repo/testrun.js';
import type { HangLimit } from '../repo/hangLimit.js';
import { StateRunCache } from '../repo/stateRuns.js';
import { existsInOriginal, treeState } from '../repo/tree.js';
import {
  CHECK_NAMES, changedCodeFiles, checkBugScope, checkBugValidity, checkInverseMutation, checkParser, checkScriptRun, checkTestFiles,
  checkTestScript, checkWeakening, type CheckLimits, type CheckName, type CheckResult,
} from './consistency.js';

export interface CheckEnv {
  provider: SandboxProvider;
  repoDir: string;
  limits: CheckLimits;
  testTimeoutMs: number;
  /** The CPU-time limit of the runs of the bug's states, calibrated by those that end (src/repo/hangLimit.ts). */
  hangLimit?: HangLimit;
  /**
   * Runs of the same tree state under the same script, shared in the process (src/repo/stateRuns.ts); `scope` names
   * the repository's state (its RepoInfo key). Only for deterministic suites (config `bugStateRunCache`).
   */
  runs?: { cache: StateRunCache; scope: string };
  isTestFile: (p: string) => boolean;
  /** Keeps a log and returns its reference (a blob ref or a path). */
  saveLog: (name: string, text: string) => Promise<string>;
  /** The original run of this test script on this repository state, when already known (reference-run reuse). */
  cachedOriginalRun?: (a: Artifact) => Promise<TestRun | null>;
  rememberOriginalRun?: (a: Artifact, run: TestRun) => Promise<void>;
  onProgress?: (what: string) => void;
}

export interface CheckReport {
  valid: boolean;
  /** Every check in order; those not reached after a failure have ok=false and reason 'not run'. */
  checks: (CheckResult & { ran: boolean })[];
  failed: CheckResult | null;
  /** Oracle tests failing under the full bug: what the solver must fix. */
  bugFailing: string[];
  testRunMs: number;
}

/** Runs the seven checks in order and stops at the first failure; every test run happens in a fresh sandbox. */
export async function runChecks(a: Artifact, env: CheckEnv): Promise<CheckReport> {
  const done: CheckResult[] = [];
  let testRunMs = 0;
  let bugFailing: string[] = [];
  const notRun = new Map<CheckName, string>();
  const finish = (): CheckReport => {
    const byName = new Map(done.map((c) => [c.check, c]));
    const checks = CHECK_NAMES.map((n: CheckName) => {
      const c = byName.get(n);
      return c ? { ...c, ran: true } : { check: n, ok: false, reason: notRun.get(n) ?? 'not run: an earlier check failed', evidence: {}, ran: false };
    });
    const f = done.find((c) => !c.ok) ?? null;
    return { valid: !f, checks, failed: f, bugFailing, testRunMs };
  };
  const push = (c: CheckResult) => { done.push(c); return c.ok; };
  const run = async (label: string, diffs: { diff: string; what: string }[], restore: string[] = []): Promise<TestRun> => {
    env.onProgress?.(label);
    // Every run but the original's is of a state of the bug (whole, weakened, one file reverted).
    const ofBug = diffs.length > 0;
    const limits = { ms: env.testTimeoutMs, cpuMs: ofBug ? env.hangLimit?.limitMs() : undefined };
    const exec = async (): Promise<TestRun> => {
      const sb = await treeState(env.provider, env.repoDir, diffs, restore);
      try {
        return await runTestScript(sb, a.testScript, a.testParser, limits.ms, limits.cpuMs);
      } finally {
        await sb.dispose();
      }
    };
    const { run: r, cached } = env.runs
      ? await env.runs.cache.run(StateRunCache.key(env.runs.scope, a.testScript, a.testParser, ...diffs.map((d) => d.diff), `restore\0${restore.join('\0')}`), limits, exec)
      : { run: await exec(), cached: false };
    if (ofBug) env.hangLimit?.observe(r);
    if (!cached) testRunMs += r.durationMs;
    return r;
  };
  const withLog = async (c: CheckResult, runs: Record<string, TestRun>): Promise<CheckResult> => {
    const logs: Record<string, string> = {};
    for (const [k, r] of Object.entries(runs)) logs[k] = await env.saveLog(k, r.log);
    return { ...c, logs };
  };

  const existing = new Map<string, boolean>();
  for (const p of a.testFiles) existing.set(p, await existsInOriginal(env.repoDir, p));
  if (!push(checkTestFiles(a, (p) => existing.get(p) ?? false, env.isTestFile))) return finish();
  if (!push(checkBugScope(a, env.limits))) return finish();

  let original = env.cachedOriginalRun ? await env.cachedOriginalRun(a) : null;
  if (!original) {
    original = await run('original', []);
    // A run the sandbox stopped may owe that to the machine (a disk near full): it is not kept as the reference.
    if (!original.parserError && !original.killed && env.rememberOriginalRun) await env.rememberOriginalRun(a, original);
  }
  const scriptFailed = checkScriptRun(original);
  if (scriptFailed) {
    notRun.set('parser', 'not run: test_script.sh itself failed (see test-script), so its log says nothing of the parser');
    push(await withLog(scriptFailed, { original }));
    return finish();
  }
  if (!push(await withLog(checkParser(original), { original }))) return finish();
  if (!push(await withLog(checkTestScript(original, env.limits), { original }))) return finish();

  const bugDiff = { diff: a.bugInject, what: 'bug_inject.diff' };
  const weakDiff = { diff: a.testWeaken, what: 'test_weaken.diff' };
  let bug: TestRun, weakened: TestRun;
  try {
    bug = await run('bug', [bugDiff]);
  } catch (e) {
    if (e instanceof PatchApplyError) { push({ check: 'bug-validity', ok: false, code: 'patch-does-not-apply', reason: e.message, evidence: {} }); return finish(); }
    throw e;
  }
  bugFailing = Object.keys(original.results).filter((t) => original!.results[t] === 'passed' && bug.results[t] !== 'passed').sort();
  if (!push(await withLog(checkBugValidity(original.results, bug, env.limits), { bug }))) return finish();
  try {
    weakened = await run('weakened', [bugDiff, weakDiff]);
  } catch (e) {
    if (e instanceof PatchApplyError) { push({ check: 'weakening', ok: false, code: 'patch-does-not-apply', reason: e.message, evidence: {} }); return finish(); }
    throw e;
  }
  if (!push(await withLog(checkWeakening(bugFailing, weakened), { weakened }))) return finish();

  const perFile: { file: string; run: TestRun }[] = [];
  for (const file of changedCodeFiles(a)) perFile.push({ file, run: await run(`revert ${file}`, [bugDiff], [file]) });
  push(await withLog(checkInverseMutation(bugFailing, perFile), Object.fromEntries(perFile.map((p) => [`revert:${p.file}`, p.run]))));
  return finish();
}
