/**
 * `npm run bench:replay -- --home <bench:learning home> --options <held-out options> [--campaigns a,b] [--lr X
 * --known-lr X --iterations N --trains numeric|all --fixes whole|per-line --samples N --picks N --tries N --salt S --ablation self-play|injection-only|repair-only --injector-reward expected|sampled
 * --injector-trains own|all --injector-lr X]`: the gradient steps of finished campaigns
 * trained again offline from their own episodes, with other training settings, and measured on the held-out set: a
 * minute instead of a bench's hour.
 *
 * Each step's batch is rebuilt from the episodes the campaign recorded (`episodes/<campaign>/<step>/`, the trajectories
 * in the home's blobs), exactly as the round workflow builds it, and trained by the trainer's own `trainStep`, from the
 * bench's version 0, into a scratch store beside the home's. After each step it prints the mean P(fix tried in 6)
 * (a restoring option of some line the bug changed among the first 6 picks) and P(every line's: what a solve needs)
 * over the held-out bugs' real repair options (`npm run bench:candidates -- --dump <file>` writes them). What it
 * cannot replay: other weights would have made the campaign inject, and the solver find, other bugs in its later
 * steps. So it ranks ways to train on the bugs a campaign really meets; the held-out solve rates are bench:learning's.
 */
import { readFileSync, existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Store, type BlobRef } from '../src/store/store.js';
import { hasOnnxPolicy, loadOnnxWeights, saveOnnxPolicy } from '../src/policy/onnx/store.js';
import { initialWeights, type MlpWeights } from '../src/policy/onnx/model.js';
import { CampaignConfig } from '../src/config/schema.js';
import { trainStep } from '../src/trainer/step.js';
import type { EpisodeRecord, TrajectoryScore } from '../src/episode/types.js';
import { heldOptions, meanPTried, type DumpedBug } from './p-fix-tried.js';

const { values: a } = parseArgs({ options: {
  home: { type: 'string' }, options: { type: 'string' }, campaigns: { type: 'string' }, lr: { type: 'string' }, 'known-lr': { type: 'string' },
  iterations: { type: 'string' }, trains: { type: 'string' }, fixes: { type: 'string' }, samples: { type: 'string' }, picks: { type: 'string' }, tries: { type: 'string', default: '6' },
  salt: { type: 'string' }, ablation: { type: 'string' }, 'injector-reward': { type: 'string' }, 'injector-trains': { type: 'string' }, 'injector-lr': { type: 'string' },
} });
const fail = (m: string): never => { console.error(`bench:replay: ${m}`); process.exit(2); };
if (!a.home || !a.options) fail('--home <a bench:learning home> and --options <file> are required (the options: `npm run bench:candidates -- --dump <file>`)');
if (!existsSync(a.options!)) fail(`no options file ${a.options}: write it with \`npm run bench:candidates -- --dump ${a.options}\``);
const storeDir = path.join(a.home!, 'store');
if (!existsSync(path.join(storeDir, 'episodes'))) fail(`${a.home} holds no campaign (no store/episodes)`);
if (a.picks && !(Number.isInteger(Number(a.picks)) && Number(a.picks) >= 1)) fail(`--picks is a whole number of at least 1, not ${a.picks}`);
if (a.trains && a.trains !== 'numeric' && a.trains !== 'all') fail(`--trains is numeric or all, not ${a.trains}`);
if (a.fixes && a.fixes !== 'whole' && a.fixes !== 'per-line') fail(`--fixes is whole or per-line, not ${a.fixes}`);
if (a.ablation && !['self-play', 'injection-only', 'repair-only'].includes(a.ablation)) fail(`--ablation is self-play, injection-only or repair-only, not ${a.ablation}`);
if (a['injector-reward'] && !['expected', 'sampled'].includes(a['injector-reward'])) fail(`--injector-reward is expected or sampled, not ${a['injector-reward']}`);
if (a['injector-trains'] && !['own', 'all'].includes(a['injector-trains'])) fail(`--injector-trains is own or all, not ${a['injector-trains']}`);
if (a['injector-lr'] && !(Number(a['injector-lr']) > 0)) fail(`--injector-lr is a positive number, not ${a['injector-lr']}`);
const tries = Number(a.tries);

const held = heldOptions(JSON.parse(readFileSync(a.options!, 'utf8')) as DumpedBug[]);
type PTried = { any: number; every: number };
const meanOf = (ps: PTried[]): PTried => ({ any: ps.reduce((s, p) => s + p.any, 0) / Math.max(1, ps.length), every: ps.reduce((s, p) => s + p.every, 0) / Math.max(1, ps.length) });
/** Mean over the held-out bugs of P(a restoring option of some line tried) and of P(one of every line's tried). */
const pHeld = (w: MlpWeights) => meanPTried(w, held, tries);
const fmt = (p: PTried) => `${p.any.toFixed(3)}/${p.every.toFixed(3)}`;

const home = new Store(storeDir);
// The scratch store reads the home's blobs (the trajectories) and writes its own policies and known bugs.
const scratchDir = mkdtempSync(path.join(tmpdir(), 'ssr-replay-'));
symlinkSync(path.join(storeDir, 'blobs'), path.join(scratchDir, 'blobs'));
const scratch = new Store(scratchDir);

