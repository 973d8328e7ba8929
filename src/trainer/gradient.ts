import { loadedDecisions, type Decision, type IndexedDecision, type SearchRecord } from '../policy/policy.js';
import type { BlobRef, Store } from '../store/store.js';

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

/**
 * A stored trajectory as the trainers read it: its fields as written, its decisions whole (a solver's are stored as
 * indices into its search). A malformed one throws TrajectoryFormatError naming its blob.
 */
export async function readTrajectory(store: Store, ref: string): Promise<{ fields: Record<string, unknown>; decisions: Decision[] | null; search?: SearchRecord }> {
  const fields = JSON.parse(await store.getText(ref as BlobRef)) as Record<string, unknown> & { decisions?: (Decision | IndexedDecision)[]; search?: SearchRecord };
  const decisions = Array.isArray(fields.decisions) ? loadedDecisions(fields, `trajectory ${store.blobPath(ref as BlobRef)}`) : null;
  return { fields, decisions, search: fields.search };
}
