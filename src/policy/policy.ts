import type { Rng } from './rng.js';

/**
 * The embedded policy: a log-linear model over the options of each decision the embedded agents make.
 * score(option) = logit[group][option.key] + w[group] · option.features, and π = softmax(score).
 * One set of parameters serves both roles (the method's parameter sharing): groups are named by role.
 * The interface (score the options of a decision, record what was chosen, update from rewards) is the one
 * an ONNX network will fill later.
 */
export interface PolicyParams {
  version: string;
  step: number;
  logits: Record<string, Record<string, number>>;
  weights: Record<string, number[]>;
}

export interface Option {
  key: string;
  features?: number[];
}

/** One decision as taken: enough to compute ∇ log π(chosen) later, with no access to the code it was about. */
export interface Decision {
  group: string;
  options: Option[];
  chosen: number;
}

export const MAX_RECORDED_OPTIONS = 48;

/**
 * Version 0. Uniform over everything except one prior: the solver tries edits in functions that failing tests reach
 * and passing tests do not (feature 0 of 'solve.repair', an Ochiai score; 1-2: one or two calls from a failing test)
 * first. Training moves every parameter, these included.
 */
export function initialParams(version: string): PolicyParams {
  return { version, step: 0, logits: {}, weights: { 'solve.repair': [6, 1, 0.5, 0] } };
}

export function scores(p: PolicyParams, group: string, options: Option[]): number[] {
  const lg = p.logits[group] ?? {};
  const w = p.weights[group] ?? [];
  return options.map((o) => (lg[o.key] ?? 0) + (o.features ?? []).reduce((s, f, i) => s + f * (w[i] ?? 0), 0));
}

export function softmax(xs: number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

export class PolicyRunner {
  readonly decisions: Decision[] = [];
  constructor(readonly params: PolicyParams, private readonly rng: Rng) {}

  /** Samples one option; records the decision (options beyond the cap are subsampled around the chosen one). */
  choose(group: string, options: Option[]): number {
    if (options.length === 0) throw new Error(`policy decision '${group}' has no options`);
    const probs = softmax(scores(this.params, group, options));
    let u = this.rng.next(), i = 0;
    for (; i < probs.length - 1; i++) { u -= probs[i]; if (u <= 0) break; }
    this.record(group, options, i);
    return i;
  }

  /** A sampled order (Plackett-Luce: repeated choice without replacement); the first `recordFirst` picks are recorded. */
  rank(group: string, options: Option[], recordFirst = 16): number[] {
    const left = options.map((_, i) => i);
    const order: number[] = [];
    while (left.length) {
      const opts = left.map((i) => options[i]);
      const probs = softmax(scores(this.params, group, opts));
      let u = this.rng.next(), j = 0;
      for (; j < probs.length - 1; j++) { u -= probs[j]; if (u <= 0) break; }
      if (order.length < recordFirst && opts.length > 1) this.record(group, opts, j);
      order.push(left[j]);
      left.splice(j, 1);
    }
    return order;
  }

  private record(group: string, options: Option[], chosen: number): void {
    if (options.length <= MAX_RECORDED_OPTIONS) {
      this.decisions.push({ group, options, chosen });
      return;
    }
    // Keep the chosen option plus a uniform sample of the rest: an unbiased-enough estimate of the normaliser
    // for a linear softmax, and trajectories stay small.
    const others = options.map((_, i) => i).filter((i) => i !== chosen);
    const keep = others.sort(() => this.rng.next() - 0.5).slice(0, MAX_RECORDED_OPTIONS - 1);
    const opts = [options[chosen], ...keep.map((i) => options[i])];
    this.decisions.push({ group, options: opts, chosen: 0 });
  }
}

/** ∇ log π(chosen) for one decision, accumulated into `grad` scaled by `scale`. */
export function accumulateGrad(p: PolicyParams, d: Decision, scale: number, grad: { logits: Record<string, Record<string, number>>; weights: Record<string, number[]> }): void {
  const probs = softmax(scores(p, d.group, d.options));
  const lg = (grad.logits[d.group] ??= {});
  const w = (grad.weights[d.group] ??= []);
  d.options.forEach((o, i) => {
    const coef = scale * ((i === d.chosen ? 1 : 0) - probs[i]);
    lg[o.key] = (lg[o.key] ?? 0) + coef;
    (o.features ?? []).forEach((f, k) => { w[k] = (w[k] ?? 0) + coef * f; });
  });
}
