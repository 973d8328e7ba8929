import { forward, type MlpWeights } from '../src/policy/onnx/model.js';
import { featurizeAll } from '../src/policy/onnx/features.js';
import type { Option } from '../src/policy/policy.js';
import { softmax } from '../src/policy/policy.js';
import { Rng } from '../src/policy/rng.js';

/**
 * P(fix tried): the chance that the solver's sampled order (Plackett-Luce over `scores`, one pick at a time, as the
 * solver draws) puts one of `fixes` among its first `tries` picks, by Monte Carlo with `R` orders. 0 without fixes.
 */
export function pFixTried(scores: number[], fixes: Set<number>, tries: number, seed: string, R = 2000): number {
  return fixes.size ? pLinesTried(scores, [fixes], tries, seed, R).any : 0;
}

/**
 * For a bug that changed several lines (`lines[k]`: the options that restore line k), the chance that the first
 * `tries` picks hold a restoring option of some line (`any`) and of every line (`every`). A held-out attempt is solved
 * only by restoring every line, so `every` is the one that tracks the held-out solve rate.
 */
export function pLinesTried(scores: number[], lines: Set<number>[], tries: number, seed: string, R = 2000): { any: number; every: number } {
  let any = 0, every = 0;
  const rng = new Rng(seed);
  for (let r = 0; r < R && lines.length; r++) {
    const left = scores.map((_, i) => i);
    const got = new Set<number>();
    for (let k = 0; k < tries && left.length && got.size < lines.length; k++) {
      const p = softmax(left.map((i) => scores[i]));
      let u = rng.next(), j = 0;
      for (; j < p.length - 1; j++) { u -= p[j]; if (u <= 0) break; }
      const o = left.splice(j, 1)[0];
      lines.forEach((l, i) => { if (l.has(o)) got.add(i); });
    }
    if (got.size > 0) any++;
    if (got.size === lines.length) every++;
  }
  return lines.length ? { any: any / R, every: every / R } : { any: 0, every: 0 };
}

/**
 * A dumped bug's restoring options by the line they restore. A dump written before `lines` existed: grouped by the
 * line their edits sit on, which leaves out the lines no option restores (so its P(every line) is an upper bound).
 */
export function fixLines(bug: DumpedBug): Set<number>[] {
  if (bug.lines) return bug.lines.map((l) => new Set(l));
  const by = new Map<string, Set<number>>();
  bug.cands.forEach((c, i) => { if (c.fix) { const k = `${c.file}:${c.line}`; (by.get(k) ?? by.set(k, new Set()).get(k)!).add(i); } });
  return [...by.values()];
}

/** The options of one held-out bug as `bench:candidates --dump` writes them. */
export interface DumpedBug {
  id: string;
  cands: { key: string; f: number[]; fix: boolean; file: string; line: number }[];
  /** For each line the bug changed, the options that restore it (none: no option does); older dumps lack it. */
  lines?: number[][];
}

/** A dump's bugs as the policy scores them: their repair options and, per changed line, the options that restore it. */
export function heldOptions(dump: DumpedBug[]): { id: string; options: Option[]; lines: Set<number>[] }[] {
  return dump.map((b) => ({ id: b.id, options: b.cands.map((c) => ({ key: c.key, features: c.f })), lines: fixLines(b) }));
}

/** Mean over the held-out bugs of P(a restoring option of some line tried) and of P(one of every line's tried) under w. */
export function meanPTried(w: MlpWeights, held: { id: string; options: Option[]; lines: Set<number>[] }[], tries: number): { any: number; every: number } {
  const ps = held.map((b) => pLinesTried([...forward(w, featurizeAll('solve.repair', b.options, 'solver'), b.options.length)], b.lines, tries, `replay/${b.id}`, 500));
  return { any: ps.reduce((s, p) => s + p.any, 0) / Math.max(1, ps.length), every: ps.reduce((s, p) => s + p.every, 0) / Math.max(1, ps.length) };
}
