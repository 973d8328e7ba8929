/**
 * Static fault localisation for the embedded solver. From each test of the task's test files, follow the call graph
 * (names the test references, then the names those functions reference, three hops) and score every reached function
 * by the Ochiai coefficient over failing and passing tests: a function that failing tests reach and passing tests do
 * not is the likeliest home of the bug. Also reports the call distance from the nearest failing test.
 */
import { shQuote } from '../sandbox/shell.js';
import type { Sandbox } from '../sandbox/types.js';
import type { TestResults } from '../repo/testrun.js';
import { definedFunctions, findTests, langOfPath, referencedNames, sitesForTest, type Lang } from './code/index.js';
import { testFileOf, testNameOf } from './common.js';

/** Names every test calls that belong to test frameworks, not to the code under test: they localise nothing. */
const TEST_API = new Set([
  'test', 'it', 'describe', 'suite', 'specify', 'before', 'after', 'beforeEach', 'afterEach', 'expect', 'assert', 'equal',
  'strictEqual', 'deepEqual', 'deepStrictEqual', 'notEqual', 'ok', 'throws', 'rejects', 'raises', 'fixture', 'mark',
  'parametrize', 'approx', 'Error', 'Errorf', 'Fatal', 'Fatalf', 'Run', 'Helper', 'assertEqual', 'assertTrue', 'assertFalse',
  'assertRaises', 'assertIn', 'assertIsNone', 'assert_eq', 'assert_ne', 'len', 'str', 'int', 'float', 'list', 'dict', 'print',
]);

export interface SourceFile { file: string; lang: Lang; text: string }
/** A function name the failing tests reach, with every code file that defines a function of that name. */
export interface Suspect { files: string[]; name: string; ochiai: number; distance: number }

// Deep enough for a public API that dispatches through a few layers (parse → expression → unary → primary); the
// Ochiai score, not the cut-off, is what ranks the reached functions.
const MAX_HOPS = 6;

export interface Localized {
  sources: SourceFile[];
  suspects: Map<string, Suspect>;
  /**
   * The same scores under other results of the same tests, from the call graph already built: where the tests stand
   * after a repair kept part-way (the tests it fixed no longer point at the function it fixed). No sandbox work.
   */
  suspectsFor(results: TestResults): Map<string, Suspect>;
}

export async function localize(sb: Sandbox, testFiles: string[], results: TestResults, sourceFiles: string[]): Promise<Localized> {
  // Call graph by name over the code files: name → names its body references.
  const sources: SourceFile[] = [];
  const calls = new Map<string, Set<string>>();
  // A name can be defined in several files (methods like String() or __init__): the call graph cannot tell them apart.
  const where = new Map<string, Set<string>>();
  // The test files' own helpers (an `expect(t, cases)` or `run(src)` that calls the code) are part of the graph, or
  // a suite that reaches the code only through them would reach nothing; only code files hold suspects.
  const testSet = new Set(testFiles);
  for (const f of [...sourceFiles.filter((x) => !testSet.has(x)), ...testFiles]) {
    const lang = langOfPath(f);
    if (!lang) continue;
    const r = await sb.exec(`cat -- ${shQuote(f)}`);
    if (r.exitCode !== 0) continue;
    const isTest = testSet.has(f);
    if (!isTest) sources.push({ file: f, lang, text: r.stdout });
    const defs = await definedFunctions(lang, r.stdout);
    for (const d of defs) {
      const refs = await referencedNames(lang, r.stdout.slice(d.start, d.end));
      // Using a class runs its methods (constructors, dunders): what a class defines counts as what it calls.
      for (const e of defs) if (e !== d && e.start >= d.start && e.end <= d.end) refs.add(e.name);
      refs.delete(d.name);
      const cur = calls.get(d.name) ?? new Set<string>();
      for (const n of refs) cur.add(n);
      calls.set(d.name, cur);
      if (!isTest) (where.get(d.name) ?? where.set(d.name, new Set()).get(d.name)!).add(f);
    }
  }
  const reach = (start: Set<string>): Map<string, number> => {
    const dist = new Map<string, number>();
    let frontier = [...start].filter((n) => calls.has(n));
    for (let hop = 1; hop <= MAX_HOPS && frontier.length; hop++) {
      const next: string[] = [];
      for (const n of frontier) {
        if (dist.has(n)) continue;
        dist.set(n, hop);
        for (const m of calls.get(n) ?? []) if (calls.has(m) && !dist.has(m)) next.push(m);
      }
      frontier = next;
    }
    return dist;
  };

  // Each test (or a whole file whose tests cannot be told apart) with the functions it reaches: what the scores
  // count over, whatever the results.
  const units: { id: string; fileLevel: boolean; reached: Map<string, number> }[] = [];
  // Per test file, its sites' names: a reported name that is no site's (a describe titled at run time by a helper)
  // counts for the sites it matches (sitesForTest).
  const siteNames = new Map<string, { lang: Lang; names: { name: string; rows?: RegExp }[] }>();
  for (const tf of testFiles) {
    const lang = langOfPath(tf);
    if (!lang) continue;
    const text = (await sb.readFile(tf)).toString('utf8');
    const sites = await findTests(lang, text);
    siteNames.set(tf, { lang, names: sites.map((s) => ({ name: s.name, ...(s.rows ? { rows: s.rows } : {}) })) });
    for (const u of sites.length ? sites.map((s) => ({ id: `${tf}::${s.name}`, fileLevel: false, slice: text.slice(s.start, s.end) })) : [{ id: tf, fileLevel: true, slice: text }]) {
      // A framework name localises nothing, unless the repository defines it (a helper called `expect`).
      const names = new Set([...(await referencedNames(lang, u.slice))].filter((n) => !TEST_API.has(n) || calls.has(n)));
      units.push({ id: u.id, fileLevel: u.fileLevel, reached: reach(names) });
    }
  }
  const suspectsFor = (res: TestResults): Map<string, Suspect> => {
    const failCount = new Map<string, number>(), passCount = new Map<string, number>(), distance = new Map<string, number>();
    let totalFail = 0;
    const statusOf = new Map<string, 'passed' | 'failed'>();
    for (const [id, st] of Object.entries(res)) {
      const f = testFileOf(id);
      const file = siteNames.get(f);
      const names = file ? sitesForTest(file.lang, file.names, testNameOf(id)).map((s) => s.name) : [];
      for (const n of names.length ? names : [testNameOf(id)]) {
        const key = `${f}::${n}`;
        statusOf.set(key, st === 'failed' || statusOf.get(key) === 'failed' ? 'failed' : 'passed');
      }
    }
    for (const u of units) {
      const status = u.fileLevel ? (res[u.id] === 'failed' ? 'failed' : undefined) : statusOf.get(u.id);
      if (!status) continue;
      if (status === 'failed') totalFail++;
      for (const [n, d] of u.reached) {
        const c = status === 'failed' ? failCount : passCount;
        c.set(n, (c.get(n) ?? 0) + 1);
        if (status === 'failed') distance.set(n, Math.min(distance.get(n) ?? 99, d));
      }
    }
    const suspects = new Map<string, Suspect>();
    for (const [name, fc] of failCount) {
      if (!where.has(name)) continue;
      const pc = passCount.get(name) ?? 0;
      suspects.set(name, { files: [...where.get(name)!], name, ochiai: fc / Math.sqrt(Math.max(1, totalFail) * (fc + pc)), distance: distance.get(name) ?? MAX_HOPS });
    }
    return suspects;
  };
  return { sources, suspects: suspectsFor(results), suspectsFor };
}
