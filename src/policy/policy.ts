/**
 * What the embedded agents ask of a policy, whatever implements it: score the options of a decision, sample one (or
 * an order), and record what was chosen so the gradient step can compute ∇ log π(chosen) later. The one
 * implementation is the ONNX network of src/policy/onnx/ (one set of weights for both roles: the method's parameter
 * sharing; decision groups are named by role, `inject.*` and `solve.*`).
 */
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

/** The embedded agents' view of a policy. Asynchronous because onnxruntime's inference is. */
export interface Policy {
  readonly decisions: Decision[];
  /** Samples one option and records the decision. */
  choose(group: string, options: Option[]): Promise<number>;
  /**
   * A sampled order (Plackett-Luce: repeated choice without replacement), drawn one pick at a time as the agent acts:
   * only the picks it draws are recorded, so a search that stops early (solved, out of budget) leaves no decisions it
   * never acted on, which would otherwise share its reward as noise.
   */
  rank(group: string, options: Option[]): Promise<Ranking>;
}

/** The picks of one sampled order, drawn lazily. */
export interface Ranking {
  /**
   * The next pick among the options not yet drawn, recorded as a decision over them. `allowed` removes options that
   * can no longer be acted on (for good: they are neither drawn nor offered again); undefined when none is left.
   */
  next(allowed?: (option: number) => boolean): number | undefined;
}

/**
 * Version 0's prior, the one thing it knows before any training: the solver tries edits in functions that failing
 * tests reach and passing tests do not first (feature 0 of 'solve.repair', an Ochiai score; 1-2: one or two calls
 * from a failing test). Weights of a linear score over each group's numeric features; every other choice starts
 * uniform. Training moves these like any other weight.
 */
export const PRIOR: Record<string, number[]> = { 'solve.repair': [6, 1, 0.5, 0] };

export function softmax(xs: number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}
