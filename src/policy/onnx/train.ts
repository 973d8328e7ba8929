import type { Decision, Option } from '../policy.js';
import type { ScoredTrajectory } from '../../trainer/gradient.js';
import { FEATURE_WIDTH, featurize, roleOfGroup } from './features.js';
import { forwardSparse, toSparse, type MlpWeights, type SparseRows } from './model.js';

export interface OnnxTrainOptions {
  learningRate: number;
  /** The gradient's L2 norm is scaled down to this when above it (default 1): one odd batch cannot wreck the net. */
  maxGradNorm?: number;
  /**
   * Which weights the step may change (1) and which it keeps (0), before clipping: the norm and the update are of
   * the masked gradient. Absent: all of them.
   */
  trainable?: WeightMask;
}

/** A 0/1 mask per weight, shaped as MlpWeights. */
export interface WeightMask { w1: Float32Array; b1: Float32Array; w2: Float32Array; b2: number; skip: Float32Array }

/** A mask that lets a step change only `skip[lo, hi)`: one block of the linear path (features.ts lays the blocks out). */
export function skipBlockMask(w: MlpWeights, lo: number, hi: number): WeightMask {
  const skip = new Float32Array(w.inputs);
  skip.fill(1, lo, hi);
  return { w1: new Float32Array(w.w1.length), b1: new Float32Array(w.hidden), w2: new Float32Array(w.hidden), b2: 0, skip };
}

export interface OnnxStepStats {
  trajectories: number;
  /** Decisions that carried gradient (non-zero advantage, more than one option). */
  decisions: number;
  meanAdvantageAbs: number;
  /** Before clipping. */
  gradNorm: number;
  clipped: boolean;
  /** The policy-gradient surrogate −Σ adv·log π(chosen) / n on this batch, with the old and the new weights. */
  lossBefore: number;
  lossAfter: number;
}

/**
 * A decision prepared once: its input rows and the weight of its log-likelihood in the loss. `rows[r]` stands for
 * option r's row, one object per distinct row: decisions with equal options share it, and the graph step runs the
 * network once per distinct row (trainGraph.ts).
 */
export interface PreparedDecision { x: SparseRows; rows: readonly OptionRow[]; n: number; chosen: number; coef: number }

/** One option's input row, sparse: its non-zero features and their values. */
export interface OptionRow { idx: Int32Array; val: Float64Array }

/** What a step trains on: the decisions that carry gradient, and the batch figures its stats report. */
export interface PreparedBatch { decisions: PreparedDecision[]; trajectories: number; meanAdvantageAbs: number }

/**
 * A batch's decisions with their weights in the loss, the method's policy-gradient objective: a solver attempt's advantage is its reward minus the mean over its group (the N attempts
 * at one bug), an injection's is its reward minus the batch mean of injector rewards; each decision of a trajectory
 * carries weight·adv/√(its decision count)/(the batch's total weight; weights default to 1). Decisions of one option, and trajectories of zero advantage, carry
 * no gradient and are left out. Every trainer (the TypeScript step, the ONNX graph step) starts from this.
 */
export function prepareBatch(batch: ScoredTrajectory[]): PreparedBatch {
  const keyOf = (t: ScoredTrajectory) => `${t.role}:${t.role === 'solver' ? t.group : '*'}`;
  const groups = new Map<string, number[]>();
  for (const t of batch) (groups.get(keyOf(t)) ?? groups.set(keyOf(t), []).get(keyOf(t))!).push(t.reward);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const n = Math.max(1, batch.reduce((s, t) => s + (t.weight ?? 1), 0));
  const decisions: PreparedDecision[] = [];
  let advAbs = 0;
  for (const t of batch) {
    // Equal rewards can leave a difference of ~1e-16 from their floating-point mean (three -0.8s): that is no
    // advantage, and counting its decisions as carrying gradient would misreport a step that learned nothing.
    const raw = t.reward - mean(groups.get(keyOf(t))!);
    const adv = Math.abs(raw) < 1e-9 ? 0 : raw;
    advAbs += (t.weight ?? 1) * Math.abs(adv);
    if (adv === 0 || t.decisions.length === 0) continue;
    const coef = (t.weight ?? 1) * adv / Math.sqrt(t.decisions.length) / n;
    for (const d of t.decisions) if (d.options.length > 1) decisions.push(prepare(d, t.role, coef));
  }
  return { decisions, trajectories: batch.length, meanAdvantageAbs: advAbs / n };
}

