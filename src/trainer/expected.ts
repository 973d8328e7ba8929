/**
 * The solver's expected gradient: the policy-gradient step of a bug's group of attempts, taken over the group's
 * expected reward instead of the few orders its attempts happened to sample.
 *
 * Why: the repair search is a sampled order over a few hundred options, and its reward says only whether the order
 * reached a fix within the budget. With 4 attempts per bug most groups are all failures (no gradient), and where one
 * succeeds, REINFORCE credits every pick of its order alike, the wrong ones included. But the tests are deterministic
 * and a fix is often known: the edits a solved attempt kept, and, whether any attempt solved or not, the options that
 * together restore the code the bug changed (`restoringSolutions`: the original passes every test). So the reward of
 * any other order of the same options is known without running anything: it reaches a known fix within the budget or
 * it does not. Two approximations: an option outside every known fix counts as a failure (it may be another fix, so
 * this under-credits), and a fix of several options counts once all are drawn (the solver keeps a partial one only
 * when some failing test passes with it, so this may over-credit a bug of several changed lines). The step samples many orders from
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
import { applyEdits, type Edit } from '../agents/code/edits.js';

const GROUP = 'solve.repair';

/** What one bug's attempts taught: its repair options, the option sets that solved it, and the picks a budget allows. */
export interface KnownBug { group: string; options: Option[]; solutions: number[][]; maxPicks: number; attempts: number }

/** One solver attempt as the step sees it: its reward (> 0: graded solved) and its search, when it recorded one. */
export interface AttemptOutcome { reward: number; search?: SearchRecord }

/** What one repair option would change: one edit of one code file, as the solver's candidate holds it. */
export interface OptionEdit { file: string; edit: Edit }

/** A bug line: a file and a 0-based line the bug changed. */
const lineId = (file: string, j: number) => `${file}:${j}`;
// Up to whitespace and parentheses: the mutations that make options never add or move parentheses, so an edit
// that differs from the original only there restores it (`!(x)` stripped to `(x)`).
const norm = (t: string) => t.replace(/[\s()]/g, '');

/**
 * Which lines of the bug each option's edit restores: an option restores when every line it changes is one the bug
 * changed and now reads as the original does. `buggy` and `original` hold the text of the files the bug changed in
 * each state. Bug lines are `file:line`; a bug that added or removed lines, or changed a file `buggy` lacks, has none
 * (no single-line edit, or no option at all, restores it).
 */
export function restoredLines(edits: readonly OptionEdit[], buggy: ReadonlyMap<string, string>, original: ReadonlyMap<string, string>): { lines: string[]; restores: Map<number, string[]> } {
  const lines: string[] = [];
  const split = new Map<string, [string[], string[]]>();
  for (const [file, o] of original) {
    const b = buggy.get(file);
    if (b === o) continue;
    // A changed file the options never edit (outside the solver's candidates) leaves lines no option restores.
    if (b === undefined) return { lines: [], restores: new Map() };
    const O = o.split('\n'), B = b.split('\n');
    if (O.length !== B.length) return { lines: [], restores: new Map() };
    split.set(file, [O, B]);
    B.forEach((l, j) => { if (l !== O[j]) lines.push(lineId(file, j)); });
  }
  const restores = new Map<number, string[]>();
  edits.forEach(({ file, edit }, i) => {
    const s = split.get(file);
    if (!s) return;
    const [O, B] = s, before = buggy.get(file)!;
    if (edit.end > before.length) return;
    const C = applyEdits(before, [edit]).split('\n');
    if (C.length !== B.length) return;
    const changed = C.flatMap((l, j) => (l !== B[j] ? [j] : []));
    if (changed.length > 0 && changed.every((j) => B[j] !== O[j] && norm(C[j]) === norm(O[j]))) restores.set(i, changed.map((j) => lineId(file, j)));
  });
  return { lines, restores };
}

/**
 * The bug's solutions known without a test run: the sets of options that together restore every line the bug
 * changed (one option per line, up to `cap` sets). The original passes every test (check 3) and the suites are
 * deterministic, so such a set is a fix. Computed by the solver *activity*, which holds the artifact; the solver never
 * sees the original. None when some bug line has no restoring option (a removal, a change inside a line that two
 * edits would have to share, a file outside the solver's candidates).
 */
export function restoringSolutions(edits: readonly OptionEdit[], buggy: ReadonlyMap<string, string>, original: ReadonlyMap<string, string>, cap = 64): number[][] {
  const { lines, restores } = restoredLines(edits, buggy, original);
  if (lines.length === 0) return [];
  const by = new Map(lines.map((l) => [l, [...restores].filter(([, ls]) => ls.includes(l)).map(([i]) => i)]));
  if ([...by.values()].some((opts) => opts.length === 0)) return [];
  let sets: number[][] = [[]];
  for (const opts of by.values()) {
    sets = sets.flatMap((s) => opts.map((i) => [...new Set([...s, i])].sort((a, b) => a - b))).slice(0, cap * 4);
  }
  const seen = new Set<string>();
  return sets.filter((s) => !seen.has(s.join(',')) && !!seen.add(s.join(','))).slice(0, cap);
}

const optionId = (o: Option) => JSON.stringify([o.key, o.features ?? []]);

/**
 * The bug a group of attempts learned, or null when no fix of it is known. Its fixes are the option sets its solved
 * attempts kept and the sets its searches record as known (`SearchRecord.solutions`: those that restore the original
 * code), mapped onto one search's options: a solved one's, else the first (the same artifact gives the same options;
 * a set that does not map is dropped rather than guessed).
 */
export function knownBug(group: string, attempts: AttemptOutcome[]): KnownBug | null {
  const searches = attempts.flatMap((a) => (a.search ? [a.search] : []));
  const solved = attempts.filter((a) => a.reward > 0 && a.search && a.search.kept.length > 0).map((a) => a.search!);
  const base = solved[0] ?? searches[0];
  if (!base) return null;
  const index = new Map(base.options.map((o, i) => [optionId(o), i]));
  const solutions: number[][] = [];
  const seen = new Set<string>();
  const add = (s: SearchRecord, set: number[]) => {
    const sol = set.map((k) => (s.options[k] ? index.get(optionId(s.options[k])) : undefined));
    if (sol.length === 0 || sol.some((x) => x === undefined)) return;
    const sorted = [...new Set(sol as number[])].sort((a, b) => a - b);
    if (!seen.has(sorted.join(','))) { seen.add(sorted.join(',')); solutions.push(sorted); }
  };
  for (const s of solved) add(s, s.kept);
  for (const s of searches) for (const sol of s.solutions ?? []) add(s, sol);
  const maxPicks = Math.max(...searches.map((s) => s.maxPicks));
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
