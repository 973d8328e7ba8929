/** One self-play episode: inject → check → N × (solve → grade) → rewards → higher-order bugs → record. */
import { patched, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { SandboxActivities, ControlActivities } from '../activities/index.js';
import type { AttemptRecord, EpisodeRecord, Outcome, RoundInput, RoundResult, TrajectoryScore, CheckSummary } from '../src/episode/types.js';
import { injectorReward, solveRate, solverReward } from '../src/rewards.js';
import { invalidOutcome, solvedOutcome } from '../src/episode/outcome.js';
import { episodeSeed } from '../src/episode/seed.js';
import { QUEUES } from './queues.js';
import { SA } from './searchAttributes.js';

// A worker killed mid-activity costs an attempt (noticed at its heartbeat timeout): eight attempts, at most 30 s
// apart, outlast a bad hour of crashes, while errors that retrying cannot fix are non-retryable and end at once.
const retry = { maximumAttempts: 8, initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: ['ArtifactError', 'ConfigError', 'RepoError', 'SandboxUnavailableError', 'PolicyVersionError'] };

// A dead sandbox worker is noticed when its heartbeats stop; the activity is then retried on another worker.
const sandboxFor = (heartbeatSec: number) => proxyActivities<SandboxActivities>({
  taskQueue: QUEUES.sandbox, startToCloseTimeout: '30 minutes', heartbeatTimeout: `${heartbeatSec} seconds`, retry,
});
const control = proxyActivities<ControlActivities>({
  taskQueue: QUEUES.control, startToCloseTimeout: '1 minute', retry: { ...retry, maximumAttempts: 10 },
});

export async function roundWorkflow(i: RoundInput): Promise<RoundResult> {
  const started = Date.now();
  const sandbox = sandboxFor(i.cfg.heartbeatTimeoutSec);
  const episodeId = workflowInfo().workflowId;
  // Rounds recorded before src/episode/seed.ts named the campaign in their seed, and replay with that seed.
  const seed = patched('seed-without-campaign') ? episodeSeed(i.cfg.seed, i.campaignId, episodeId, i.policyVersion) : `${i.cfg.seed}/${episodeId}/${i.policyVersion}`;
  const batch: TrajectoryScore[] = [];
  const rec: EpisodeRecord = {
    id: episodeId, campaignId: i.campaignId, step: i.step, round: i.round, repo: i.repo.name, repoPath: i.repo.path,
    policyVersion: i.policyVersion, order: i.pooled?.order ?? 1, strategy: null, outcome: 'infra-error', reason: '',
    artifactHash: i.pooled?.artifactHash ?? null, parentArtifact: i.pooled?.parent ?? null, checks: [], checkReportRef: null,
    solveRate: null, injectorReward: null, attempts: [], injectorTrajectoryRef: null, higherOrderAdded: [], testRunMs: 0, wallMs: 0,
    startedAt: new Date(started).toISOString(), finishedAt: '',
  };
  const higherOrder: RoundResult['higherOrder'] = [];

  const finish = async (outcome: Outcome, reason: string): Promise<RoundResult> => {
    rec.outcome = outcome;
    rec.reason = reason;
    rec.wallMs = Date.now() - started;
    rec.finishedAt = new Date().toISOString();
    // Added after campaigns were already running: histories recorded before it replay without this activity.
    if (patched('release-episode-sandboxes')) {
      try {
        await sandbox.releaseEpisode({ episodeId });
      } catch {
        // Whatever stays behind is the reaper's; the episode's record matters more.
      }
    }
    // The config and repository go with the record, so that `ssr replay` can re-run any stage of it later.
    await control.recordEpisode(rec, { cfg: i.cfg, repo: i.repo, seed });
    upsertSearchAttributes([
      { key: SA.outcome, value: outcome },
      { key: SA.strategy, value: rec.strategy ?? 'none' },
      ...(rec.solveRate === null ? [] : [{ key: SA.solveRate, value: rec.solveRate }]),
    ]);
    return {
      episodeId, repo: i.repo.name, outcome, valid: rec.solveRate !== null, solveRate: rec.solveRate, injectorReward: rec.injectorReward,
      solverRewards: rec.attempts.map((a) => a.reward), batch, higherOrder, order: rec.order, testRunMs: rec.testRunMs, wallMs: rec.wallMs,
    };
  };

  try {
    let artifactHash: string;
    if (!i.pooled) {
      const inj = await sandbox.injectBug({ campaignId: i.campaignId, episodeId, repo: i.repo, policyVersion: i.policyVersion, seed, cfg: i.cfg });
      rec.testRunMs += inj.testRunMs;
      rec.strategy = inj.strategy;
      rec.injectorTrajectoryRef = inj.trajectoryRef;
      if (!inj.ok) {
        // No artifact at all is the injector's failure to produce a consistent one: r_inject = -1.
        rec.injectorReward = injectorReward(false, 0, i.cfg.alpha);
        batch.push({ trajectoryRef: inj.trajectoryRef, role: 'injector', reward: rec.injectorReward, group: episodeId });
        return await finish(`inject-failed:${inj.code}`, inj.reason);
      }
      artifactHash = inj.artifactHash;
      rec.artifactHash = artifactHash;
      const chk = await sandbox.checkArtifact({ episodeId, repo: i.repo, artifactHash, cfg: i.cfg });
      rec.testRunMs += chk.testRunMs;
      rec.checks = chk.checks as CheckSummary[];
      rec.checkReportRef = chk.reportRef;
      if (!chk.valid) {
        rec.injectorReward = injectorReward(false, 0, i.cfg.alpha);
        batch.push({ trajectoryRef: inj.trajectoryRef, role: 'injector', reward: rec.injectorReward, group: episodeId });
        return await finish(invalidOutcome(chk.failed!.check, chk.failed!.code), chk.failed!.reason);
      }
      batch.push({ trajectoryRef: inj.trajectoryRef, role: 'injector', reward: 0, group: episodeId });
    } else {
      artifactHash = i.pooled.artifactHash;
    }

    const attempts = await Promise.all(Array.from({ length: i.cfg.solves }, async (_, a): Promise<AttemptRecord> => {
      const s = await sandbox.solveAttempt({ campaignId: i.campaignId, episodeId, attempt: a, repo: i.repo, artifactHash, policyVersion: i.policyVersion, seed, cfg: i.cfg });
      const g = await sandbox.gradeAttempt({ episodeId, attempt: a, repo: i.repo, artifactHash, patchRef: s.patchRef, cfg: i.cfg });
      rec.testRunMs += s.testRunMs + g.testRunMs;
      return {
        attempt: a, success: g.success, reward: solverReward(g.success), stop: s.stop, failure: g.failure, reason: g.reason,
        patchRef: s.patchRef, trajectoryRef: s.trajectoryRef, gradeLogRef: g.logRef, rejectedEdits: g.rejectedEdits ?? null,
      };
    }));
    rec.attempts = attempts;
    const s = solveRate(attempts.map((a) => a.success));
    rec.solveRate = s;
    for (const a of attempts) batch.push({ trajectoryRef: a.trajectoryRef, role: 'solver', reward: a.reward, group: episodeId });
    if (!i.pooled) {
      rec.injectorReward = injectorReward(true, s, i.cfg.alpha);
      batch[0].reward = rec.injectorReward;
    }

    const ho = i.cfg.higherOrder;
    if (ho.enabled && rec.order < ho.maxOrder) {
      const failedAttempts = attempts.filter((a) => !a.success && a.stop !== 'no-candidates').slice(0, ho.perRound);
      for (const a of failedAttempts) {
        const h = await sandbox.buildHigherOrder({ campaignId: i.campaignId, episodeId, repo: i.repo, artifactHash, patchRef: a.patchRef, order: rec.order + 1, cfg: i.cfg });
        if (h.added && h.artifactHash) {
          rec.higherOrderAdded.push(h.artifactHash);
          higherOrder.push({ artifactHash: h.artifactHash, order: rec.order + 1, parent: artifactHash });
        }
      }
    }
    const outcome: Outcome = solvedOutcome(s);
    return await finish(outcome, `solve rate ${s.toFixed(2)} over ${attempts.length} attempts`);
  } catch (e) {
    // An infrastructure failure that outlived its retries: the episode is recorded as such and the campaign goes on.
    const msg = e instanceof Error ? `${e.name}: ${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}` : String(e);
    batch.length = 0;
    rec.injectorReward = null;
    rec.solveRate = null;
    return await finish('infra-error', msg);
  }
}
