/**
 * The rewards of the method (SSR-SPEC "The solver" and "The injector's reward"), in one place.
 * Pure functions: the round workflow calls them directly.
 */

/** +1 when every test of the oracle passes after the solver's patch, -1 otherwise. */
export function solverReward(success: boolean): number {
  return success ? 1 : -1;
}

export function solveRate(successes: boolean[]): number {
  if (successes.length === 0) return 0;
  return successes.filter(Boolean).length / successes.length;
}

/**
 * r_inject = -1 if the artifact fails a consistency check; -alpha if s is 0 or 1; 1 - (1 + alpha) s otherwise.
 * The degenerate cases get -alpha rather than -1 so that a valid but too easy or too hard bug still carries signal.
 */
export function injectorReward(valid: boolean, s: number, alpha = 0.8): number {
  if (!valid) return -1;
  if (!(s >= 0 && s <= 1)) throw new RangeError(`solve rate must be in [0,1], got ${s}`);
  if (s === 0 || s === 1) return -alpha;
  return 1 - (1 + alpha) * s;
}

/** Expected injector reward when each of G attempts succeeds with probability p (for reports and tests). */
export function expectedInjectorReward(p: number, G: number, alpha = 0.8): number {
  let e = 0;
  for (let k = 0; k <= G; k++) {
    e += binom(G, k) * p ** k * (1 - p) ** (G - k) * injectorReward(true, k / G, alpha);
  }
  return e;
}

function binom(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}
