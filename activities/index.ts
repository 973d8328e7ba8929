/**
 * Activities: thin adapters from Temporal to the domain in src/. Each validates nothing the domain does not,
 * heartbeats when long, and returns small values with references into the store.
 */
import type { Runtime } from '../src/runtime.js';
import * as svc from '../src/episode/service.js';
import { prepareRepo } from '../src/repo/prepare.js';
import type { RepoSpec } from '../src/config/schema.js';
import { trainStep } from '../src/trainer/step.js';
import { externalTrainStep } from '../src/trainer/external.js';
import { putEpisode, putReplay, putStepMetrics } from '../src/store/records.js';
import type {
  CheckInput, EpisodeRecord, GradeInput, GradientInput, HigherOrderInput, InjectInput, SolveInput, StepMetrics, RepoInfo,
  CampaignConfig, ReplayReport,
} from '../src/episode/types.js';
import { withHeartbeat } from './heartbeat.js';

export function createSandboxActivities(rt: Runtime) {
  const withWarm = async <T>(fn: (p: (what: string) => void) => Promise<T>): Promise<T> =>
    withHeartbeat(async (p) => { p('warming toolchain caches'); await rt.warm(); return fn(p); });
  return {
    async prepareRepo(i: RepoSpec): Promise<RepoInfo> {
      return withHeartbeat(() => prepareRepo(rt.home, i));
    },
    async releaseEpisode(i: { episodeId: string }): Promise<void> {
      await svc.releaseEpisode(rt, i.episodeId);
    },
    async injectBug(i: InjectInput) {
      return withWarm((p) => svc.injectBug(rt, i, p));
    },
    async checkArtifact(i: CheckInput) {
      return withWarm((p) => svc.checkArtifact(rt, i, p));
    },
    async solveAttempt(i: SolveInput) {
      return withWarm((p) => svc.solveAttempt(rt, i, p));
    },
    async gradeAttempt(i: GradeInput) {
      return withWarm(() => svc.gradeAttempt(rt, i));
    },
    async buildHigherOrder(i: HigherOrderInput) {
      return withWarm((p) => svc.buildHigherOrder(rt, i, p));
    },
  };
}

export function createControlActivities(rt: Runtime) {
  return {
    async recordEpisode(rec: EpisodeRecord, ctx?: { cfg: CampaignConfig; repo: RepoInfo; seed: string }): Promise<string> {
      // Histories from before the context was passed call this with the record alone.
      if (!ctx) return putEpisode(rt.store, rec);
      const configRef = await rt.store.putBlob(JSON.stringify(ctx.cfg));
      return putEpisode(rt.store, { ...rec, seed: ctx.seed, repoInfo: ctx.repo, configRef });
    },
    async recordReplay(report: ReplayReport): Promise<string> {
      return putReplay(rt.store, report);
    },
    async ping(i: number): Promise<number> {
      return i;
    },
    async recordStep(i: { campaignId: string; metrics: StepMetrics }): Promise<void> {
      await putStepMetrics(rt.store, i.campaignId, i.metrics);
    },
  };
}

export function createGpuActivities(rt: Runtime) {
  return {
    async gradientStep(i: GradientInput) {
      // An LLM policy trains outside: the trainer the campaign names, then the inference server loads the result.
      if (i.policy?.kind === 'llm') return withHeartbeat((p) => externalTrainStep(rt.store, i, i.policy!.trainer, i.policy!.load ?? null, p));
      return withHeartbeat(() => trainStep(rt.store, i));
    },
  };
}

export type SandboxActivities = ReturnType<typeof createSandboxActivities>;
export type ControlActivities = ReturnType<typeof createControlActivities>;
export type GpuActivities = ReturnType<typeof createGpuActivities>;
