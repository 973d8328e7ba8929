import fs from 'node:fs';
import { findMutations, findRemovals, findTests, definedFunctions, referencedNames, applyEdits, hasSyntaxErrors, langOfPath, removalEdits } from '/work/main/src/agents/code/index.js';
const files = process.argv.slice(2);
let bad = 0, total = 0, maxMs = 0, maxFile = '';
for (const f of files) {
  const lang = langOfPath(f); if (!lang) continue;
  const src = fs.readFileSync(f, 'utf8');
  if (await hasSyntaxErrors(lang, src)) { console.log('orig has errors, skipped', f); continue; }
  const t0 = performance.now();
  const muts = await findMutations(lang, src);
  const rems = await findRemovals(lang, src);
  const tests = await findTests(lang, src);
  await definedFunctions(lang, src); await referencedNames(lang, src);
  const ms = performance.now() - t0;
  if (ms > maxMs) { maxMs = ms; maxFile = f + ' (' + src.split('\n').length + ' lines)'; }
  const edits = [...muts.map(m => ({ d: m.description, e: [m.edit] })), ...rems.map(r => ({ d: r.description, e: removalEdits(r) })), ...tests.map(t => ({ d: 'assertions of ' + t.name, e: t.assertions }))];
  // Sample to bound runtime.
  const step = Math.max(1, Math.floor(edits.length / 300));
  for (let i = 0; i < edits.length; i += step) {
    total++;
    if (await hasSyntaxErrors(lang, applyEdits(src, edits[i]!.e))) { bad++; if (bad < 15) console.log('INVALID', f, edits[i]!.d); }
  }
}
console.log({ files: files.length, checked: total, bad, maxMs: maxMs.toFixed(0), maxFile });
