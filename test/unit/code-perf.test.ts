/*
 * A 2000-line file should take well under 200 ms per call. The assertion allows slack for loaded
 * CI machines; the measured times are reported as diagnostics.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { definedFunctions, findMutations, findRemovals, findTests, type Lang, referencedNames } from '../../src/agents/code/index.js';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/code/${name}`, import.meta.url), 'utf8');

/** A ~2000-line file made of renamed copies of a fixture (Go: one package clause and import block). */
function big(lang: Lang, file: string, salt: string): string {
  const src = fixture(file);
  const head = lang === 'go' ? src.slice(0, src.indexOf('// Stats')) : '';
  const body = lang === 'go' ? src.slice(head.length) : src;
  const names = /\b(Divide|Clamp|Sum|Describe|Summarise|Mean|Warm|Lookup|Last|Log|Stats|Celsius|Shape|ErrEmpty)\b/g;
  let out = head;
  for (let i = 0; out.split('\n').length < 2000; i++) {
    out += '\n' + (lang === 'go' ? body.replace(names, `$1${i}`) : body) + `\n${lang === 'python' ? '#' : '//'} ${salt} ${i}\n`;
  }
  return out;
}

const LIMIT_MS = 600;

describe('code: performance on 2000-line files', () => {
  const cases: [Lang, string][] = [
    ['python', 'inventory.py'],
    ['javascript', 'cart.js'],
    ['typescript', 'shapes.ts'],
    ['go', 'calc.go'],
  ];
  for (const [lang, file] of cases) {
    it(`${lang}`, async (t) => {
      // Warm-up: grammar load and JIT, on a different text so nothing is cached for the timed calls.
      await findMutations(lang, big(lang, file, 'warm'));
      const src = big(lang, file, 'timed');
      const time = async (name: string, fn: () => Promise<unknown>): Promise<number> => {
        const t0 = performance.now();
        await fn();
        const ms = performance.now() - t0;
        t.diagnostic(`${lang} ${name}: ${ms.toFixed(1)} ms`);
        return ms;
      };
      // The first call parses; later calls on the same text reuse the parse.
      const first = await time('findMutations (parse included)', () => findMutations(lang, src));
      const rem = await time('findRemovals', () => findRemovals(lang, src));
      const rest = await time('findTests + definedFunctions + referencedNames', async () => {
        await findTests(lang, src);
        await definedFunctions(lang, src);
        await referencedNames(lang, src);
      });
      assert.ok(first < LIMIT_MS && rem < LIMIT_MS && rest < LIMIT_MS, `${first} ${rem} ${rest}`);
    });
  }
});
