import type { Option } from '../policy.js';
import type { Role } from '../../trainer/gradient.js';

/**
 * The one place that turns an option of a policy decision into the network's input vector. The layout is part of
 * the model format: a model file records FEATURE_LAYOUT and a model built for another layout is refused, so change
 * the layout only together with that string (and, for the models campaigns already wrote, a mapping of their inputs
 * onto the new ones that keeps every score, where one exists: `widen` in model.ts).
 *
 * Blocks, in order (F = FEATURE_WIDTH = 318):
 *   role       2    one-hot injector / solver: the method's parameter sharing, one network for both roles
 *   group      16   one-hot of the decision group: the known groups have fixed slots, others hash into the rest
 *   key        32   hashed bag of the option key's tokens (`if-condition` → if, condition), shared by all groups
 *   group·key  2×32 the same tokens hashed together with the group: lets the linear path hold a per-(group, key)
 *                   logit, as a log-linear policy has. The solver's options hash into the second half, every other
 *                   option into the first: the two roles' keys share a vocabulary (mutation kinds), and in one
 *                   block of 32 they met in the same buckets by collision (26 of 32 buckets held a solver token), so
 *                   a step on the injector's own weights moved the solver's scores (layout 1; src/trainer/step.ts)
 *   numeric    12   the option's numeric `features`, padded with 0 / truncated, shared by all groups (the solver
 *                   uses 11; the rest are spare, so that a new feature does not have to change the layout)
 *   group·num  192  the numeric features again, in the 12-wide slot of the option's group slot: a per-group
 *                   weight vector on the linear path (today's `weights[group]`, e.g. the solver's Ochiai prior)
 * Every value is bounded (one-hots, token counts of short keys, the agents' features in [0,1] or small logs),
 * so no normalisation is needed.
 */
export const ROLE_WIDTH = 2;
export const GROUP_SLOTS = 16;
export const KEY_BUCKETS = 32;
export const NUMERIC = 12;

export const OFF_ROLE = 0;
export const OFF_GROUP = OFF_ROLE + ROLE_WIDTH;
export const OFF_KEY = OFF_GROUP + GROUP_SLOTS;
export const OFF_GROUP_KEY = OFF_KEY + KEY_BUCKETS;
/** Where the solver's half of the group·key block starts. */
export const OFF_GROUP_KEY_SOLVER = OFF_GROUP_KEY + KEY_BUCKETS;
export const OFF_NUMERIC = OFF_GROUP_KEY + 2 * KEY_BUCKETS;
export const OFF_GROUP_NUMERIC = OFF_NUMERIC + NUMERIC;
export const FEATURE_WIDTH = OFF_GROUP_NUMERIC + GROUP_SLOTS * NUMERIC;
export const FEATURE_LAYOUT = `ssr-features/2:r${ROLE_WIDTH}g${GROUP_SLOTS}k${KEY_BUCKETS}n${NUMERIC}`;

/**
 * The decision groups the embedded agents use today (src/agents/*). Fixed slots keep them from colliding with each
 * other; appending a group keeps old models valid, reordering does not.
 */
export const KNOWN_GROUPS = ['solve.repair', 'inject.strategy', 'inject.file', 'inject.removal', 'inject.compose', 'inject.mutation', 'inject.commit'] as const;

/** Groups are named by role (`inject.*`, `solve.*`); the runner derives the role from the name when not told. */
export function roleOfGroup(group: string): Role | null {
  if (group.startsWith('inject.')) return 'injector';
  if (group.startsWith('solve.')) return 'solver';
  return null;
}

/** FNV-1a, 32 bit: stable across processes and platforms, unlike anything seeded per process. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function groupSlot(group: string): number {
  const k = (KNOWN_GROUPS as readonly string[]).indexOf(group);
  if (k >= 0) return k;
  return KNOWN_GROUPS.length + (fnv1a(group) % (GROUP_SLOTS - KNOWN_GROUPS.length));
}

/** Tokens of a key: split on anything not alphanumeric and at camelCase boundaries, lower-cased. */
export function keyTokens(key: string): string[] {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
}

/**
 * Offsets of a (group, key)'s token buckets, memoised: a campaign has a few dozen distinct pairs, and tokenising and
 * hashing them again for every option was most of the cost of featurizing a training batch.
 */
const memo = new Map<string, { slot: number; buckets: number[] }>();
function keyBuckets(group: string, key: string, role: Role | null): { slot: number; buckets: number[] } {
  const id = `${role ?? ''}\u0000${group}\u0000${key}`;
  let m = memo.get(id);
  if (!m) {
    const buckets: number[] = [];
    const half = role === 'solver' ? OFF_GROUP_KEY_SOLVER : OFF_GROUP_KEY;
    for (const t of keyTokens(key)) buckets.push(OFF_KEY + (fnv1a(t) % KEY_BUCKETS), half + (fnv1a(`${group}\u0000${t}`) % KEY_BUCKETS));
    m = { slot: groupSlot(group), buckets };
    // Bounded: keys are kinds and strategies today, but nothing stops an agent from using free text.
    if (memo.size >= 4096) memo.clear();
    memo.set(id, m);
  }
  return m;
}

/** Writes the option's features into `out` at `offset` (which must hold FEATURE_WIDTH zeros). */
export function featurizeInto(out: Float32Array, offset: number, group: string, option: Option, role: Role | null): void {
  if (role === 'injector') out[offset + OFF_ROLE] = 1;
  else if (role === 'solver') out[offset + OFF_ROLE + 1] = 1;
  const { slot, buckets } = keyBuckets(group, option.key, role);
  out[offset + OFF_GROUP + slot] = 1;
  for (const b of buckets) out[offset + b] += 1;
  const nums = option.features ?? [];
  for (let i = 0; i < Math.min(NUMERIC, nums.length); i++) {
    const v = Number.isFinite(nums[i]) ? nums[i] : 0;
    out[offset + OFF_NUMERIC + i] = v;
    out[offset + OFF_GROUP_NUMERIC + slot * NUMERIC + i] = v;
  }
}

export function featurize(group: string, option: Option, role: Role | null = roleOfGroup(group)): Float32Array {
  const out = new Float32Array(FEATURE_WIDTH);
  featurizeInto(out, 0, group, option, role);
  return out;
}

/** The options of one decision as a row-major [options, FEATURE_WIDTH] matrix: the network's input. */
export function featurizeAll(group: string, options: Option[], role: Role | null = roleOfGroup(group)): Float32Array {
  const out = new Float32Array(options.length * FEATURE_WIDTH);
  options.forEach((o, i) => featurizeInto(out, i * FEATURE_WIDTH, group, o, role));
  return out;
}
