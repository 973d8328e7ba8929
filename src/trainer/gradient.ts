import type { Decision } from '../policy/policy.js';

export type Role = 'injector' | 'solver';

/** One trajectory's contribution to a step: its decisions and reward; `group` ties the N solver attempts of one bug. */
export interface ScoredTrajectory {
  role: Role;
  reward: number;
  group: string;
  decisions: Decision[];
  /**
   * How much the trajectory counts in the batch (default 1). The expected gradient's simulated attempts of a bug
   * share the weight of the attempts they stand for, so many of them neither outweigh nor dilute the rest of the batch.
   */
  weight?: number;
}