/**
 * One policy-gradient step of the network on a batch of both roles (the objective: `prepareBatch`). The gradient of
 * Σ adv·log softmax(scores)[chosen] is backpropagated by hand through the tiny MLP (exact, no autodiff needed),
 * clipped by norm, and applied with plain SGD; with no sampling inside, the step is a pure function of (weights,
 * batch, options), so it is deterministic.
 */
export function onnxPolicyGradientStep(w: MlpWeights, batch: ScoredTrajectory[], nextVersion: string, opts: OnnxTrainOptions): { weights: MlpWeights; stats: OnnxStepStats } {
  const { decisions: prepared, trajectories, meanAdvantageAbs } = prepareBatch(batch);
  const g = zeroGrad(w);
  const lossBefore = lossAndGrad(w, prepared, g);
  if (opts.trainable) applyMask(g, opts.trainable);
  let sq = 0;
  for (const a of [g.w1, g.b1, g.w2, g.skip]) for (const v of a) sq += v * v;
  sq += g.b2 * g.b2;
  const gradNorm = Math.sqrt(sq);
  const maxNorm = opts.maxGradNorm ?? 1;
  const scale = gradNorm > maxNorm ? maxNorm / gradNorm : 1;
  const lr = opts.learningRate * scale;
  // Float32Array storage rounds each new weight to float32 here, so the ONNX file holds exactly these weights.
  const step = (p: Float32Array, d: Float64Array) => Float32Array.from(p, (v, i) => v - lr * d[i]);
  const next: MlpWeights = {
    version: nextVersion, inputs: w.inputs, hidden: w.hidden,
    w1: step(w.w1, g.w1), b1: step(w.b1, g.b1), w2: step(w.w2, g.w2), b2: Math.fround(w.b2 - lr * g.b2), skip: step(w.skip, g.skip),
  };
  const lossAfter = lossAndGrad(next, prepared, null);
  return {
    weights: next,
    stats: { trajectories, decisions: prepared.length, meanAdvantageAbs, gradNorm, clipped: scale < 1, lossBefore, lossAfter },
  };
}

/** Decisions with their weight in the loss: what the step builds from a batch (exported for evaluation and tests). */
export interface WeightedDecision { role: ScoredTrajectory['role']; coef: number; decision: Decision }

/** The surrogate loss −Σ coef·log π(chosen) and its exact gradient with respect to every weight. */
export function lossGradient(w: MlpWeights, ds: WeightedDecision[]): { loss: number; grad: Grad } {
  const grad = zeroGrad(w);
  const loss = lossAndGrad(w, ds.map((b) => prepare(b.decision, b.role, b.coef)), grad);
  return { loss, grad };
}

export function batchLoss(w: MlpWeights, ds: WeightedDecision[]): number {
  return lossAndGrad(w, ds.map((b) => prepare(b.decision, b.role, b.coef)), null);
}

/** The loss of prepared decisions under `w` (float64 arithmetic), without the gradient. */
export function preparedLoss(w: MlpWeights, ds: PreparedDecision[]): number {
  return lossAndGrad(w, ds, null);
}

function prepare(d: Decision, role: ScoredTrajectory['role'], coef: number): PreparedDecision {
  const { x, rows } = sparseOptions(d.group, d.options, roleOfGroup(d.group) ?? role);
  return { x, rows, n: d.options.length, chosen: d.chosen, coef };
}

