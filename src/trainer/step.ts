import type { Store, BlobRef } from '../store/store.js';
import type { MlpWeights } from '../policy/onnx/model.js';
import { expectedSolverBatch, knownBugs, type AttemptOutcome, type KnownBug } from './expected.js';
import { parseVersion, versionName } from '../policy/versions.js';
import { hasOnnxPolicy, loadOnnxWeights, saveOnnxPolicy } from '../policy/onnx/store.js';
import { trainStepOnnx } from '../policy/onnx/trainGraph.js';
import { readTrajectory, type Role, type ScoredTrajectory } from './gradient.js';
import type { CampaignConfig } from '../config/schema.js';
import type { GradientInput, GradientOutput } from '../episode/types.js';
import { faultPause } from '../faults.js';
import { randomUUID } from 'node:crypto';

/**
 * The roles whose trajectories train the policy: both in self-play (the method), one in the paper's ablations. The
 * other role still plays (the solver still solves an injection-only campaign's bugs, and its solve rate still
 * rewards the injector); it just never learns from it.
 */
export function trainedRoles(ablation: CampaignConfig['ablation'] | undefined): Role[] {
  if (ablation === 'injection-only') return ['injector'];
  if (ablation === 'repair-only') return ['solver'];
  return ['injector', 'solver'];
}

/**
 * The gradient step of (campaign, step): the trajectories of the step update the one ONNX policy. Idempotent:
 * when the next version already exists (a retried or replayed step) it is returned and nothing trains twice.
 */
export async function trainStep(store: Store, i: GradientInput): Promise<GradientOutput> {
  const next = versionName(i.campaignId, i.step + 1);
  const statsKey = `train/${i.campaignId}/${i.step}.json`;
  if (await hasOnnxPolicy(store, next)) {
    // The policy was written but its ledger entry was not (the write failed, or the worker died in between): the
    // entry is owed to the one policy written, not a sign of a second one.
    if (!(await store.list(`train/${i.campaignId}/ledger`)).some((f) => f.startsWith(`${i.step}-`))) await writeLedger(store, i.step, next);
    const s = await store.getJson<GradientOutput>(statsKey);
    return { ...(s ?? { version: next, trajectories: 0, decisions: 0, gradNorm: 0 }), version: next, alreadyTrained: true };
  }
  const weights = await loadOnnxWeights(store, i.fromVersion);
  const roles = trainedRoles(i.ablation);
  const sampled: ScoredTrajectory[] = [];
  const outcomes = new Map<string, AttemptOutcome[]>();
  for (const t of i.batch) {
    if (!roles.includes(t.role)) continue;
    const traj = await readTrajectory(store, t.trajectoryRef);
    sampled.push({ role: t.role, reward: t.reward, group: t.group, decisions: traj.decisions ?? [] });
    if (t.role === 'solver') (outcomes.get(t.group) ?? outcomes.set(t.group, []).get(t.group)!).push({ reward: t.reward, search: traj.search });
  }
  const { batch, expected, bugs } = await withExpectedSolver(store, i, weights, sampled, outcomes, next);
  // The step runs as an ONNX graph on the first provider the campaign names that loads here (CUDA on a GPU worker).
  const opts = { learningRate: i.learningRate, providers: i.policy?.providers };
  let { weights: updated, stats, provider, fallbacks } = await trainStepOnnx(weights, batch, next, opts);
  // The known bugs' gradient is exact up to simulation at any weights, so further steps on them stay on-policy; the
  // sampled attempts were drawn from the old weights and are not used again.
  const iterations = expected ? Math.max(1, i.solverGradient?.iterations ?? 1) : 1;
  let lossAfter = stats.lossAfter;
  for (let k = 1; k < iterations; k++) {
    const more = await trainStepOnnx(updated, expectedSolverBatch(updated, bugs, expected!.samples, `${next}/${k}`), next, opts);
    if (more.stats.decisions === 0) break;
    updated = more.weights;
    lossAfter = more.stats.lossAfter;
    fallbacks = [...fallbacks, ...more.fallbacks];
  }
  const out: GradientOutput = {
    version: next, alreadyTrained: false, trajectories: stats.trajectories, decisions: stats.decisions, gradNorm: stats.gradNorm,
    lossBefore: stats.lossBefore, lossAfter: stats.lossAfter, provider: provider ?? 'none',
  };
  await store.putJson(statsKey, { ...out, fromVersion: i.fromVersion, meanAdvantageAbs: stats.meanAdvantageAbs, clipped: stats.clipped, roles, fallbacks, ...(expected ? { expected: { ...expected, iterations, lossAfterLast: lossAfter } } : {}) });
  await faultPause('pause-gradient-before-save', { campaign: i.campaignId, step: i.step });
  // The model file is written last: its presence is what marks the step as trained.
  await saveOnnxPolicy(store, updated);
  // One ledger entry per policy actually written: more than one for a step would be a step trained twice.
  await writeLedger(store, i.step, next);
  await faultPause('pause-gradient-after-save', { campaign: i.campaignId, step: i.step });
  return out;
}

