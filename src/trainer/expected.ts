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
 * For each line the bug changed, the options whose edit restores it (empty where none does). The original passes
 * every test (check 3) and the suites are deterministic, so options that restore every line together are a fix.
 * Computed by the solver *activity*, which holds the artifact; the solver never sees the original. None at all when
 * no option can restore the bug (lines added or removed, a changed file outside the solver's candidates).
 */
export function restoringOptions(edits: readonly OptionEdit[], buggy: ReadonlyMap<string, string>, original: ReadonlyMap<string, string>): number[][] {
  const { lines, restores } = restoredLines(edits, buggy, original);
  return lines.map((l) => [...restores].filter(([, ls]) => ls.includes(l)).map(([i]) => i));
}

/**
 * The option sets that restore every line of the bug, one option per line (up to `cap` sets); none when some line
 * has no restoring option.
 */
export function wholeFixes(byLine: readonly number[][], cap = 64): number[][] {
  if (byLine.length === 0 || byLine.some((opts) => opts.length === 0)) return [];
  let sets: number[][] = [[]];
  for (const opts of byLine) sets = sets.flatMap((s) => opts.map((i) => [...new Set([...s, i])].sort((a, b) => a - b))).slice(0, cap * 4);
  return distinctSets(sets).slice(0, cap);
}

/** The sets (sorted index lists) each once, in order of first appearance. */
function distinctSets(sets: readonly number[][]): number[][] {
  const seen = new Set<string>();
  return sets.filter((s) => !seen.has(s.join(',')) && !!seen.add(s.join(',')));
}

const optionId = (o: Option) => JSON.stringify([o.key, o.features ?? []]);

/**
 * How a bug's restoring options become known fixes (`solverGradient.fixes`): 'whole', one known bug whose fixes
 * restore every line it changed (a bug of several lines is solved only once all of them are drawn, which a search
 * of a few picks under an untrained policy almost never does, so such a group seldom has gradient); 'per-line', one
 * known bug per changed line, solved once one of that line's restoring options is drawn (the solver keeps an edit
 * that makes some failing test pass, so restoring any line is progress; a surrogate of the whole search that has
 * gradient wherever a line can be restored).
 */
export type FixesMode = 'whole' | 'per-line';

/**
 * The bugs a group of attempts taught: none when no fix of it is known. Fixes are the option sets its solved attempts
 * kept and what its searches record as restoring (`SearchRecord.restores`), taken as `mode` says, all mapped onto one
 * search's options: a solved one's, else the first (the same artifact gives the same options; a set that does not
 * map is dropped rather than guessed). Under 'per-line' the bug's attempts weigh across its lines.
 */
export function knownBugs(group: string, attempts: AttemptOutcome[], mode: FixesMode = 'per-line'): KnownBug[] {
  const searches = attempts.flatMap((a) => (a.search ? [a.search] : []));
  const solved = attempts.filter((a) => a.reward > 0 && a.search && a.search.kept.length > 0).map((a) => a.search!);
  const base = solved[0] ?? searches[0];
  if (!base) return [];
  const index = new Map(base.options.map((o, i) => [optionId(o), i]));
  const maxPicks = Math.max(...searches.map((s) => s.maxPicks));
  const mapped = (s: SearchRecord, set: number[]): number[] | null => {
    const sol = set.map((k) => (s.options[k] ? index.get(optionId(s.options[k])) : undefined));
    return sol.length === 0 || sol.some((x) => x === undefined) ? null : [...new Set(sol as number[])].sort((a, b) => a - b);
  };
  const bug = (g: string, sets: (number[] | null)[], weight: number): KnownBug | null => {
    const solutions = distinctSets(sets.filter((x): x is number[] => x !== null));
    return solutions.length ? { group: g, options: base.options, solutions, maxPicks, attempts: weight } : null;
  };
  const kept = solved.map((s) => mapped(s, s.kept));
  // Every search of one artifact finds the same lines; the first that recorded them speaks for the group.
  const rec = searches.find((s) => s.restores && s.restores.length > 0);
  const lines = rec ? rec.restores!.map((opts) => opts.map((i) => mapped(rec, [i])?.[0]).filter((i): i is number => i !== undefined)) : [];
  if (mode === 'per-line' && lines.some((l) => l.length > 0)) {
    const restorable = lines.map((l, k) => [l, k] as const).filter(([l]) => l.length > 0);
    return restorable.flatMap(([l, k]) => bug(`${group}#${k}`, l.map((i) => [i]), attempts.length / restorable.length) ?? []);
  }
  const one = bug(group, [...kept, ...wholeFixes(lines)], attempts.length);
  return one ? [one] : [];
}

/**
 * `samples` simulated attempts per known bug under weights `w`: each draws a Plackett-Luce order one pick at a time,
 * as the solver does, and stops when every option of some solution is drawn (solved) or the budget's picks are spent:
 * the bug's own (`maxPicks`, what its real attempts had) or `picks` where that is smaller. Their decisions are recorded as the runner records real ones, and each gets the solver's reward; the group is the
 * bug's, so advantages are normalised among its simulated attempts, and together they weigh what the bug's real
 * attempts weighed. Deterministic in (w, bugs, samples, seed).
 */
export function expectedSolverBatch(w: MlpWeights, bugs: KnownBug[], samples: number, seed: string, picks = Infinity): ScoredTrajectory[] {
  return bugs.flatMap((bug) => simulatedAttempts(w, bug, samples, seed, picks).map(({ solved, decisions }): ScoredTrajectory =>
    ({ role: 'solver', group: `expected:${bug.group}`, reward: solverReward(solved), decisions, weight: bug.attempts / samples })));
}

/**
 * The chance that one attempt of a known bug under weights `w` reaches one of its fixes within its own budget of
 * picks: the share of `samples` simulated attempts (as `expectedSolverBatch` draws them) that do. Deterministic in
 * (w, bug, samples, seed).
 */
export function solveProbability(w: MlpWeights, bug: KnownBug, samples: number, seed: string): number {
  if (bug.options.length === 1) return bug.maxPicks >= 1 && bug.solutions.some((s) => s.every((i) => i === 0)) ? 1 : 0;
  const runs = simulatedAttempts(w, bug, samples, seed, Infinity);
  return runs.length ? runs.filter((r) => r.solved).length / runs.length : 0;
}

function simulatedAttempts(w: MlpWeights, bug: KnownBug, samples: number, seed: string, picks: number): { solved: boolean; decisions: Decision[] }[] {
  const n = bug.options.length;
  const maxPicks = Math.min(bug.maxPicks, picks);
  if (n < 2 || maxPicks < 1) return [];
  const scores = forward(w, featurizeAll(GROUP, bug.options, 'solver'), n);
  const rng = new Rng(`${seed}/${bug.group}`);
  const out: { solved: boolean; decisions: Decision[] }[] = [];
  for (let m = 0; m < samples; m++) {
    const left = bug.options.map((_, i) => i);
    const drawn = new Set<number>();
    const decisions: Decision[] = [];
    let solved = false;
    for (let k = 0; k < maxPicks && left.length > 0 && !solved; k++) {
      const j = sampleIndex(softmax(left.map((i) => scores[i])), rng);
      if (left.length > 1) decisions.push(recordedDecision(GROUP, left.map((i) => bug.options[i]), j, rng));
      drawn.add(left.splice(j, 1)[0]);
      solved = bug.solutions.some((s) => s.every((i) => drawn.has(i)));
    }
    out.push({ solved, decisions });
  }
  return out;
}