/**
 * The sparse input rows of a decision's options: `toSparse(featurizeAll(...))`, one row object per distinct (group,
 * role, key, features), found through each option object. The known-bug steps draw thousands of decisions from one
 * bug's few hundred options (the same objects), a real search's decisions are subsets of one option list (equal
 * copies once read back), and featurizing every decision's options again was a third of a training step's time.
 * Equal options get the very same row, so the graph step (trainGraph.ts) sees one batch whether they were shared
 * objects or copies.
 */
const rowOf = new WeakMap<Option, Map<string, OptionRow>>();
const rowByContent = new Map<string, OptionRow>();
function sparseOptions(group: string, options: Option[], role: ScoredTrajectory['role'] | null): { x: SparseRows; rows: OptionRow[] } {
  const id = `${group}\u0000${role}`;
  const rows = options.map((o) => {
    let byGroup = rowOf.get(o);
    if (!byGroup) rowOf.set(o, (byGroup = new Map()));
    let r = byGroup.get(id);
    if (!r) {
      const content = `${id}\u0000${o.key}\u0000${(o.features ?? []).join(',')}`;
      r = rowByContent.get(content);
      if (!r) {
        const x = toSparse(featurize(group, o, role), 1, FEATURE_WIDTH);
        // Bounded: a long-lived trainer meets new options every step; a cleared map only shares fewer rows.
        if (rowByContent.size >= 200_000) rowByContent.clear();
        rowByContent.set(content, (r = { idx: x.idx, val: x.val }));
      }
      byGroup.set(id, r);
    }
    return r;
  });
  const start = new Int32Array(options.length + 1);
  rows.forEach((r, i) => { start[i + 1] = start[i] + r.idx.length; });
  const idx = new Int32Array(start[options.length]), val = new Float64Array(start[options.length]);
  rows.forEach((r, i) => { idx.set(r.idx, start[i]); val.set(r.val, start[i]); });
  return { x: { n: options.length, start, idx, val }, rows };
}

export interface Grad { w1: Float64Array; b1: Float64Array; w2: Float64Array; b2: number; skip: Float64Array }

const zeroGrad = (w: MlpWeights): Grad => ({
  w1: new Float64Array(w.w1.length), b1: new Float64Array(w.hidden), w2: new Float64Array(w.hidden), b2: 0, skip: new Float64Array(w.inputs),
});

function applyMask(g: Grad, m: WeightMask): void {
  for (const k of ['w1', 'b1', 'w2', 'skip'] as const) g[k].forEach((v, i) => { g[k][i] = v * m[k][i]; });
  g.b2 *= m.b2;
}

/** Loss, and (when `g` is given) its gradient accumulated into `g`. */
function lossAndGrad(w: MlpWeights, ds: PreparedDecision[], g: Grad | null): number {
  const H = w.hidden;
  const gz = new Float64Array(H);
  let loss = 0;
  for (const d of ds) {
    const h = new Float64Array(d.n * H);
    const s = forwardSparse(w, d.x, h);
    let m = -Infinity;
    for (const v of s) m = Math.max(m, v);
    let z = 0;
    for (const v of s) z += Math.exp(v - m);
    const logZ = m + Math.log(z);
    loss -= d.coef * (s[d.chosen] - logZ);
    if (!g) continue;
    for (let r = 0; r < d.n; r++) {
      // ∂loss/∂s_r = −coef·(1[r = chosen] − π_r)
      const gs = -d.coef * ((r === d.chosen ? 1 : 0) - Math.exp(s[r] - logZ));
      if (gs === 0) continue;
      g.b2 += gs;
      for (let j = 0; j < H; j++) {
        const hj = h[r * H + j];
        g.w2[j] += gs * hj;
        gz[j] = gs * w.w2[j] * (1 - hj * hj);
        g.b1[j] += gz[j];
      }
      for (let k = d.x.start[r]; k < d.x.start[r + 1]; k++) {
        const f = d.x.idx[k], v = d.x.val[k];
        g.skip[f] += gs * v;
        const row = f * H;
        for (let j = 0; j < H; j++) g.w1[row + j] += v * gz[j];
      }
    }
  }
  return loss;
}