async function episodes(c: string, step: number): Promise<EpisodeRecord[] | null> {
  const files = (await home.list(`episodes/${c}/${step}`)).filter((f) => f.endsWith('.json')).sort();
  if (!files.length) return null;
  return Promise.all(files.map(async (f) => (await home.getJson<EpisodeRecord>(`episodes/${c}/${step}/${f}`))!));
}

/**
 * The step's batch as workflows/round.ts builds it: each injection, and each graded attempt of a valid bug. Its groups
 * seed the simulated attempts of known bugs with the step (src/trainer/step.ts), so the defaults reproduce a run's;
 * `--salt` renames them, for another draw (their noise is as large as many a setting's effect).
 */
function batchOf(eps: EpisodeRecord[]): TrajectoryScore[] {
  return eps.map((e) => (a.salt ? { ...e, id: `${e.id}~${a.salt}` } : e)).flatMap((e) => [
    ...(e.injectorTrajectoryRef ? [{ trajectoryRef: e.injectorTrajectoryRef, role: 'injector' as const, reward: e.injectorReward ?? 0, group: e.id }] : []),
    ...e.attempts.filter((t) => t.trajectoryRef).map((t) => ({ trajectoryRef: t.trajectoryRef!, role: 'solver' as const, reward: t.reward, group: e.id })),
  ]);
}

const campaigns = a.campaigns ? a.campaigns.split(',') : (await home.list('episodes')).sort();
if (!campaigns.length) fail(`no campaign in ${a.home}`);
// The bench's version 0, where the home has it; the same scores otherwise (version 0 is the prior, whatever its seed).
const v0 = (await hasOnnxPolicy(home, 'learning-v0@0')) ? await loadOnnxWeights(home, 'learning-v0@0') : initialWeights('learning-v0@0');
console.log(`bench:replay: mean over ${held.length} held-out bugs of P(a fix of some line tried in ${tries}) / P(a fix of every line tried in ${tries}), from version 0 and after each step`);
const last: PTried[] = [];
for (const c of campaigns) {
  const first = await episodes(c, 0);
  if (!first) { console.log(`${c}: no episodes of step 0`); continue; }
  const cfgRef = first.find((e) => e.configRef)?.configRef;
  const recorded = cfgRef ? CampaignConfig.parse(JSON.parse(await home.getText(cfgRef as BlobRef))) : CampaignConfig.parse({ repos: [{ path: '.' }] });
  const solverGradient = {
    ...recorded.solverGradient,
    ...(a.samples ? { expectedSamples: Number(a.samples) } : {}), ...(a.iterations ? { iterations: Number(a.iterations) } : {}),
    ...(a['known-lr'] ? { learningRate: Number(a['known-lr']) } : {}), ...(a.trains ? { trains: a.trains as 'numeric' | 'all' } : {}),
    ...(a.fixes ? { fixes: a.fixes as 'whole' | 'per-line' } : {}),
    // A config recorded before `picks` existed parses to today's default; its runs simulated the whole budget (`--picks 99`).
    ...(a.picks ? { picks: Number(a.picks) } : {}),
  };
  // A config recorded before `injectorGradient` (or its `trains`) parses to today's default; such campaigns trained
  // on sampled rewards (and as a whole): `--injector-reward sampled --injector-trains all` replays them as they ran.
  const injectorGradient = {
    ...recorded.injectorGradient,
    ...(a['injector-reward'] ? { reward: a['injector-reward'] as 'expected' | 'sampled' } : {}),
    ...(a['injector-trains'] ? { trains: a['injector-trains'] as 'own' | 'all' } : {}),
    ...(a['injector-lr'] ? { learningRate: Number(a['injector-lr']) } : {}),
  };
  // The campaign's own version 0 where the home has it: its hidden layer (random, silent until w2 moves) shapes the first step.
  const own = (await hasOnnxPolicy(home, `${c}@0`)) ? await loadOnnxWeights(home, `${c}@0`) : v0;
  await saveOnnxPolicy(scratch, { ...own, version: `${c}@0` });
  const curve = [pHeld(own)];
  for (let s = 0; ; s++) {
    const eps = await episodes(c, s);
    if (!eps) break;
    await trainStep(scratch, { campaignId: c, step: s, fromVersion: `${c}@${s}`, batch: batchOf(eps), learningRate: a.lr ? Number(a.lr) : recorded.learningRate, policy: recorded.policy, ablation: (a.ablation as CampaignConfig['ablation'] | undefined) ?? recorded.ablation, solverGradient, injectorGradient, alpha: recorded.alpha });
    curve.push(pHeld(await loadOnnxWeights(scratch, `${c}@${s + 1}`)));
  }
  last.push(curve[curve.length - 1]);
  console.log(`${c.padEnd(28)} ${curve.map(fmt).join(' ')}`);
}
console.log(`mean after the last step: ${fmt(meanOf(last))} over ${last.length} campaigns (scratch store ${scratchDir})`);
