/**
 * The solver's expected gradient: the policy-gradient step of a bug's group of attempts, taken over the group's
 * expected reward instead of the few orders its attempts happened to sample.
 *
 * Why: the repair search is a sampled order over a few hundred options, and its reward says only whether the order
 * reached a fix within the budget. With 4 attempts per bug most groups are all failures (no gradient), and where one
 * succeeds, REINFORCE credits every pick of its order alike, the wrong ones included. But the tests are deterministic
 * and the attempts have already found out what a fix is: the edits a solved attempt kept. So the reward of any other
 * order of the same options is known without running anything (it reaches a known fix within the budget or it does
 * not; options no attempt tried count as failures, which only ever under-credits). The step samples many orders from
 * the current policy, scores each so, and takes the usual group-normalised policy gradient over them
 * (src/policy/onnx/train.ts): the same objective as the real attempts', with far less variance (Rao-Blackwellised
 * over the search's own sampling). Bugs learned so are kept (`train/<campaign>/<step>.known.json`) and replayed by
 * later steps, as their reward under a newer policy is just as known.
 */
import { forward, type MlpWeights } from '../policy/onnx/model.js';
import { featurizeAll } from '../policy/onnx/features.js';
import { recordedDecision, sampleIndex, softmax, type Decision, type Option, type SearchRecord } from '../policy/policy.js';
import { Rng } from '../policy/rng.js';
import { solverReward } from '../rewards.js';
import type { ScoredTrajectory } from './gradient.js';

const GROUP = 'solve.repair';

/** What one bug's attempts taught: its repair options, the option sets that solved it, and the picks a budget allows. */
export interface KnownBug { group: string; options: Option[]; solutions: number[][]; maxPicks: number; attempts: number }

/** One solver attempt as the step sees it: its reward (> 0: graded solved) and its search, when it recorded one. */
export interface AttemptOutcome { reward: number; search?: SearchRecord }

const optionId = (o: Option) => JSON.stringify([o.key, o.features ?? []]);

/**
 * The bug a group of attempts learned, or null when none of its attempts was solved by a recorded search. A
 * solution is the set of options a solved attempt kept, mapped onto the first solved attempt's options (the same
 * artifact gives the same options; one that does not map is dropped rather than guessed).
 */
export function knownBug(group: string, attempts: AttemptOutcome[]): KnownBug | null {
  const solved = attempts.filter((a) => a.reward > 0 && a.search && a.search.kept.length > 0).map((a) => a.search!);
  if (solved.length === 0) return null;
  const base = solved[0];
  const index = new Map(base.options.map((o, i) => [optionId(o), i]));
  const solutions: number[][] = [];
  const seen = new Set<string>();
  for (const s of solved) {
    const sol = s.kept.map((k) => index.get(optionId(s.options[k])));
    if (sol.some((x) => x === undefined)) continue;
    const set = [...new Set(sol as number[])].sort((a, b) => a - b);
    if (!seen.has(set.join(','))) { seen.add(set.join(',')); solutions.push(set); }
  }
  const maxPicks = Math.max(...attempts.flatMap((a) => (a.search ? [a.search.maxPicks] : [])));
  return solutions.length ? { group, options: base.options, solutions, maxPicks, attempts: attempts.length } : null;
}

/**
 * `samples` simulated attempts per known bug under weights `w`: each draws a Plackett-Luce order one pick at a time,
 * as the solver does, and stops when every option of some solution is drawn (solved) or the budget's picks are spent.
 * Their decisions are recorded as the runner records real ones, and each gets the solver's reward; the group is the
 * bug's, so advantages are normalised among its simulated attempts, and together they weigh what the bug's real
 * attempts weighed. Deterministic in (w, bugs, samples, seed).
 */
export function expectedSolverBatch(w: MlpWeights, bugs: KnownBug[], samples: number, seed: string): ScoredTrajectory[] {
  const out: ScoredTrajectory[] = [];
  for (const bug of bugs) {
    const n = bug.options.length;
    if (n < 2 || bug.maxPicks < 1) continue;
    const scores = forward(w, featurizeAll(GROUP, bug.options, 'solver'), n);
    const rng = new Rng(`${seed}/${bug.group}`);
    for (let m = 0; m < samples; m++) {
      const left = bug.options.map((_, i) => i);
      const drawn = new Set<number>();
      const decisions: Decision[] = [];
      let solved = false;
      for (let k = 0; k < bug.maxPicks && left.length > 0 && !solved; k++) {
        const j = sampleIndex(softmax(left.map((i) => scores[i])), rng);
        if (left.length > 1) decisions.push(recordedDecision(GROUP, left.map((i) => bug.options[i]), j, rng));
        drawn.add(left.splice(j, 1)[0]);
        solved = bug.solutions.some((s) => s.every((i) => drawn.has(i)));
      }
      out.push({ role: 'solver', group: `expected:${bug.group}`, reward: solverReward(solved), decisions, weight: bug.attempts / samples });
    }
  }
  return out;
}
