import type { Store, BlobRef } from '../store/store.js';
import type { MlpWeights } from '../policy/onnx/model.js';
import { expectedSolverBatch, knownBugs, type AttemptOutcome, type KnownBug } from './expected.js';
import { parseVersion, versionName, withoutCampaign } from '../policy/versions.js';
import { hasOnnxPolicy, loadOnnxWeights, saveOnnxPolicy } from '../policy/onnx/store.js';
import { trainStepOnnx, type OnnxGraphStepResult } from '../policy/onnx/trainGraph.js';
import { preparedLoss, skipBlockMask, type PreparedDecision, type WeightMask } from '../policy/onnx/train.js';
import { GROUP_SLOTS, NUMERIC, OFF_GROUP, OFF_GROUP_KEY, OFF_GROUP_KEY_SOLVER, OFF_GROUP_NUMERIC, OFF_ROLE, groupSlot } from '../policy/onnx/features.js';
import { readTrajectory, type Role, type ScoredTrajectory } from './gradient.js';
import { expectedInjectorRewards } from './injectorReward.js';
import type { CampaignConfig } from '../config/schema.js';
import type { Fallback, Provider } from '../policy/onnx/session.js';
import type { GradientInput, GradientOutput } from '../episode/types.js';
import { faultPause } from '../faults.js';
import { randomUUID } from 'node:crypto';

type SolverGradient = CampaignConfig['solverGradient'];

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
  const injectorExpected = roles.includes('injector') && i.injectorGradient?.reward === 'expected';
  for (const t of i.batch) {
    // An untrained solver's attempts are still read where they make the injector's expected reward.
    if (!roles.includes(t.role) && !(t.role === 'solver' && injectorExpected)) continue;
    const traj = await readTrajectory(store, t.trajectoryRef);
    if (roles.includes(t.role)) sampled.push({ role: t.role, reward: t.reward, group: t.group, decisions: traj.decisions ?? [] });
    if (t.role === 'solver') (outcomes.get(t.group) ?? outcomes.set(t.group, []).get(t.group)!).push({ reward: t.reward, search: traj.search });
  }
  // Under the weights that played, before this step moves them: the injections were rewarded by that solver.
  const injector = injectorExpected
    ? expectedInjectorRewards(weights, sampled.filter((t) => t.role === 'injector'), outcomes, {
      samples: i.injectorGradient!.samples, alpha: i.alpha ?? 0.8, seed: `${withoutCampaign(i.campaignId, next)}/injector`,
      localGroup: (g) => withoutCampaign(i.campaignId, g),
    })
    : null;
  if (injector) sampled.splice(0, sampled.length, ...sampled.filter((t) => t.role !== 'injector'), ...injector.trajectories);
  const { batch, expected, bugs } = await withExpectedSolver(store, i, sampled, outcomes);
  // The step runs as an ONNX graph on the first provider the campaign names that loads here (CUDA on a GPU worker).
  const providers = i.policy?.providers;
  let { weights: updated, stats, provider, fallbacks } = await sampledStep(weights, batch, next, { learningRate: i.learningRate, providers }, i.injectorGradient?.trains === 'own', i.injectorGradient?.learningRate);
  let known: KnownBugSteps | undefined;
  if (expected) {
    // Seeded without the campaign's name, as its episodes are (src/episode/seed.ts): campaigns that learned the same
    // bugs draw the same simulated attempts.
    const local = bugs.map((b) => ({ ...b, group: withoutCampaign(i.campaignId, b.group) }));
    known = await trainKnownBugs(updated, local, { ...i.solverGradient!, learningRate: i.solverGradient?.learningRate ?? i.learningRate }, withoutCampaign(i.campaignId, next), providers);
    updated = known.weights;
    provider ??= known.provider;
    fallbacks = [...fallbacks, ...known.fallbacks];
  }
  const out: GradientOutput = {
    version: next, alreadyTrained: false, trajectories: stats.trajectories, decisions: stats.decisions + (known?.decisions ?? 0), gradNorm: stats.gradNorm,
    lossBefore: stats.lossBefore, lossAfter: stats.lossAfter, provider: provider ?? 'none',
  };
  await store.putJson(statsKey, { ...out, fromVersion: i.fromVersion, meanAdvantageAbs: stats.meanAdvantageAbs, clipped: stats.clipped, roles, fallbacks, ...(expected ? { expected: { ...expected, decisions: known?.decisions ?? 0, lossBefore: known?.lossBefore ?? null, lossAfter: known?.lossAfter ?? null } } : {}), ...(injector ? { injector: injector.estimates } : {}) });
  await faultPause('pause-gradient-before-save', { campaign: i.campaignId, step: i.step });
  // The model file is written last: its presence is what marks the step as trained.
  await saveOnnxPolicy(store, updated);
  // One ledger entry per policy actually written: more than one for a step would be a step trained twice.
  await writeLedger(store, i.step, next);
  await faultPause('pause-gradient-after-save', { campaign: i.campaignId, step: i.step });
  return out;
}

