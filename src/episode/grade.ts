import type { Artifact } from '../artifact/artifact.js';
import { DiffError, filterDiff, parseDiff } from '../artifact/diff.js';
import type { SandboxProvider } from '../sandbox/types.js';
import { PatchApplyError, runTestScript, type TestResults, type TestRun } from '../repo/testrun.js';
import { treeState } from '../repo/tree.js';

export type GradeFailure = 'malformed-patch' | 'binary-patch' | 'patch-does-not-apply' | 'no-change' | 'tests-fail' | 'parser-failed' | 'timeout' | 'tests-missing';

export type RejectedEditCode = 'edits-test-files' | 'deletes-test-files';

/**
 * The part of a solver's patch the method refuses: changes to the oracle test files. They are dropped and the files
 * restored before grading (so grading is as the spec says), but the attempt's record shows that it tried.
 * 'deletes-test-files' when any oracle file is deleted, else 'edits-test-files'.
 */
export interface RejectedEdits { code: RejectedEditCode; files: string[] }

export interface GradeResult {
  success: boolean;
  failure: GradeFailure | null;
  reason: string;
  /** Files of the patch dropped because they are oracle test files (restored before grading anyway). */
  droppedTestEdits: string[];
  rejectedEdits: RejectedEdits | null;
  run: TestRun | null;
}

/** Which oracle files a patch touches, and whether it deletes any of them. */
export function oracleEdits(patch: string, oracle: ReadonlySet<string>): RejectedEdits | null {
  const files = new Set<string>();
  let deletes = false;
  for (const f of parseDiff(patch)) {
    for (const p of [f.oldPath, f.newPath]) if (p && oracle.has(p)) files.add(p);
    // A rename away from an oracle file removes it from where the test script looks, as a deletion does.
    if (f.oldPath && oracle.has(f.oldPath) && f.newPath !== f.oldPath) deletes = true;
  }
  return files.size ? { code: deletes ? 'deletes-test-files' : 'edits-test-files', files: [...files].sort() } : null;
}

/**
 * Grading, as the method defines it: original → bug_inject.diff → test_weaken.diff → the solver's patch (minus any
 * change to the oracle test files) → restore every file in test_files.txt → run test_script.sh | test_parser.py.
 * Success only if every test passes, including every test that passed on the original.
 *
 * A patch that changes nothing outside the oracle files is not run: its tree is the buggy code under the original
 * tests, the very state the bug-validity check saw fail before any attempt was made (only a validated artifact is
 * solved). Running it again cost the whole time limit for every failed attempt at a bug that makes the suite hang.
 */
export async function grade(provider: SandboxProvider, repoDir: string, a: Artifact, patch: string, original: TestResults, timeoutMs: number): Promise<GradeResult> {
  const oracle = new Set(a.testFiles);
  let kept: string, rejected: RejectedEdits | null;
  try {
    rejected = patch.trim() ? oracleEdits(patch, oracle) : null;
    kept = patch.trim() ? filterDiff(patch, (p) => !oracle.has(p)) : '';
  } catch (e) {
    if (e instanceof DiffError) {
      return { success: false, failure: e.code === 'binary' ? 'binary-patch' : 'malformed-patch', reason: e.message, droppedTestEdits: [], rejectedEdits: null, run: null };
    }
    throw e;
  }
  const dropped = rejected?.files ?? [];
  const rejectedNote = rejected ? ` (its ${rejected.code === 'deletes-test-files' ? 'deletion' : 'edits'} of ${rejected.files.join(', ')} dropped: oracle test files are restored)` : '';
  if (!kept.trim()) {
    const reason = 'the patch changes no file outside the oracle tests: the tree is the validated bug, whose tests fail (not run again)';
    return { success: false, failure: 'no-change', reason: reason + rejectedNote, droppedTestEdits: dropped, rejectedEdits: rejected, run: null };
  }
  let sb;
  try {
    sb = await treeState(provider, repoDir, [
      { diff: a.bugInject, what: 'bug_inject.diff' },
      { diff: a.testWeaken, what: 'test_weaken.diff' },
      { diff: kept, what: "the solver's patch" },
    ], a.testFiles);
  } catch (e) {
    if (e instanceof PatchApplyError) return { success: false, failure: 'patch-does-not-apply', reason: e.message + rejectedNote, droppedTestEdits: dropped, rejectedEdits: rejected, run: null };
    throw e;
  }
  try {
    const run = await runTestScript(sb, a.testScript, a.testParser, timeoutMs);
    const f = Object.keys(run.results).filter((k) => run.results[k] === 'failed');
    const missing = Object.keys(original).filter((k) => original[k] === 'passed' && !(k in run.results));
    const res = (success: boolean, failure: GradeFailure | null, reason: string): GradeResult => ({ success, failure, reason: reason + rejectedNote, droppedTestEdits: dropped, rejectedEdits: rejected, run });
    if (run.killed === 'timeout') return res(false, 'timeout', 'the test script ran past its time limit');
    if (run.parserError) return res(false, 'parser-failed', run.parserError);
    if (f.length) return res(false, 'tests-fail', `${f.length} tests fail: ${f.slice(0, 5).join(', ')}`);
    if (missing.length || Object.keys(run.results).length === 0) return res(false, 'tests-missing', `${missing.length} tests that pass on the original did not run: ${missing.slice(0, 5).join(', ')}`);
    return res(true, null, `all ${Object.keys(run.results).length} tests pass`);
  } finally {
    await sb.dispose();
  }
}
