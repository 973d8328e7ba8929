/**
 * What a replay compares: the recorded and the replayed episode reduced to the same summary, and their
 * differences in words. Pure functions: the replay workflow calls them directly.
 */
import type { EpisodeRecord, ReplayStage, StageSummary } from './types.js';

export function recordedSummary(rec: EpisodeRecord): StageSummary {
  return {
    outcome: rec.outcome, policyVersion: rec.policyVersion,
    checks: rec.checks.map((c) => ({ check: c.check, ok: c.ok, ran: c.ran, code: c.code, reason: c.reason })),
    attempts: rec.attempts.map((a) => ({ attempt: a.attempt, success: a.success, failure: a.failure, reason: a.reason, stop: a.stop, patchRef: a.patchRef, gradeLogRef: a.gradeLogRef })),
    solveRate: rec.solveRate, checkReportRef: rec.checkReportRef, error: rec.outcome === 'infra-error' ? rec.reason : null,
  };
}

const verdict = (c: { ok: boolean; ran: boolean; code?: string }) => (c.ok ? 'ok' : c.ran ? `FAIL [${c.code ?? 'failed'}]` : 'not run');
const attemptVerdict = (a: { success: boolean; failure: string | null }) => (a.success ? 'success' : a.failure ?? 'failed');
type AttemptVerdict = { success: boolean; failure: string | null; patchRef?: string | null };
/**
 * Graders before 'no-change' ran a patch that changes no code and recorded how the bug failed (tests-fail, a
 * timeout): for one patch, that and 'no-change' are the same verdict, not a difference to report.
 */
const sameVerdict = (a: AttemptVerdict, b: AttemptVerdict) => attemptVerdict(a) === attemptVerdict(b)
  || (!a.success && !b.success && !!a.patchRef && a.patchRef === b.patchRef && (a.failure === 'no-change' || b.failure === 'no-change'));

/**
 * The differences that matter for the stage replayed: from `check`, every check's verdict (and, when the artifact
 * is rejected, the outcome); from `grade`, every attempt's verdict and the outcome; from `solve`, the outcome and
 * each attempt (a new solve is free to differ; the report says how).
 */
export function compareReplay(from: ReplayStage, recorded: StageSummary, replayed: StageSummary): string[] {
  const out: string[] = [];
  if (from === 'check') {
    for (const r of replayed.checks) {
      const c = recorded.checks.find((x) => x.check === r.check);
      if (!c) { if (recorded.checks.length) out.push(`check ${r.check}: not recorded, replayed ${verdict(r)}`); continue; }
      if (verdict(c) !== verdict(r)) out.push(`check ${r.check}: recorded ${verdict(c)}, replayed ${verdict(r)}`);
    }
  }
  if (from !== 'check' || replayed.checks.every((c) => c.ok)) {
    const n = Math.max(recorded.attempts.length, replayed.attempts.length);
    for (let k = 0; k < n; k++) {
      const a = recorded.attempts[k], b = replayed.attempts[k];
      if (!a || !b) { out.push(`attempt ${k}: ${a ? 'recorded' : 'replayed'} only`); continue; }
      if (!sameVerdict(a, b)) out.push(`attempt ${k}: recorded ${attemptVerdict(a)}, replayed ${attemptVerdict(b)}`);
    }
  }
  if (recorded.outcome !== replayed.outcome) out.push(`outcome: recorded ${recorded.outcome}, replayed ${replayed.outcome}`);
  return out;
}
