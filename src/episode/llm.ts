/**
 * The episode operations when the policy is a language model: the same inputs and outputs as the embedded ones
 * (service.ts dispatches here), so checks, grading, rewards and the workflows do not know which policy played.
 * Each agent turn is checkpointed in the store, so a retried activity (a dead worker, a model server that was down
 * past its retries) resumes the conversation and never resends a turn the model already answered.
 */
import { putArtifact } from '../artifact/artifact.js';
import { sandboxes } from './sandboxes.js';
import { reverseDiff } from '../artifact/diff.js';
import type { Artifact } from '../artifact/artifact.js';
import { createChatModel } from '../agents/llm/client.js';
import { llmInject } from '../agents/llm/injector.js';
import { llmSolve } from '../agents/llm/solver.js';
import type { Checkpoint, LoopResult } from '../agents/llm/loop.js';
import { TOOLS } from '../agents/llm/tools.js';
import { trajectoryLine } from '../agents/llm/trajectory.js';
import type { InjectStrategy } from '../agents/llm/prompts.js';
import { taskStatement } from '../agents/solver.js';
import { Rng } from '../policy/rng.js';
import { parseVersion } from '../policy/versions.js';
import { readLlmPolicy } from '../trainer/external.js';
import type { Runtime } from '../runtime.js';
import type { Sandbox } from '../sandbox/types.js';
import type { CampaignConfig, InjectInput, InjectOutput, SolveInput, SolveOutput, Strategy } from './types.js';

type Progress = (what: string) => void;

async function modelFor(rt: Runtime, cfg: CampaignConfig, version: string, progress?: Progress) {
  const { campaign, step } = parseVersion(version);
  const v = await readLlmPolicy(rt.store, campaign, step, cfg.policy.llm.model);
  return { model: v.model, client: createChatModel({ ...cfg.policy.llm, model: v.model }, { log: progress }) };
}

/** Checkpoints live beside the episode: checkpoints/<episode>/<role>.json, removed once the trajectory is stored. */
const ckKey = (episodeId: string, what: string) => `checkpoints/${episodeId}/${what}.json`;

function loopHooks(rt: Runtime, key: string, progress?: Progress) {
  return {
    onTurn: async (c: Checkpoint) => { await rt.store.putJson(key, c); },
    onWait: () => progress?.('waiting for the model'),
  };
}

async function storeTrajectory(rt: Runtime, role: 'injector' | 'solver', episodeId: string, policyVersion: string, loop: LoopResult, meta: Record<string, unknown>) {
  return rt.store.putBlob(trajectoryLine({
    messages: loop.messages, tools: TOOLS, role, policy_version: policyVersion, episode_id: episodeId, reward: null, stop: loop.stop, meta,
  }));
}

export async function llmInjectBug(rt: Runtime, i: InjectInput, progress?: Progress): Promise<InjectOutput> {
  const pol = i.cfg.policy;
  const rng = new Rng(`${i.seed}/inject`);
  const strategy = pol.strategies[Math.floor(rng.next() * pol.strategies.length)] as InjectStrategy;
  const { model, client } = await modelFor(rt, i.cfg, i.policyVersion, progress);
  const key = ckKey(i.episodeId, 'injector');
  const resume = (await rt.store.getJson<Checkpoint>(key)) ?? undefined;
  const sb = await sandboxes(rt, i.cfg).create({ base: i.repo.path }, undefined, { campaign: i.campaignId, episode: i.episodeId });
  try {
    const r = await llmInject({
      sandbox: sb, client, cfg: pol.llm, strategy, resume, random: () => rng.next(), log: progress,
      limits: { minPassingTests: i.cfg.minPassingTests, minChangedFiles: i.cfg.minChangedFiles, minFailingTests: i.cfg.minFailingTests },
      ...loopHooks(rt, key, progress),
    });
    // The model server stayed down past the client's retries: the activity's retry resumes from the checkpoint.
    if (!r.ok && r.code === 'model-error') throw new Error(`the injector's model failed: ${r.reason}`);
    const trajectoryRef = await storeTrajectory(rt, 'injector', i.episodeId, i.policyVersion, r.loop, { strategy, assigned: r.assigned, model });
    const strat = (r.assigned ?? (strategy === 'removal-history' ? 'removal' : strategy)) as Strategy;
    const base = { strategy: strat, trajectoryRef, testRunMs: 0, testRuns: 0 };
    if (!r.ok) return { ok: false, code: r.code, reason: r.reason, ...base };
    const m = await putArtifact(rt.store, r.artifact, {
      repo: i.repo.name, baseCommit: i.repo.commit, strategy, parent: null, order: 1, policyVersion: i.policyVersion, createdBy: `llm-injector:${model}`,
    });
    return { ok: true, artifactHash: m.hash, description: `${strategy} injection by ${model} (${r.loop.turns} turns, stop ${r.loop.stop})`, ...base };
  } finally {
    await sb.dispose();
  }
}

export async function llmSolveAttempt(rt: Runtime, i: SolveInput, artifact: Artifact, create: () => Promise<Sandbox>, progress?: Progress): Promise<SolveOutput> {
  const { model, client } = await modelFor(rt, i.cfg, i.policyVersion, progress);
  const key = ckKey(i.episodeId, `solver-${i.attempt}`);
  const resume = (await rt.store.getJson<Checkpoint>(key)) ?? undefined;
  const sb = await create();
  try {
    const r = await llmSolve({ sandbox: sb, client, cfg: i.cfg.policy.llm, task: taskStatement(reverseDiff(artifact.testWeaken)), resume, log: progress, ...loopHooks(rt, key, progress) });
    if (r.stop === 'model-error') throw new Error(`the solver's model failed: ${r.reason}`);
    const patchRef = await rt.store.putBlob(r.patch);
    const trajectoryRef = await storeTrajectory(rt, 'solver', i.episodeId, i.policyVersion, r.loop, { attempt: i.attempt, model });
    return { patchRef, stop: r.stop, trajectoryRef, testRunMs: 0, testRuns: 0, selfReportedPass: r.stop === 'submit' };
  } finally {
    await sb.dispose();
  }
}
