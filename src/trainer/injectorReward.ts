/**
 * The injector's expected reward (`injectorGradient.reward: 'expected'`).
 *
 * Why: the method rewards an injection by the solve rate s of its bug's G solver attempts (src/rewards.ts), and the
 * injector's advantage is its reward minus the step's mean injector reward (src/policy/onnx/train.ts). With a few
 * attempts per bug and a weak solver, s is almost always 0 or 1, every valid injection of a step gets -alpha, and the
 * advantage is zero: the injector never learns. Where a bug's fixes are known (src/trainer/expected.ts: the edits its
 * solved attempts kept, the options that restore the code it changed), the chance p that one attempt of the policy
 * that played solves it is known as well, from many simulated attempts. The reward's expectation over G attempts that
 * each succeed with probability p (`expectedInjectorReward`) then replaces the sampled reward: the same objective with
 * the attempts' own sampling averaged out, so a bug the solver rarely solves and one it always solves are told apart
 * even when their four attempts came out alike. A bug with no known fix keeps its sampled reward.
 */
import type { MlpWeights } from '../policy/onnx/model.js';
import { expectedInjectorReward } from '../rewards.js';
import { knownBugs, solveProbability, type AttemptOutcome } from './expected.js';
import type { ScoredTrajectory } from './gradient.js';

/** One injection's reward as the step trained on it: the sampled one, and p and the expectation where a fix is known. */
export interface InjectorRewardEstimate { group: string; sampled: number; p: number | null; reward: number }

export interface InjectorRewardOptions {
  /** Simulated attempts per bug. */
  samples: number;
  alpha: number;
  /** Seeds the simulation; each bug's draws are seeded by it and the bug's local group name. */
  seed: string;
  /** The group's name without what differs between campaigns of one seed (src/policy/versions.ts, withoutCampaign). */
  localGroup: (group: string) => string;
}

/**
 * The step's injector trajectories with their expected rewards under `w` (the weights of the version that played),
 * and what each reward was made of. `outcomes` are the solver attempts of each bug, by the episode group that the
 * bug's injection shares. Injections without attempts (invalid bugs: -1) keep their reward.
 */
export function expectedInjectorRewards(w: MlpWeights, injectors: ScoredTrajectory[], outcomes: ReadonlyMap<string, AttemptOutcome[]>, o: InjectorRewardOptions): { trajectories: ScoredTrajectory[]; estimates: InjectorRewardEstimate[] } {
  const estimates: InjectorRewardEstimate[] = [];
  const trajectories = injectors.map((t) => {
    const attempts = outcomes.get(t.group);
    if (!attempts?.length) return t;
    const [bug] = knownBugs(o.localGroup(t.group), attempts, 'whole');
    if (!bug) {
      estimates.push({ group: t.group, sampled: t.reward, p: null, reward: t.reward });
      return t;
    }
    const p = solveProbability(w, bug, o.samples, o.seed);
    const reward = expectedInjectorReward(p, attempts.length, o.alpha);
    estimates.push({ group: t.group, sampled: t.reward, p, reward });
    return { ...t, reward };
  });
  return { trajectories, estimates };
}