/**
 * The solver's known bugs under the expected gradient (src/trainer/expected.ts), when the campaign turns it on and
 * the solver trains: this step's (each group some fix of which is known) and those earlier steps of the campaign
 * learned (newest first, up to `replayBugs`). Their sampled attempts leave the batch: the known-bug steps train on
 * them instead. What this step learned is written before the policy, so a retried step rewrites the same file and a
 * later step always finds it.
 */
async function withExpectedSolver(store: Store, i: GradientInput, sampled: ScoredTrajectory[], outcomes: Map<string, AttemptOutcome[]>): Promise<{ batch: ScoredTrajectory[]; expected: { bugs: number; replayed: number; samples: number; iterations: number } | null; bugs: KnownBug[] }> {
  const g = i.solverGradient;
  const samples = g?.expectedSamples ?? 0;
  if (!g || samples <= 0 || !trainedRoles(i.ablation).includes('solver')) return { batch: sampled, expected: null, bugs: [] };
  const known = [...outcomes].flatMap(([group, a]) => knownBugs(group, a, g.fixes));
  await store.putJson(knownKey(i.campaignId, i.step), known);
  const cap = g.replayBugs ?? 0;
  const replayed: KnownBug[] = [];
  for (let s = i.step - 1; s >= 0 && replayed.length < cap; s--) {
    replayed.push(...((await store.getJson<KnownBug[]>(knownKey(i.campaignId, s))) ?? []).slice(0, cap - replayed.length));
  }
  // A per-line known bug is named `<group>#<line>`: its episode's sampled attempts are the group's.
  const learned = new Set(known.map((b) => b.group.replace(/#\d+$/, '')));
  const batch = sampled.filter((t) => !(t.role === 'solver' && learned.has(t.group)));
  return { batch, expected: { bugs: known.length, replayed: replayed.length, samples, iterations: Math.max(1, g.iterations ?? 1) }, bugs: [...known, ...replayed] };
}

/** What the known-bug steps did: the weights they left, and their loss over the first and the last step that had gradient. */
export interface KnownBugSteps { weights: MlpWeights; decisions: number; lossBefore: number | null; lossAfter: number | null; provider: Provider | null; fallbacks: Fallback[] }

/**
 * The known-bug steps of a training step: `iterations` policy-gradient steps over the known bugs' simulated attempts
 * (src/trainer/expected.ts), on the weights `trains` names. Their reward is known at any weights, so each step draws
 * fresh attempts at the weights the one before left and stays on-policy. Deterministic in (w, bugs, config, seed).
 * The training step runs it after its own step over the sampled trajectories.
 */
export async function trainKnownBugs(w: MlpWeights, bugs: KnownBug[], g: Pick<SolverGradient, 'expectedSamples' | 'iterations' | 'learningRate' | 'trains' | 'picks'>, seed: string, providers?: Provider[]): Promise<KnownBugSteps> {
  const trainable = g.trains === 'all' ? undefined : solverNumericMask(w);
  const out: KnownBugSteps = { weights: w, decisions: 0, lossBefore: null, lossAfter: null, provider: null, fallbacks: [] };
  // Only the last step's loss after it is reported: computed once, at the end, over that step's decisions.
  let last: PreparedDecision[] | null = null;
  for (let k = 0; k < Math.max(1, g.iterations); k++) {
    const step = await trainStepOnnx(out.weights, expectedSolverBatch(out.weights, bugs, g.expectedSamples, k === 0 ? seed : `${seed}/${k}`, g.picks ?? undefined), w.version, { learningRate: g.learningRate, providers, trainable, lossAfter: false });
    // All of them solved or all failed: no gradient at these weights; the next step draws other orders.
    if (step.stats.decisions === 0) continue;
    out.weights = step.weights;
    out.decisions += step.stats.decisions;
    out.lossBefore ??= step.stats.lossBefore;
    last = step.prepared ?? null;
    out.provider ??= step.provider;
    out.fallbacks.push(...step.fallbacks);
  }
  if (last) out.lossAfter = preparedLoss(out.weights, last);
  return out;
}

/**
 * The step over the sampled trajectories of both roles. With `injectorOwn` (`injectorGradient.trains: 'own'`) the
 * injector's trajectories move only the injector's own weights (`injectorOwnMask`), in a step of their own after the
 * solver's, and each role's step is the mean over that role's trajectories: the solver's step is then the one a
 * repair-only campaign takes on the same trajectories (the ablations differ in what trains, not in how far), and the
 * injector's few trajectories are not a fifth of a batch of the solver's attempts (in the joint step, 3 of 15 in the
 * learning bench: after three steps its choices had moved by a total variation of about 0.01, and none at all where
 * they decide how many changes a bug composes). `injectorLearningRate` (`injectorGradient.learningRate`) scales the
 * injector's step on its own.
 */
async function sampledStep(w: MlpWeights, batch: ScoredTrajectory[], next: string, opts: { learningRate: number; providers?: Provider[] }, injectorOwn: boolean, injectorLearningRate?: number): Promise<OnnxGraphStepResult> {
  const injector = batch.filter((t) => t.role === 'injector');
  if (!injectorOwn || injector.length === 0) return trainStepOnnx(w, batch, next, opts);
  // prepareBatch divides by max(1, the batch's total weight): each role's part is its own batch.
  const solver = await trainStepOnnx(w, batch.filter((t) => t.role !== 'injector'), next, opts);
  const own = await trainStepOnnx(solver.weights, injector, next, { ...opts, learningRate: injectorLearningRate ?? opts.learningRate, trainable: injectorOwnMask(w) });
  const a = solver.stats, b = own.stats;
  return {
    weights: own.weights,
    stats: {
      trajectories: batch.length, decisions: a.decisions + b.decisions,
      meanAdvantageAbs: (a.meanAdvantageAbs * (batch.length - injector.length) + b.meanAdvantageAbs * injector.length) / batch.length,
      gradNorm: Math.hypot(a.gradNorm, b.gradNorm), clipped: a.clipped || b.clipped, lossBefore: a.lossBefore + b.lossBefore, lossAfter: a.lossAfter + b.lossAfter,
    },
    provider: solver.provider ?? own.provider,
    fallbacks: [...solver.fallbacks, ...own.fallbacks],
  };
}

/**
 * The weights the injector's trajectories train by default (`injectorGradient.trains: 'own'`): those of the inputs a
 * solver's option never sets (the injector's role bit, the other groups' slots, the group-hashed key tokens in the
 * injector's half of the group·key block, the other groups' numeric slots), on the linear path and as the hidden
 * layer's input rows. Left alone: the key tokens and numeric features every group shares, and the hidden layer's
 * biases and output, through which every solver score passes, so the injector's advantage cannot move the solver's
 * ranking of repairs (replayed on one campaign's episodes it barely did: held-out P 0.416 trained as a whole, 0.412
 * so; README). Exactly: no solver option sets any of these inputs (src/policy/onnx/features.ts), so a solver's score
 * is the same function of the weights this mask leaves alone.
 */
export function injectorOwnMask(w: MlpWeights): WeightMask {
  const solverSlot = groupSlot('solve.repair');
  const own = new Float32Array(w.inputs);
  own[OFF_ROLE] = 1;
  for (let g = 0; g < GROUP_SLOTS; g++) {
    if (g === solverSlot) continue;
    own[OFF_GROUP + g] = 1;
    own.fill(1, OFF_GROUP_NUMERIC + g * NUMERIC, OFF_GROUP_NUMERIC + (g + 1) * NUMERIC);
  }
  own.fill(1, OFF_GROUP_KEY, OFF_GROUP_KEY_SOLVER);
  const w1 = new Float32Array(w.w1.length);
  for (let i = 0; i < w.inputs; i++) if (own[i]) w1.fill(1, i * w.hidden, (i + 1) * w.hidden);
  return { w1, b1: new Float32Array(w.hidden), w2: new Float32Array(w.hidden), b2: 0, skip: own };
}

/**
 * The weights the known-bug steps train by default (`solverGradient.trains: 'numeric'`): the solver's per-group
 * weights on its options' numeric features, on the linear path. Those features (suspiciousness, coverage, traces,
 * naturalness) mean the same in every bug and repository; the key tokens and the hidden layer can also tell one
 * known bug's fix from the rest by what it is, and fitted again and again to a campaign's few dozen known bugs they
 * learn those bugs rather than what transfers. They still train on every sampled trajectory of both roles.
 */
export function solverNumericMask(w: MlpWeights): WeightMask {
  const lo = OFF_GROUP_NUMERIC + groupSlot('solve.repair') * NUMERIC;
  return skipBlockMask(w, lo, lo + NUMERIC);
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
