/**
 * `npm run bench:learning [-- --seeds 1,2,3 --modes self-play,... --steps 3 --rounds 3 --solves 4 --lr 1
 * --strategies direct --train-budget 8 --injector-lr X --fixes whole|per-line]`: does self-play make the
 * embedded policy better at bugs it never trained on?
 *
 * For each seed it runs three real campaigns from version 0 through Temporal (a dev server, the three workers in
 * this process): self-play, injection-only and repair-only (the paper's ablations; `ablation` in the config). Then
 * it evaluates version 0 and each campaign's last version on the held-out set (examples/heldout.json, built once by
 * `ssr eval build-set`), at the set's fixed search budget, and prints:
 *   - held-out solve rate of version 0 and of the last version, per seed and mode, and the mean over seeds;
 *   - the injector's mean solve rate per step (the solve rate of the bugs it made: it should leave the extremes);
 *   - which held-out bugs a campaign also trained on (an untrained injector can pick the same site), and the delta
 *     over the bugs it never saw.
 * The full result is written as JSON next to the run's state (its path is printed).
 *
 * Nearly all of its time is test runs, which are CPU-bound: `--cpus N` (default: this machine's) sets how many
 * sandbox activities and evaluation bugs run at once, and campaigns run max(2, N/2) at a time (a campaign alone keeps
 * about one run going). Each campaign is deterministic in its seed whatever runs beside it, so the figures do not
 * depend on N or on the load, only the wall time does: every limit that decides how a run ends is CPU time where the
 * sandbox measures it (solverProbeTimeout.cpu for the solver's runs, bugStateCpuLimit for runs of a bug's states,
 * the solver's first run included), which other work does not stretch; the wall-clock limits beside them are looser
 * by solverProbeTimeout.wallSlack. (Under wall-clock limits, with a CI run beside it in session 27, most probes of
 * seed 1's first Go bug, which end in about a second idle, were stopped at their ~4.7 s limit and the held-out figure
 * moved by one attempt.)
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/load.js';
import { campaignWorkflow, initialState } from '../workflows/campaign.js';
import { QUEUES } from '../workflows/queues.js';
import { startTestEnv } from '../test/helpers/temporal.js';
import { exampleRepos } from '../src/repo/examples.js';
import { listEpisodes, listStepMetrics } from '../src/store/records.js';
import { getArtifact } from '../src/artifact/artifact.js';
import { bugHashOf, readHeldoutSet } from '../src/eval/heldout.js';
import { evaluatePolicy, mapLimit, solveRateOf, type EvalResult } from '../src/eval/evaluate.js';
import { DEFAULT_SET } from '../src/cli/eval.js';
import type { Store } from '../src/store/store.js';
import { loadOnnxWeights, saveOnnxPolicy } from '../src/policy/onnx/store.js';
import { withVersion } from '../src/policy/onnx/model.js';
import { heldOptions, meanPTried, type DumpedBug } from './p-fix-tried.js';
import { injectorOwnMask } from '../src/trainer/step.js';
import type { MlpWeights } from '../src/policy/onnx/model.js';

const { values: a } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3' },
    modes: { type: 'string', default: 'self-play,injection-only,repair-only' },
    steps: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    solves: { type: 'string', default: '4' },
    // The step over the sampled trajectories; the solver's known-bug steps have their own (solverGradient.learningRate).
    // At 4, one injector step moved the network the roles share enough to undo half of what they taught the solver
    // (`npm run bench:replay` over the same episodes: held-out P(fix tried) 0.28 at 4, 0.47-0.49 at 1).
    lr: { type: 'string', default: '1' },
    // The training campaigns' own choices; the evaluation always uses the set's fixed budget. `direct` only, as the
    // set is: the embedded solver cannot re-insert deleted code, so removal and history bugs teach it nothing.
    strategies: { type: 'string', default: 'direct' },
    // The set's budget. The solver learns from simulated attempts of 6 picks over the options that restore a bug
    // (solverGradient.picks), which a training attempt's budget does not change; 16 runs (sessions 20-26) doubled the
    // campaigns' test time for the same held-out figures (seed 1, session 27: 12.5% / 14.6% at 8 and at 16).
    'train-budget': { type: 'string', default: '8' },
    // The injector's own step size (injectorGradient.learningRate); the campaign's lr where not given.
    'injector-lr': { type: 'string' },
    set: { type: 'string', default: DEFAULT_SET },
    // How restoring options become the solver's known fixes (`solverGradient.fixes`); the config's default otherwise.
    fixes: { type: 'string' },
    cpus: { type: 'string' },
    // The held-out bugs' repair options (`npm run bench:candidates -- --dump <file>`): with them the table adds each
    // version's mean P(a fix of some line / of every line tried in budget-2 picks), which a few sampled searches per
    // bug measure far more noisily than the solve rate does.
    options: { type: 'string' },
  },
});
if (a.options && !existsSync(a.options)) {
  console.error(`bench:learning: no options file ${a.options}: write it with \`npm run bench:candidates -- --dump ${a.options}\``);
  process.exit(2);
}
const seeds = a.seeds!.split(',').map(Number);
const modes = a.modes!.split(',') as ('self-play' | 'injection-only' | 'repair-only')[];
const steps = Number(a.steps), rounds = Number(a.rounds), solves = Number(a.solves), lr = Number(a.lr);
const strategies = a.strategies!.split(',') as ('direct' | 'removal' | 'history')[];
const cpus = Math.max(2, Number(a.cpus ?? availableParallelism()));
const setFile = path.resolve(a.set!);
const set = await readHeldoutSet(setFile);
const heldHashes = new Map(set.bugs.map((b) => [b.bugHash, b.id]));
const t0 = Date.now();
const log = (m: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s] ${m}\n`);

// Kept: the full result is written into it (bench-learning.json), and bench:candidates reads its store.
const env = await startTestEnv({ keepHome: true });
const workers = await env.startWorkers(undefined, { sandboxSlots: cpus });
const rt = env.runtime;
// The dev server is a process of its own: a bench stopped by a signal stops it too, instead of leaving it running.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: stopping the dev server and exiting; the state so far stays in ${rt.home}`);
    setTimeout(() => process.exit(1), 10_000).unref();
    void env.stop().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  });
}

interface Run { seed: number; mode: string; campaign: string; last: string; injectorSolveRate: (number | null)[]; validRate: number[]; overlap: string[]; eval: EvalResult; campaignMs: number; learned: (number | null)[]; injectorP: ((number | null)[] | null)[] }
const runs: Run[] = [];
try {
  // A campaign alone keeps about one test run going (its rounds wait on each other and on the gradient step), so two
  // share 2 cpus with the evaluations; the modes of a seed share the runs of their first bugs, even in progress
  // (bugStateRunCache for the injector and the checks, solverRunCache for the solver), and run next to each other
  // (a repair-only campaign that met its self-play twin's bugs finds all its runs done). Three
  // at once was slower (session 29: seeds 1-2 done at 1200 s against 1064 s). Every limit that decides a run's outcome
  // is CPU time (see above), so the figures do not depend on it.
  const atOnce = Math.max(2, Math.floor(cpus / 2));
  log(`held-out set '${set.name}': ${set.bugs.length} bugs, ${set.attempts} attempts x ${set.budget} test runs; ${cpus} cpus: ${atOnce} campaigns at once`);
  const evalOpts = { concurrency: cpus };
  // Evaluations by the solver's weights (`solverKey`): a version whose solver is one evaluated before takes its result.
  // They run one at a time, beside the campaigns and not in their slots: when the last campaign runs alone (it keeps
  // about one run going), the evaluations still to run use the rest of the machine (in session 30 one campaign ran
  // alone for its last 250 s, each one's evaluation waiting in its slot).
  const evals = new Map<string, { version: string; result: Promise<EvalResult> }>();
  let evalQueue: Promise<unknown> = Promise.resolve();
  const evaluate = (version: string, key: string): Promise<EvalResult> => {
    const result = evalQueue.then(() => evaluatePolicy(rt, set, setFile, version, evalOpts, () => {}));
    evalQueue = result.catch(() => {});
    evals.set(key, { version, result });
    return result;
  };
  const v0Done = evaluate('learning-v0@0', solverKey(await loadOnnxWeights(rt.store, 'learning-v0@0'))).then((r) => {
    log(`version 0: held-out solve rate ${pct(r.solveRate)} (${(r.wallMs / 1000).toFixed(0)} s)`);
    return r;
  });
  const jobs = seeds.flatMap((seed) => modes.map((mode) => ({ seed, mode })));
  const done = await mapLimit(jobs, atOnce, async ({ seed, mode }): Promise<Omit<Run, 'eval'> & { eval: Promise<EvalResult> }> => {
    const campaign = `learn-${mode}-s${seed}`;
    const cfg = parseConfig({
      repos: exampleRepos().map((r) => ({ path: r.path })), steps, rounds, solves, maxParallelRounds: 2, seed,
      strategies, solverTestRuns: Number(a['train-budget']), solverRunCache: true, bugStateRunCache: true, excludeBugs: [...heldHashes.keys()], higherOrder: { enabled: false }, ablation: mode, learningRate: lr, ...(a.fixes ? { solverGradient: { fixes: a.fixes } } : {}), ...(a['injector-lr'] ? { injectorGradient: { learningRate: Number(a['injector-lr']) } } : {}),
    }, 'bench:learning');
    // Every campaign starts from the one version 0 the table's first column measures, its hidden layer included (a
    // version 0 made on first use is seeded by its own name). With the seed-derived episodes (src/episode/seed.ts),
    // the modes of one seed then meet the same bugs until their policies differ.
    await saveOnnxPolicy(rt.store, withVersion(await loadOnnxWeights(rt.store, 'learning-v0@0'), `${campaign}@0`));
    const tc = Date.now();
    await env.client.workflow.execute(campaignWorkflow, { workflowId: campaign, taskQueue: QUEUES.control, args: [initialState(campaign, cfg)] });
    const campaignMs = Date.now() - tc;
    const metrics = (await listStepMetrics(rt.store, campaign)).sort((x, y) => x.step - y.step);
    const last = `${campaign}@${steps}`;
    // A version whose solver scores every option as an evaluated one does searches exactly as that one did, on the
    // same random streams: an injection-only campaign's last version (its steps move only the injector's own
    // weights) is version 0's solver, and a repair-only campaign that met the bugs its self-play twin met is that
    // one's (each role's step is the mean of its own trajectories). Its evaluation is then the other's.
    const key = solverKey(await loadOnnxWeights(rt.store, last));
    const twin = evals.get(key);
    const ev = twin ? twin.result.then((r) => ({ ...r, policyVersion: last, wallMs: 0 })) : evaluate(last, key);
    if (twin) log(`${campaign}: its solver's weights are ${twin.version}'s: that version's evaluation stands for its last version`);
    const overlap = await trainingOverlap(rt.store, campaign, heldHashes);
    // Bugs the solver's expected gradient learned per step (null: the solver did not train that step).
    const trained = await Promise.all(metrics.map((m) => rt.store.getJson<{ expected?: { bugs: number }; injector?: { p: number | null }[] }>(`train/${campaign}/${m.step}.json`)));
    const learned = trained.map((t) => t?.expected?.bugs ?? null);
    // The simulated chance of one attempt solving each bug the injector was rewarded for (injectorGradient 'expected').
    const injectorP = trained.map((t) => t?.injector?.map((e) => e.p) ?? null);
    log(`${campaign}: campaign ${(campaignMs / 1000).toFixed(0)} s, injector solve rate by step ${metrics.map((m) => (m.meanSolveRate === null ? '-' : m.meanSolveRate.toFixed(2))).join(' ')}, bugs the solver learned by step ${learned.map((x) => x ?? '-').join(' ')}, injector's expected solve chances by step ${injectorP.map((ps) => (ps ? `[${ps.map((p) => (p === null ? '?' : p.toFixed(2))).join(',')}]` : '-')).join(' ')}`);
    void Promise.all([v0Done, ev]).then(([v0, e]) => log(`${campaign}: held-out ${pct(v0.solveRate)} -> ${pct(e.solveRate)}`), () => {});
    return { seed, mode, campaign, last, injectorSolveRate: metrics.map((m) => m.meanSolveRate), validRate: metrics.map((m) => m.validRate), overlap, eval: ev, campaignMs, learned, injectorP };
  });
  runs.push(...(await Promise.all(done.map(async (r) => ({ ...r, eval: await r.eval })))));
  const v0 = await v0Done;

  // P(fix tried) of a version over the held-out options, where given: the same measure as bench:replay's.
  const held = a.options ? heldOptions(JSON.parse(readFileSync(a.options, 'utf8')) as DumpedBug[]) : null;
  const pOf = async (version: string): Promise<string> => {
    if (!held) return '';
    const p = meanPTried(await loadOnnxWeights(rt.store, version), held, set.budget - 2);
    return `${p.any.toFixed(3)}/${p.every.toFixed(3)}`;
  };
  console.log(`\nssr bench:learning: ${steps} steps x ${rounds} rounds x ${solves} solves per campaign, strategies ${strategies.join(',')}, ${a['train-budget']} test runs per training attempt, lr ${lr}${a['injector-lr'] ? ` (injector ${a['injector-lr']})` : ''}, seeds ${seeds.join(',')}`);
  console.log(`held-out set '${set.name}': ${set.bugs.length} validated bugs (${Object.entries(v0.byRepo).map(([k, v]) => `${k} ${v.bugs}`).join(', ')}), ${set.attempts} attempts x ${set.budget} test runs each\n`);
  if (held) console.log(`P(fix tried in ${set.budget - 2}), some line / every line, over the held-out options: version 0 ${await pOf('learning-v0@0')}`);
  console.log(`${'mode'.padEnd(16)}${'seed'.padStart(5)}${'v0'.padStart(9)}${'last'.padStart(9)}${'delta'.padStart(9)}${'unseen'.padStart(16)}${held ? '   P last     ' : ''}   injector solve rate per step   solver bugs learned per step`);
  for (const r of runs) {
    // The same figures over the held-out bugs this campaign never trained on (an untrained injector can hit one).
    const unseen = (e: EvalResult) => solveRateOf(e.perBug.filter((b) => !r.overlap.includes(b.id)));
    const delta = `${pts(unseen(r.eval) - unseen(v0))} (${set.bugs.length - r.overlap.length})`;
    console.log(`${r.mode.padEnd(16)}${String(r.seed).padStart(5)}${pct(v0.solveRate).padStart(9)}${pct(r.eval.solveRate).padStart(9)}${pts(r.eval.solveRate - v0.solveRate).padStart(9)}${delta.padStart(16)}${held ? `   ${await pOf(r.last)}` : ''}   ${r.injectorSolveRate.map((x) => (x === null ? '  - ' : x.toFixed(2))).join(' ')}   ${r.learned.map((x) => x ?? '-').join(' ')}`);
  }
  console.log('');
  for (const mode of modes) {
    const rs = runs.filter((r) => r.mode === mode);
    const mean = rs.reduce((s, r) => s + r.eval.solveRate, 0) / Math.max(1, rs.length);
    console.log(`${`mean ${mode}`.padEnd(21)}${pct(v0.solveRate).padStart(9)}${pct(mean).padStart(9)}${pts(mean - v0.solveRate).padStart(9)}`);
  }
  console.log(`\nheld-out bugs a campaign also trained on: ${runs.filter((r) => r.overlap.length).map((r) => `${r.campaign} ${r.overlap.join(',')}`).join('; ') || 'none'} ('unseen': the delta without them, and how many bugs remain)`);
  console.log(`wall time: ${((Date.now() - t0) / 60000).toFixed(1)} min on ${cpus} cpus`);
  const out = path.join(env.home, 'bench-learning.json');
  writeFileSync(out, JSON.stringify({ steps, rounds, solves, lr, seeds, strategies, v0, runs }, null, 1));
  console.log(`full result: ${out}`);
} finally {
  await workers.stop();
  await env.stop();
}
process.exit(0);

function pct(x: number): string { return `${(100 * x).toFixed(1)}%`; }
function pts(x: number): string { return `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`; }

/**
 * What of a version decides every solver option's score: all its weights but those only the injector's inputs reach
 * (`injectorOwnMask`: inputs no solver option sets, and their rows of the hidden layer). Two versions with one key
 * score every repair alike.
 */
function solverKey(w: MlpWeights): string {
  const own = injectorOwnMask(w);
  const h = createHash('sha256').update(`${w.inputs} ${w.hidden} ${w.b2}`);
  for (const [x, m] of [[w.w1, own.w1], [w.b1, own.b1], [w.w2, own.w2], [w.skip, own.skip]] as const) {
    h.update(Buffer.from(Float32Array.from(x, (v, i) => (m[i] === 1 ? 0 : v)).buffer));
  }
  return h.digest('hex');
}

/** Held-out bugs (their ids) that a campaign also trained on: its bug_inject.diff is one of the set's. */
async function trainingOverlap(store: Store, campaign: string, held: Map<string, string>): Promise<string[]> {
  const ids = new Set<string>();
  for (const e of await listEpisodes(store, campaign)) {
    if (!e.artifactHash) continue;
    const { artifact } = await getArtifact(store, e.artifactHash);
    const id = held.get(bugHashOf(artifact));
    if (id) ids.add(id);
  }
  return [...ids].sort();
}
