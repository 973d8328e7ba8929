/**
 * The small values that flow between workflows and activities. Everything large (diffs, logs, trajectories,
 * artifacts) lives in the store and is named here by reference. Types only: workflows import this file.
 */
import type { CampaignConfig, Strategy } from '../config/schema.js';
import type { RepoInfo } from '../repo/describe.js';
import type { RejectedEdits } from './grade.js';

export type { CampaignConfig, Strategy, RepoInfo };

export type Outcome =
  | 'solved-some'         // valid bug, 0 < s < 1
  | 'solved-all'          // valid bug, s = 1
  | 'solved-none'         // valid bug, s = 0
  | `invalid:${string}`   // failed a consistency check: invalid:<check>:<code>
  | `inject-failed:${string}` // no artifact: no-test-runner, no-bug-found, ...
  | 'infra-error';

export interface InjectInput {
  campaignId: string; episodeId: string; repo: RepoInfo; policyVersion: string; seed: string; cfg: CampaignConfig;
}
export type InjectOutput =
  | { ok: true; artifactHash: string; strategy: Strategy; description: string; trajectoryRef: string; testRunMs: number; testRuns: number }
  | { ok: false; code: string; reason: string; strategy: Strategy | null; trajectoryRef: string; testRunMs: number; testRuns: number };

export interface CheckInput { episodeId: string; repo: RepoInfo; artifactHash: string; cfg: CampaignConfig }
export interface CheckSummary {
  check: string; ok: boolean; ran: boolean; code?: string; reason: string;
}
export interface CheckOutput {
  valid: boolean; failed: CheckSummary | null; checks: CheckSummary[]; bugFailing: number; reportRef: string; testRunMs: number;
}

export interface SolveInput {
  campaignId: string; episodeId: string; attempt: number; repo: RepoInfo; artifactHash: string; policyVersion: string; seed: string; cfg: CampaignConfig;
}
export interface SolveOutput { patchRef: string; stop: string; trajectoryRef: string; testRunMs: number; testRuns: number; selfReportedPass: boolean }

export interface GradeInput { episodeId: string; attempt: number; repo: RepoInfo; artifactHash: string; patchRef: string; cfg: CampaignConfig }
export interface GradeOutput {
  success: boolean; failure: string | null; reason: string; logRef: string | null; testRunMs: number;
  /** The patch's changes to oracle test files, dropped before grading; absent from outputs of older workers. */
  rejectedEdits?: RejectedEdits | null;
  /** The grade of the same patch run before in this worker process (solverRunCache), not run again. */
  reused?: boolean;
}

export interface HigherOrderInput {
  campaignId: string; episodeId: string; repo: RepoInfo; artifactHash: string; patchRef: string; order: number; cfg: CampaignConfig;
}
export interface HigherOrderOutput { added: boolean; artifactHash: string | null; reason: string }

export interface TrajectoryScore { trajectoryRef: string; role: 'injector' | 'solver'; reward: number; group: string }

export interface GradientInput {
  campaignId: string; step: number; fromVersion: string; batch: TrajectoryScore[]; learningRate: number;
  /** Absent in histories from before LLM policies: the embedded policy. */
  policy?: CampaignConfig['policy'];
  /** Absent in histories from before the ablation switch: self-play. */
  ablation?: CampaignConfig['ablation'];
  /** Absent in histories from before the expected solver gradient: the sampled attempts only. */
  solverGradient?: CampaignConfig['solverGradient'];
  /** Absent in histories from before the injector's expected reward: the sampled rewards. */
  injectorGradient?: CampaignConfig['injectorGradient'];
  /** The campaign's alpha, which the expected reward is computed with; passed along with `injectorGradient`. */
  alpha?: number;
}
export interface GradientOutput {
  version: string; alreadyTrained: boolean; trajectories: number; decisions: number; gradNorm: number;
  /** The loss on the step's batch before and after the update, and the onnxruntime provider that ran it (embedded policy). */
  lossBefore?: number; lossAfter?: number; provider?: string;
}

export interface AttemptRecord {
  attempt: number; success: boolean; reward: number; stop: string; failure: string | null; reason: string;
  patchRef: string; trajectoryRef: string; gradeLogRef: string | null;
  /** The patch tried to change or delete oracle test files (dropped, then graded); absent in older records. */
  rejectedEdits?: RejectedEdits | null;
}

/** One self-play episode as recorded in the store (and summarised in Temporal's search attributes). */
export interface EpisodeRecord {
  id: string;
  campaignId: string;
  step: number;
  round: number;
  repo: string;
  repoPath: string;
  policyVersion: string;
  /** 1 for an injected bug, 2+ for a higher-order bug drawn from the pool. */
  order: number;
  strategy: string | null;
  outcome: Outcome;
  reason: string;
  artifactHash: string | null;
  parentArtifact: string | null;
  checks: CheckSummary[];
  checkReportRef: string | null;
  solveRate: number | null;
  injectorReward: number | null;
  attempts: AttemptRecord[];
  injectorTrajectoryRef: string | null;
  higherOrderAdded: string[];
  testRunMs: number;
  wallMs: number;
  startedAt: string;
  finishedAt: string;
  /** What `ssr replay` needs to re-run a stage: the seed, the repository and (by reference) the campaign config. */
  seed?: string;
  repoInfo?: RepoInfo;
  configRef?: string | null;
}

/** The stage a replay starts from: re-check the stored artifact, re-solve it, or re-grade the recorded patches. */
export type ReplayStage = 'check' | 'solve' | 'grade';
export const REPLAY_STAGES: readonly ReplayStage[] = ['check', 'solve', 'grade'];

export interface ReplayInput {
  episodeId: string;
  from: ReplayStage;
  policyVersion: string;
  seed: string;
  repo: RepoInfo;
  cfg: CampaignConfig;
  artifactHash: string;
  recorded: EpisodeRecord;
}

/** The comparable part of an episode, recorded or replayed. */
export interface StageSummary {
  outcome: Outcome | null;
  policyVersion: string;
  checks: { check: string; ok: boolean; ran: boolean; code?: string; reason: string }[];
  attempts: { attempt: number; success: boolean; failure: string | null; reason: string; stop: string | null; patchRef: string; gradeLogRef: string | null }[];
  solveRate: number | null;
  checkReportRef: string | null;
  error: string | null;
}

export interface ReplayReport {
  replayId: string;
  episodeId: string;
  from: ReplayStage;
  startedAt: string;
  finishedAt: string;
  recorded: StageSummary;
  replayed: StageSummary;
  /** Each way the replay differs from the record, in words; empty when it reproduced it. */
  differences: string[];
  same: boolean;
}

export interface RoundInput {
  campaignId: string; step: number; round: number; repo: RepoInfo; policyVersion: string; cfg: CampaignConfig;
  /** A pooled higher-order bug to solve instead of injecting one. */
  pooled: { artifactHash: string; order: number; parent: string | null } | null;
}

export interface RoundResult {
  episodeId: string;
  repo: string;
  outcome: Outcome;
  valid: boolean;
  solveRate: number | null;
  injectorReward: number | null;
  solverRewards: number[];
  batch: TrajectoryScore[];
  higherOrder: { artifactHash: string; order: number; parent: string }[];
  order: number;
  testRunMs: number;
  wallMs: number;
}

export interface StepMetrics {
  step: number;
  policyVersion: string;
  nextVersion: string;
  rounds: number;
  validRate: number;
  meanSolveRate: number | null;
  meanInjectorReward: number | null;
  meanSolverReward: number | null;
  higherOrderAdded: number;
  episodesPerHour: number;
  wallMs: number;
  outcomes: Record<string, number>;
}
