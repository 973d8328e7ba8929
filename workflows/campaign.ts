/**
 * The campaign: steps of bounded-parallel self-play rounds, each step closed by one gradient step on ssr-gpu.
 * Pause, resume and stop are signals (stop finishes the running step); status is a query. It continues as new
 * every few steps (or when Temporal suggests it) carrying only small state.
 */
import {
  condition, continueAsNew, defineQuery, defineSignal, executeChild, proxyActivities, setHandler, workflowInfo, log,
} from '@temporalio/workflow';
import type { SandboxActivities, ControlActivities, GpuActivities } from '../activities/index.js';
import type { CampaignConfig, RepoInfo, RoundResult, StepMetrics, TrajectoryScore } from '../src/episode/types.js';
import { QUEUES } from './queues.js';
import { SA } from './searchAttributes.js';
import { roundWorkflow } from './round.js';

export interface PoolEntry { artifactHash: string; order: number; parent: string; repo: string }

export interface CampaignState {
  campaignId: string;
  cfg: CampaignConfig;
  repos: RepoInfo[] | null;
  step: number;
  policyVersion: string;
  metrics: StepMetrics[];
  pool: PoolEntry[];
  paused: boolean;
  stopRequested: boolean;
  roundsDone: number;
  roundsFailed: number;
  runs: number;
}

export interface CampaignStatus {
  campaignId: string; step: number; steps: number; policyVersion: string; paused: boolean; stopRequested: boolean;
  roundsDone: number; roundsFailed: number; poolSize: number; currentStep: { step: number; roundsStarted: number; roundsDone: number } | null;
  lastMetrics: StepMetrics | null; metrics: StepMetrics[]; done: boolean;
}

export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const stopSignal = defineSignal('stop');
export const statusQuery = defineQuery<CampaignStatus>('status');

const retry = { maximumAttempts: 5, initialInterval: '2s', backoffCoefficient: 2, nonRetryableErrorTypes: ['RepoError', 'PolicyVersionError', 'ConfigError'] };
const sandbox = proxyActivities<SandboxActivities>({ taskQueue: QUEUES.sandbox, startToCloseTimeout: '2 minutes', retry });
const control = proxyActivities<ControlActivities>({ taskQueue: QUEUES.control, startToCloseTimeout: '1 minute', retry: { ...retry, maximumAttempts: 10 } });
// A gpu worker that dies mid-step is noticed when its heartbeats stop, so the timeout comes from the campaign's config.
// Histories and running campaigns whose config predates the field keep the old two minutes.
// The step is idempotent and a dead gpu worker is its usual failure: five deaths in a row (a soak found it) must not
// fail the campaign, so it gets more tries than the other activities; a step that fails for a reason keeps failing
// within them and says so.
const gpuFor = (heartbeatSec: number | undefined) => proxyActivities<GpuActivities>({
  taskQueue: QUEUES.gpu, startToCloseTimeout: '30 minutes', heartbeatTimeout: `${heartbeatSec ?? 120} seconds`, retry: { ...retry, maximumAttempts: 20 },
});

const MAX_POOL = 200;
const KEEP_METRICS = 50;

export function initialState(campaignId: string, cfg: CampaignConfig): CampaignState {
  return {
    campaignId, cfg, repos: null, step: 0, policyVersion: `${campaignId}@0`, metrics: [], pool: [], paused: false,
    stopRequested: false, roundsDone: 0, roundsFailed: 0, runs: 0,
  };
}

export async function campaignWorkflow(state: CampaignState): Promise<CampaignStatus> {
  const st: CampaignState = { ...state, runs: state.runs + 1 };
  let current: CampaignStatus['currentStep'] = null;
  const status = (done = false): CampaignStatus => ({
    campaignId: st.campaignId, step: st.step, steps: st.cfg.steps, policyVersion: st.policyVersion, paused: st.paused,
    stopRequested: st.stopRequested, roundsDone: st.roundsDone, roundsFailed: st.roundsFailed, poolSize: st.pool.length,
    currentStep: current, lastMetrics: st.metrics.at(-1) ?? null, metrics: st.metrics, done,
  });
  setHandler(pauseSignal, () => { st.paused = true; });
  setHandler(resumeSignal, () => { st.paused = false; });
  setHandler(stopSignal, () => { st.stopRequested = true; });
  setHandler(statusQuery, () => status(false));

  if (!st.repos) st.repos = await Promise.all(st.cfg.repos.map((r) => sandbox.prepareRepo(r)));
  const stepsThisRun = { n: 0 };

  while (st.step < st.cfg.steps && !st.stopRequested) {
    await condition(() => !st.paused || st.stopRequested);
    if (st.stopRequested) break;
    const metrics = await runStep(st, (c) => { current = c; });
    current = null;
    st.metrics = [...st.metrics, metrics].slice(-KEEP_METRICS);
    st.policyVersion = metrics.nextVersion;
    st.step++;
    stepsThisRun.n++;
    if (st.step < st.cfg.steps && !st.stopRequested && (stepsThisRun.n >= st.cfg.continueAsNewEvery || workflowInfo().continueAsNewSuggested)) {
      // Signals that arrive during the hand-over are kept by the next run through the carried state.
      await continueAsNew<typeof campaignWorkflow>(st);
    }
  }
  return status(true);
}

