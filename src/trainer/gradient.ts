import { accumulateGrad, type Decision, type PolicyParams } from '../policy/policy.js';

export type Role = 'injector' | 'solver';

/** One trajectory's contribution to a step: its decisions and reward; `group` ties the N solver attempts of one bug. */
export interface ScoredTrajectory {
  role: Role;
  reward: number;
  group: string;
  decisions: Decision[];
}

export interface StepStats {
  trajectories: number;
  decisions: number;
  meanAdvantageAbs: number;
  gradNorm: number;
}

const CLIP = 5;

/**
 * One policy-gradient (REINFORCE) step over a batch of both roles. Advantages: a solver attempt's reward minus the
 * mean over its group (the N attempts at the same bug: group-normalised, as in GRPO); an injection's reward minus
 * the batch mean of injector rewards. Logits are clipped so a short campaign cannot saturate the policy.
 */
export function policyGradientStep(p: PolicyParams, batch: ScoredTrajectory[], lr: number, nextVersion: string): { params: PolicyParams; stats: StepStats } {
  const groups = new Map<string, number[]>();
  for (const t of batch) {
    const k = `${t.role}:${t.role === 'solver' ? t.group : '*'}`;
    (groups.get(k) ?? groups.set(k, []).get(k)!).push(t.reward);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const grad = { logits: {} as Record<string, Record<string, number>>, weights: {} as Record<string, number[]> };
  let decisions = 0, advAbs = 0;
  for (const t of batch) {
    const g = groups.get(`${t.role}:${t.role === 'solver' ? t.group : '*'}`)!;
    const adv = t.reward - mean(g);
    advAbs += Math.abs(adv);
    if (adv === 0 || t.decisions.length === 0) continue;
    // Each decision of a trajectory shares its advantage; dividing by the count keeps long trajectories from dominating.
    const scale = adv / Math.sqrt(t.decisions.length);
    for (const d of t.decisions) { accumulateGrad(p, d, scale, grad); decisions++; }
  }
  const n = Math.max(1, batch.length);
  const next: PolicyParams = structuredClone(p);
  next.version = nextVersion;
  next.step = p.step + 1;
  let sq = 0;
  for (const [group, lg] of Object.entries(grad.logits)) {
    const dst = (next.logits[group] ??= {});
    for (const [k, v] of Object.entries(lg)) {
      sq += (v / n) ** 2;
      dst[k] = clip((dst[k] ?? 0) + (lr * v) / n);
    }
  }
  for (const [group, w] of Object.entries(grad.weights)) {
    const dst = (next.weights[group] ??= []);
    w.forEach((v, i) => { sq += (v / n) ** 2; dst[i] = clip((dst[i] ?? 0) + (lr * v) / n); });
  }
  return { params: next, stats: { trajectories: batch.length, decisions, meanAdvantageAbs: advAbs / n, gradNorm: Math.sqrt(sq) } };
}

const clip = (x: number) => Math.max(-CLIP, Math.min(CLIP, x));
