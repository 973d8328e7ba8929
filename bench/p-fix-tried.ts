import { softmax } from '../src/policy/policy.js';
import { Rng } from '../src/policy/rng.js';

/**
 * P(fix tried): the chance that the solver's sampled order (Plackett-Luce over `scores`, one pick at a time, as the
 * solver draws) puts one of `fixes` among its first `tries` picks, by Monte Carlo with `R` orders. 0 without fixes.
 */
export function pFixTried(scores: number[], fixes: Set<number>, tries: number, seed: string, R = 2000): number {
  let hit = 0;
  const rng = new Rng(seed);
  for (let r = 0; r < R && fixes.size; r++) {
    const left = scores.map((_, i) => i);
    for (let k = 0; k < tries && left.length; k++) {
      const p = softmax(left.map((i) => scores[i]));
      let u = rng.next(), j = 0;
      for (; j < p.length - 1; j++) { u -= p[j]; if (u <= 0) break; }
      if (fixes.has(left[j])) { hit++; break; }
      left.splice(j, 1);
    }
  }
  return fixes.size ? hit / R : 0;
}

/** The options of one held-out bug as `bench:candidates --dump` writes them. */
export interface DumpedBug { id: string; cands: { key: string; f: number[]; fix: boolean; file: string; line: number }[] }
