import type { Decision } from '../policy/policy.js';

export type Role = 'injector' | 'solver';

/** One trajectory's contribution to a step: its decisions and reward; `group` ties the N solver attempts of one bug. */
export interface ScoredTrajectory {
  role: Role;
  reward: number;
  group: string;
  decisions: Decision[];
}