/**
 * The solver's part of the batch under the expected gradient (src/trainer/expected.ts), when the campaign turns it on
 * and the solver trains: each group whose attempts solved its bug is replaced by simulated attempts, joined by the
 * bugs earlier steps of the campaign learned (newest first, up to `replayBugs`). What this step learned is written
 * before the policy, so a retried step rewrites the same file and a later step always finds it.
 */
async function withExpectedSolver(store: Store, i: GradientInput, w: MlpWeights, sampled: ScoredTrajectory[], outcomes: Map<string, AttemptOutcome[]>, next: string): Promise<{ batch: ScoredTrajectory[]; expected: { bugs: number; replayed: number; samples: number } | null; bugs: KnownBug[] }> {
  const samples = i.solverGradient?.expectedSamples ?? 0;
  if (samples <= 0 || !trainedRoles(i.ablation).includes('solver')) return { batch: sampled, expected: null, bugs: [] };
  const known = [...outcomes].flatMap(([g, a]) => knownBugs(g, a, i.solverGradient?.fixes));
  await store.putJson(knownKey(i.campaignId, i.step), known);
  const cap = i.solverGradient?.replayBugs ?? 0;
  const replayed: KnownBug[] = [];
  for (let s = i.step - 1; s >= 0 && replayed.length < cap; s--) {
    replayed.push(...((await store.getJson<KnownBug[]>(knownKey(i.campaignId, s))) ?? []).slice(0, cap - replayed.length));
  }
  const learned = new Set(known.map((b) => b.group));
  const batch = [...sampled.filter((t) => !(t.role === 'solver' && learned.has(t.group))), ...expectedSolverBatch(w, [...known, ...replayed], samples, next)];
  return { batch, expected: { bugs: known.length, replayed: replayed.length, samples }, bugs: [...known, ...replayed] };
}

const knownKey = (campaign: string, step: number) => `train/${campaign}/${step}.known.json`;

export interface LedgerEntry { step: number; version: string; pid: number; at: string }

async function writeLedger(store: Store, step: number, version: string): Promise<void> {
  const entry: LedgerEntry = { step, version, pid: process.pid, at: new Date().toISOString() };
  await store.putJson(`train/${parseVersion(version).campaign}/ledger/${step}-${randomUUID()}.json`, entry);
}

/**
 * How many policies were actually written per step of a campaign, from the ledger: `{ <step>: count }`. Any count
 * above 1 is a step that trained twice (the fault tests and the soak assert on it).
 */
export async function trainLedger(store: Store, campaignId: string): Promise<Record<number, number>> {
  const counts: Record<number, number> = {};
  for (const f of await store.list(`train/${campaignId}/ledger`)) {
    if (!f.endsWith('.json')) continue;
    const e = await store.getJson<LedgerEntry>(`train/${campaignId}/ledger/${f}`);
    if (e) counts[e.step] = (counts[e.step] ?? 0) + 1;
  }
  return counts;
}
