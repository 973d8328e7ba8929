/**
 * What the embedded agents ask of a policy, whatever implements it: score the options of a decision, sample one (or
 * an order), and record what was chosen so the gradient step can compute ∇ log π(chosen) later. The one
 * implementation is the ONNX network of src/policy/onnx/ (one set of weights for both roles: the method's parameter
 * sharing; decision groups are named by role, `inject.*` and `solve.*`).
 */
import type { Rng } from './rng.js';

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
 * A decision as a trajectory keeps it: whole up to MAX_RECORDED_OPTIONS options, else the chosen option plus a uniform
 * sample of the rest, which keeps trajectories small. One rule for the runner's records and the trainer's simulated ones.
 */
export function recordedDecision(group: string, options: Option[], chosen: number, rng: Rng): Decision {
  if (options.length <= MAX_RECORDED_OPTIONS) return { group, options, chosen };
  const others = rng.shuffle(options.map((_, i) => i).filter((i) => i !== chosen)).slice(0, MAX_RECORDED_OPTIONS - 1);
  return { group, options: [options[chosen], ...others.map((i) => options[i])], chosen: 0 };
}

/**
 * One solver attempt's repair search, as the trainer's expected gradient needs it (src/trainer/expected.ts): every
 * option it could pick from, the picks it made (indices into `options`, in order), the picks it kept, and how many
 * picks its budget allowed when the search began. `restores`, when present, holds for each line the bug changed the
 * options that restore it (`restoringOptions`), added by the solver activity from the artifact after the search:
 * the solver never sees them.
 */
export interface SearchRecord { options: Option[]; picks: number[]; kept: number[]; maxPicks: number; restores?: number[][] }

/**
 * A decision as a solver trajectory stores it: its options by index into the trajectory's search record. Each pick of
 * a search is a decision over the options still left, so written out whole they repeat the search's options once per
 * pick (three quarters of a trajectory's bytes); the indices name the same options.
 */
export interface IndexedDecision { group: string; of: number[]; chosen: number }

export class TrajectoryFormatError extends Error {
  override name = 'TrajectoryFormatError';
}

/** The decisions to store: those whose every option is one of `options` (the same objects) by index, the rest whole. */
export function storedDecisions(decisions: Decision[], options: Option[]): (Decision | IndexedDecision)[] {
  const at = new Map(options.map((o, i) => [o, i]));
  return decisions.map((d) => {
    const of = d.options.map((o) => at.get(o));
    return of.every((i) => i !== undefined) ? { group: d.group, of: of as number[], chosen: d.chosen } : d;
  });
}

/** A stored trajectory's decisions, whole again; trajectories written before indexing load as they are. */
export function loadedDecisions(traj: { decisions?: (Decision | IndexedDecision)[]; search?: { options: Option[] } }, what: string): Decision[] {
  return (traj.decisions ?? []).map((d, k) => {
    if (!('of' in d)) return d;
    const options = traj.search?.options;
    if (!options) throw new TrajectoryFormatError(`${what}: decision ${k} names its options by index, but the trajectory has no search record to index`);
    return {
      group: d.group, chosen: d.chosen,
      options: d.of.map((i) => {
        const o = options[i];
        if (!o) throw new TrajectoryFormatError(`${what}: decision ${k} names option ${i}, but the search record has ${options.length}`);
        return o;
      }),
    };
  });
}

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

/** An index drawn with probability `probs[i]` (the last one takes any rounding left over). */
export function sampleIndex(probs: number[], rng: Rng): number {
  let u = rng.next(), i = 0;
  for (; i < probs.length - 1; i++) { u -= probs[i]; if (u <= 0) break; }
  return i;
}

export function softmax(xs: number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}
