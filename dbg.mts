import fs from 'node:fs';
import { findMutations, findRemovals, findTests, definedFunctions, referencedNames } from './src/agents/code/index.js';
const f = process.argv[2]!; const lang = process.argv[3] as 'typescript';
const src = fs.readFileSync(f, 'utf8');
await findMutations(lang, src + '\n//warm');
for (const [n, fn] of [['mut', findMutations], ['rem', findRemovals], ['tests', findTests], ['defs', definedFunctions], ['refs', referencedNames]] as const) {
  const t = performance.now(); const r = await (fn as (l: string, s: string) => Promise<unknown>)(lang, src); console.log(n, (performance.now() - t).toFixed(0), Array.isArray(r) ? r.length : '');
}
