/**
 * How an episode's outcome is named, in one place: the round workflow records it and a replay compares against it.
 * Pure functions over small values: workflows call them directly.
 */
import type { Outcome } from './types.js';

/** A valid bug's outcome from its solve rate. */
export function solvedOutcome(s: number): Outcome {
  return s === 0 ? 'solved-none' : s === 1 ? 'solved-all' : 'solved-some';
}

/** An artifact rejected by a consistency check: `invalid:<check>:<code>`. */
export function invalidOutcome(check: string, code: string | undefined): Outcome {
  return `invalid:${check}:${code ?? 'failed'}`;
}
