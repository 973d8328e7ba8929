/**
 * `ssr replay`: one recorded episode re-run from its stored artifact, from a chosen stage, in a workflow of its own.
 * It records a report next to the episode and never touches the campaign's records, pool or training batch.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { SandboxActivities, ControlActivities } from '../activities/index.js';
import type { ReplayInput, ReplayReport, StageSummary } from '../src/episode/types.js';
import { compareReplay, recordedSummary } from '../src/episode/replay.js';
import { invalidOutcome, solvedOutcome } from '../src/episode/outcome.js';
import { solveRate } from '../src/rewards.js';
import { QUEUES } from './queues.js';

// A worker killed mid-activity costs an attempt (noticed at its heartbeat timeout): eight attempts, at most 30 s
// apart, outlast a bad hour of crashes, while errors that retrying cannot fix are non-retryable and end at once.
const retry = { maximumAttempts: 8, initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: ['ArtifactError', 'ConfigError', 'RepoError', 'SandboxUnavailableError', 'PolicyVersionError'] };
const control = proxyActivities<ControlActivities>({ taskQueue: QUEUES.control, startToCloseTimeout: '1 minute', retry: { ...retry, maximumAttempts: 10 } });

export async function replayWorkflow(i: ReplayInput): Promise<ReplayReport> {
  const startedAt = new Date().toISOString();
  const replayId = workflowInfo().workflowId;
  const sandbox = proxyActivities<SandboxActivities>({
    taskQueue: QUEUES.sandbox, startToCloseTimeout: '30 minutes', heartbeatTimeout: `${i.cfg.heartbeatTimeoutSec} seconds`, retry,
  });
  const base = { episodeId: replayId, repo: i.repo, artifactHash: i.artifactHash, cfg: i.cfg };
  const replayed: StageSummary = { outcome: null, policyVersion: i.policyVersion, checks: [], attempts: [], solveRate: null, checkReportRef: null, error: null };
  try {
    if (i.from === 'check') {
      const chk = await sandbox.checkArtifact(base);
      replayed.checks = chk.checks;
      replayed.checkReportRef = chk.reportRef;
      if (!chk.valid) replayed.outcome = invalidOutcome(chk.failed!.check, chk.failed!.code);
    }
    if (replayed.outcome === null) {
      const n = i.recorded.attempts.length || i.cfg.solves;
      replayed.attempts = await Promise.all(Array.from({ length: n }, async (_, a) => {
        // From `grade` the recorded patch is graded again; otherwise a new attempt writes one.
        const recordedPatch = i.recorded.attempts[a]?.patchRef;
        let patchRef: string, stop: string | null = null;
        if (i.from === 'grade') {
          if (!recordedPatch) throw new Error(`attempt ${a} has no recorded patch to grade`);
          patchRef = recordedPatch;
        } else {
          const s = await sandbox.solveAttempt({ ...base, campaignId: i.recorded.campaignId, attempt: a, policyVersion: i.policyVersion, seed: i.seed });
          patchRef = s.patchRef;
          stop = s.stop;
        }
        const g = await sandbox.gradeAttempt({ ...base, attempt: a, patchRef });
        return { attempt: a, success: g.success, failure: g.failure, reason: g.reason, stop, patchRef, gradeLogRef: g.logRef };
      }));
      replayed.solveRate = solveRate(replayed.attempts.map((a) => a.success));
      replayed.outcome = solvedOutcome(replayed.solveRate);
    }
  } catch (e) {
    replayed.outcome = 'infra-error';
    replayed.error = e instanceof Error ? `${e.name}: ${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}` : String(e);
  }
  try {
    await sandbox.releaseEpisode({ episodeId: replayId });
  } catch {
    // Whatever stays behind is the reaper's.
  }
  const recorded = recordedSummary(i.recorded);
  const differences = compareReplay(i.from, recorded, replayed);
  const report: ReplayReport = {
    replayId, episodeId: i.episodeId, from: i.from, startedAt, finishedAt: new Date().toISOString(), recorded, replayed, differences, same: differences.length === 0,
  };
  await control.recordReplay(report);
  return report;
}
