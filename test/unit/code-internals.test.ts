/* The fast paths (incremental re-parse, snippet re-parse) must agree with a full parse. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { applyEdits, type Edit, hasSyntaxErrors, type Lang } from '../../src/agents/code/index.js';
import { withParsed } from '../../src/agents/code/parser.js';
import { Validator } from '../../src/agents/code/validate.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/code/${name}`, import.meta.url), 'utf8');

/** Deterministic pseudo-random edits: deletions of punctuation, token swaps, insertions, some across non-ASCII text. */
function probeEdits(src: string, count: number): Edit[] {
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const inserts = ['', ' ', '(', ')', ':', '{', '}', '\n', 'é', '😀', ' + 1', 'not ', '!', '"', '\n    x = 1\n'];
  const edits: Edit[] = [];
  for (let i = 0; i < count; i++) {
    const start = rnd(src.length);
    // Never split a surrogate pair: offsets are code units, but edits in the middle of one are meaningless.
    const s = /[\uDC00-\uDFFF]/.test(src[start] ?? '') ? start + 1 : start;
    const len = rnd(4);
    const e = /[\uD800-\uDBFF]/.test(src[s + len - 1] ?? '') ? s + len + 1 : s + len;
    edits.push({ start: s, end: Math.min(e, src.length), replacement: inserts[rnd(inserts.length)]! });
  }
  return edits;
}

const cases: [Lang, string][] = [
  ['python', 'inventory.py'],
  ['javascript', 'cart.js'],
  ['typescript', 'shapes.ts'],
  ['go', 'calc.go'],
];

describe('code: validation fast paths agree with a full parse', () => {
  for (const [lang, file] of cases) {
    it(`${lang}: incremental and snippet checks`, async () => {
      const src = fixture(file).replace('\n', '\n' + (lang === 'python' ? '# é 😀 ünïcödé\n' : '// é 😀 ünïcödé\n'));
      const edits = probeEdits(src, 150);
      const truth = await Promise.all(edits.map(async (e) => !(await hasSyntaxErrors(lang, applyEdits(src, [e])))));
      await withParsed(lang, src, (p) => {
        const v = new Validator(p);
        edits.forEach((e, i) => {
          assert.equal(p.accepts([e]), truth[i], `incremental: ${JSON.stringify(e)}`);
          // Anchor at the smallest node spanning the edit, as the mutation code does.
          let anchor = p.root;
          for (let descended = true; descended; ) {
            descended = false;
            for (const c of anchor.children) {
              if (c.start <= e.start && e.end <= c.end && c !== anchor) {
                anchor = c;
                descended = true;
                break;
              }
            }
          }
          assert.equal(v.check(anchor, [e]), truth[i], `snippet: ${JSON.stringify(e)} in ${anchor.type}`);
        });
      });
      assert.ok(truth.some((t) => t) && truth.some((t) => !t), 'the probe covers both outcomes');
    });
  }
});
