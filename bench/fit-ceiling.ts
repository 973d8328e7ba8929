/**
 * What the repair options' features can tell at best: a conditional-logit (linear softmax) fit of the score over an
 * option's numeric features and the words of its key, trained with the answer known (which options revert the bug),
 * the way no policy-gradient step ever sees it. Fitted on all bugs but one and measured on that one (leave one bug
 * out), its P(fix tried) is a ceiling for what learning can reach with these features on unseen bugs of the same
 * repositories; fitted and measured on all bugs, a looser one. A learning run that stays far below the ceiling
 * lacks signal; a ceiling near version 0 says the features lack the information.
 */
import type { Option } from '../src/policy/policy.js';
import { keyTokens } from '../src/policy/onnx/features.js';

export interface FitBug { id: string; options: Option[]; fixes: Set<number> }

interface Design { x: Float64Array[]; fixes: number[] }

/** Each option as [numeric features, one indicator per key word of the vocabulary]. */
function design(bugs: FitBug[], numeric: number, vocab: string[]): Map<string, Design> {
  const out = new Map<string, Design>();
  for (const b of bugs) {
    out.set(b.id, {
      fixes: [...b.fixes],
      x: b.options.map((o) => {
        const v = new Float64Array(numeric + vocab.length);
        (o.features ?? []).slice(0, numeric).forEach((f, i) => { v[i] = Number.isFinite(f) ? f : 0; });
        for (const t of keyTokens(o.key)) { const k = vocab.indexOf(t); if (k >= 0) v[numeric + k] = 1; }
        return v;
      }),
    });
  }
  return out;
}

const dot = (w: Float64Array, x: Float64Array) => { let s = 0; for (let i = 0; i < w.length; i++) s += w[i] * x[i]; return s; };

/** Maximises Σ log π(some fix) − λ|w|² (the prior's weights unpenalised) by gradient ascent from the prior. */
function fit(ds: Design[], dim: number, prior: number[], iters = 300, lr = 0.5, l2 = 0.1): Float64Array {
  const w = new Float64Array(dim);
  prior.forEach((p, i) => { w[i] = p; });
  const g = new Float64Array(dim);
  for (let it = 0; it < iters; it++) {
    g.fill(0);
    for (const d of ds) {
      if (d.fixes.length === 0) continue;
      const s = d.x.map((x) => dot(w, x));
      const m = Math.max(...s);
      const e = s.map((v) => Math.exp(v - m));
      const z = e.reduce((a, b) => a + b, 0);
      const zf = d.fixes.reduce((a, j) => a + e[j], 0);
      const isFix = new Set(d.fixes);
      d.x.forEach((x, j) => {
        const c = (isFix.has(j) ? e[j] / zf : 0) - e[j] / z;
        if (c !== 0) for (let k = 0; k < dim; k++) g[k] += c * x[k];
      });
    }
    for (let k = 0; k < dim; k++) w[k] += lr * (g[k] / ds.length - (k < prior.length ? 0 : l2 * w[k]));
  }
  return w;
}

export interface Ceiling { inSample: number; leaveOneOut: number }

/**
 * Mean P(fix tried) of the fitted scores, leave one bug out and in-sample. `pTried(bugId, scores)` is the caller's
 * Monte Carlo of the solver's sampled order, so the ceiling is measured exactly as a policy is.
 */
export function ceiling(bugs: FitBug[], numeric: number, prior: number[], withKeys: boolean, pTried: (id: string, scores: number[]) => number): Ceiling {
  const vocab = withKeys ? [...new Set(bugs.flatMap((b) => b.options.flatMap((o) => keyTokens(o.key))))].sort() : [];
  const ds = design(bugs, numeric, vocab);
  const dim = numeric + vocab.length;
  const scoresOf = (w: Float64Array, id: string) => ds.get(id)!.x.map((x) => dot(w, x));
  const all = fit([...ds.values()], dim, prior);
  const inSample = bugs.reduce((a, b) => a + pTried(b.id, scoresOf(all, b.id)), 0) / bugs.length;
  let loo = 0;
  for (const b of bugs) {
    const w = fit(bugs.filter((o) => o.id !== b.id).map((o) => ds.get(o.id)!), dim, prior);
    loo += pTried(b.id, scoresOf(w, b.id));
  }
  return { inSample, leaveOneOut: loo / bugs.length };
}
