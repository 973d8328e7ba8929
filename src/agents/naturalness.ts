/**
 * How natural an edited line reads in its own repository: code is repetitive, and an injected bug tends to make a
 * line that reads unlike the rest of the code (`i <= n` where every loop says `i < n`), so the edit that undoes it
 * makes the line more like its siblings. Two measures, each of the line after an edit against the line before it,
 * under a model of the repository's code lines without that line itself (it must not vouch for itself):
 *   - the change in log-probability under a token trigram model (backing off to bigrams and unigrams);
 *   - the change in how many other lines of the code read exactly like it, whitespace aside.
 * Language-agnostic by design (a tokenizer of identifiers, numbers, strings and operators), it never sees the
 * original code, only the tree the solver has; the solver gives both to the policy as features and lets training
 * decide what they are worth.
 */
const TOKEN = /[A-Za-z_$][\w$]*|\d[\w.]*|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`[^`\n]*`|[=!<>]=?=?|&&|\|\||[-+*/%&|^]=?|\S/g;

/** Lines beyond this many (a huge repository) are left out of the model: the first ones are plenty to learn from. */
const MAX_LINES = 100_000;

const tokensOf = (line: string): string[] => line.match(TOKEN) ?? [];
const normalised = (line: string): string => line.replace(/\s+/g, '');
const SEP = '\u0001';

export class LineModel {
  private readonly tri = new Map<string, number>();
  private readonly bi = new Map<string, number>();
  private readonly uni = new Map<string, number>();
  private readonly lines = new Map<string, number>();
  private total = 0;
  private count = 0;

  /** A model of every non-blank line of `texts` (the code files' contents). */
  constructor(texts: Iterable<string>) {
    for (const text of texts) {
      for (const line of text.split('\n')) {
        if (this.count >= MAX_LINES) return;
        if (line.trim()) { this.add(line, 1); this.count++; }
      }
    }
  }

  /**
   * What an edit of one line does to its naturalness: [Δ log-probability of the line, Δ log(1 + copies
   * elsewhere)], after minus before, with the line itself left out of the model. Positive: the edit makes the line
   * read more like the rest of the code.
   */
  editGain(before: string, after: string): [number, number] {
    const inModel = this.has(before);
    if (inModel) this.add(before, -1);
    try {
      const copies = (l: string) => Math.log1p(this.lines.get(normalised(l)) ?? 0);
      return [this.logProb(after) - this.logProb(before), copies(after) - copies(before)];
    } finally {
      if (inModel) this.add(before, 1);
    }
  }

  private has(line: string): boolean {
    return (this.lines.get(normalised(line)) ?? 0) > 0;
  }

  private add(line: string, d: number): void {
    const t = ['<s>', '<s>', ...tokensOf(line), '</s>'];
    for (let i = 2; i < t.length; i++) {
      bump(this.tri, `${t[i - 2]}${SEP}${t[i - 1]}${SEP}${t[i]}`, d);
      bump(this.bi, `${t[i - 1]}${SEP}${t[i]}`, d);
      bump(this.uni, t[i], d);
      this.total += d;
    }
    bump(this.lines, normalised(line), d);
  }

  /** The line's log-probability, with stupid backoff (Brants et al.) down to add-one unigrams. */
  private logProb(line: string): number {
    const t = ['<s>', '<s>', ...tokensOf(line), '</s>'];
    let s = 0;
    for (let i = 2; i < t.length; i++) {
      const tri = this.tri.get(`${t[i - 2]}${SEP}${t[i - 1]}${SEP}${t[i]}`) ?? 0;
      const ctx2 = this.bi.get(`${t[i - 2]}${SEP}${t[i - 1]}`) ?? 0;
      const bi = this.bi.get(`${t[i - 1]}${SEP}${t[i]}`) ?? 0;
      const ctx1 = this.uni.get(t[i - 1]) ?? 0;
      const p = tri > 0 && ctx2 > 0 ? tri / ctx2
        : bi > 0 && ctx1 > 0 ? 0.4 * bi / ctx1
          : 0.16 * ((this.uni.get(t[i]) ?? 0) + 1) / (this.total + this.uni.size + 1);
      s += Math.log(Math.min(1, p));
    }
    return s;
  }
}

function bump(m: Map<string, number>, k: string, d: number): void {
  const v = (m.get(k) ?? 0) + d;
  if (v > 0) m.set(k, v);
  else m.delete(k);
}

/** The lines an edit changes, before and after, when it keeps the line count (every value-changing edit does). */
export function changedLines(before: string, after: string): { before: string; after: string }[] {
  const B = before.split('\n'), A = after.split('\n');
  if (A.length !== B.length) return [];
  const out: { before: string; after: string }[] = [];
  for (let j = 0; j < B.length; j++) if (A[j] !== B[j]) out.push({ before: B[j], after: A[j] });
  return out;
}