async function runStep(st: CampaignState, onProgress: (c: CampaignStatus['currentStep']) => void): Promise<StepMetrics> {
  const started = Date.now();
  const repos = st.repos!;
  const R = st.cfg.rounds;
  const results: (RoundResult | null)[] = new Array(R).fill(null);
  let next = 0, doneCount = 0;
  onProgress({ step: st.step, roundsStarted: 0, roundsDone: 0 });

  const runOne = async (r: number): Promise<void> => {
    const repo = repos[(st.step * R + r) % repos.length];
    const candidates = st.pool.filter((p) => p.repo === repo.name);
    // Math.random is deterministic inside a workflow (seeded per run): the draw replays identically.
    const pooled = st.cfg.higherOrder.enabled && candidates.length > 0 && Math.random() < st.cfg.higherOrder.drawFraction
      ? candidates[Math.floor(Math.random() * candidates.length)] : null;
    const workflowId = `${st.campaignId}/${st.step}/${r}`;
    try {
      results[r] = await executeChild(roundWorkflow, {
        workflowId,
        taskQueue: QUEUES.control,
        args: [{ campaignId: st.campaignId, step: st.step, round: r, repo, policyVersion: st.policyVersion, cfg: st.cfg,
          pooled: pooled ? { artifactHash: pooled.artifactHash, order: pooled.order, parent: pooled.parent } : null }],
        typedSearchAttributes: [
          { key: SA.campaign, value: st.campaignId }, { key: SA.step, value: st.step }, { key: SA.repo, value: repo.name },
          { key: SA.kind, value: 'round' },
        ],
        workflowExecutionTimeout: '6 hours',
      });
    } catch (e) {
      log.warn('round failed', { workflowId, error: String(e) });
      results[r] = null;
    }
    doneCount++;
    onProgress({ step: st.step, roundsStarted: next, roundsDone: doneCount });
  };

  const lanes = Array.from({ length: Math.min(st.cfg.maxParallelRounds, R) }, async () => {
    while (next < R) await runOne(next++);
  });
  await Promise.all(lanes);

  const ok = results.filter((x): x is RoundResult => x !== null);
  st.roundsDone += ok.length;
  st.roundsFailed += R - ok.length;
  const added: PoolEntry[] = [];
  for (const r of ok) for (const h of r.higherOrder) added.push({ ...h, repo: r.repo });
  st.pool = [...st.pool, ...added].slice(-MAX_POOL);

  const batch: TrajectoryScore[] = ok.flatMap((r) => r.batch);
  const trained = await gpuFor(st.cfg.gpuHeartbeatTimeoutSec).gradientStep({ campaignId: st.campaignId, step: st.step, fromVersion: st.policyVersion, batch, learningRate: st.cfg.learningRate, policy: st.cfg.policy, ablation: st.cfg.ablation, solverGradient: st.cfg.solverGradient, injectorGradient: st.cfg.injectorGradient, alpha: st.cfg.alpha });

  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  const valid = ok.filter((r) => r.valid);
  const injected = ok.filter((r) => r.order === 1);
  const wallMs = Date.now() - started;
  const outcomes: Record<string, number> = {};
  for (const r of results) { const k = r ? r.outcome : 'round-failed'; outcomes[k] = (outcomes[k] ?? 0) + 1; }
  const metrics: StepMetrics = {
    step: st.step, policyVersion: st.policyVersion, nextVersion: trained.version, rounds: R,
    validRate: injected.length ? injected.filter((r) => r.valid).length / injected.length : 0,
    meanSolveRate: mean(valid.map((r) => r.solveRate!)),
    meanInjectorReward: mean(injected.filter((r) => r.injectorReward !== null).map((r) => r.injectorReward!)),
    meanSolverReward: mean(ok.flatMap((r) => r.solverRewards)),
    higherOrderAdded: added.length,
    episodesPerHour: wallMs > 0 ? (ok.length * 3_600_000) / wallMs : 0,
    wallMs, outcomes,
  };
  await control.recordStep({ campaignId: st.campaignId, metrics });
  return metrics;
}
