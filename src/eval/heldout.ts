/**
 * The held-out set: validated bugs that no training campaign sees, built once and stored as one JSON file, so that
 * every evaluation of every policy version measures the same thing. Each bug carries its whole artifact (the five
 * files) and the repository and commit it was made on; an evaluation refuses a repository that has moved.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Artifact } from '../artifact/artifact.js';
import { getArtifact } from '../artifact/artifact.js';
import { parseConfig } from '../config/load.js';
import { describeRepo, type RepoInfo } from '../repo/describe.js';
import type { Runtime } from '../runtime.js';
import { sha256 } from '../store/store.js';
import { writeFileAtomic } from '../store/fsutil.js';
import { checkArtifact, injectBug } from '../episode/service.js';
import { Strategy } from '../config/schema.js';

export const HELDOUT_FORMAT = 'ssr-heldout/1';

const ArtifactSchema = z.object({
  bugInject: z.string().min(1), testWeaken: z.string().min(1), testScript: z.string().min(1), testParser: z.string().min(1),
  testFiles: z.array(z.string().min(1)).min(1),
});

const HeldoutSetSchema = z.object({
  format: z.literal(HELDOUT_FORMAT),
  name: z.string().min(1),
  createdAt: z.string(),
  /** How the bugs were made: the injector's policy version and seed, and the strategies it could use. */
  builtWith: z.object({ policyVersion: z.string(), seed: z.string(), strategies: z.array(Strategy) }),
  /** The fixed search budget of an evaluation: solver attempts per bug, test runs per attempt. */
  attempts: z.number().int().min(1),
  budget: z.number().int().min(1),
  repos: z.array(z.object({
    name: z.string().min(1),
    /** Relative to the set file's directory (absolute also accepted). */
    path: z.string().min(1),
    commit: z.string().nullable(),
  })).min(1),
  bugs: z.array(z.object({
    id: z.string().min(1),
    repo: z.string().min(1),
    strategy: Strategy,
    description: z.string(),
    /** sha256 of bug_inject.diff: how a training campaign's bugs are compared with the set's. */
    bugHash: z.string().length(64),
    artifact: ArtifactSchema,
  })).min(1),
});
export type HeldoutSet = z.infer<typeof HeldoutSetSchema>;
export type HeldoutBug = HeldoutSet['bugs'][number];

export class HeldoutSetError extends Error {
  constructor(message: string) { super(message); this.name = 'HeldoutSetError'; }
}

export const bugHashOf = (a: Artifact): string => sha256(a.bugInject);

export async function readHeldoutSet(file: string): Promise<HeldoutSet> {
  let text: string;
  try { text = await readFile(file, 'utf8'); } catch (e) {
    throw new HeldoutSetError(`held-out set ${file} cannot be read (${(e as Error).message}); build one with \`npx ssr eval build-set\``);
  }
  let json: unknown;
  try { json = JSON.parse(text); } catch (e) { throw new HeldoutSetError(`held-out set ${file} is not JSON: ${(e as Error).message}`); }
  const r = HeldoutSetSchema.safeParse(json);
  if (!r.success) throw new HeldoutSetError(`held-out set ${file} is malformed: ${r.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const names = new Set(r.data.repos.map((x) => x.name));
  for (const b of r.data.bugs) {
    if (!names.has(b.repo)) throw new HeldoutSetError(`held-out set ${file}: bug ${b.id} names repository '${b.repo}', which the set does not list`);
    if (bugHashOf(b.artifact) !== b.bugHash) throw new HeldoutSetError(`held-out set ${file}: bug ${b.id}'s bugHash does not match its bug_inject.diff (edited by hand?)`);
  }
  return r.data;
}

export async function writeHeldoutSet(file: string, set: HeldoutSet): Promise<void> {
  HeldoutSetSchema.parse(set);
  await writeFileAtomic(file, JSON.stringify(set, null, 1) + '\n');
}

/** The set's repositories as they are on this machine, each checked to be at the commit the set was built on. */
export async function resolveSetRepos(set: HeldoutSet, setFile: string): Promise<Map<string, RepoInfo>> {
  const out = new Map<string, RepoInfo>();
  for (const r of set.repos) {
    const dir = path.isAbsolute(r.path) ? r.path : path.resolve(path.dirname(setFile), r.path);
    const info = await describeRepo(dir, r.name);
    if (r.commit !== null && info.commit !== r.commit) {
      throw new HeldoutSetError(`repository ${r.name} (${dir}) is at ${info.commit ?? 'no commit'}, the held-out set was built at ${r.commit}: its bugs may not apply; rebuild the set or check out ${r.commit}`);
    }
    out.set(r.name, info);
  }
  return out;
}

export interface BuildOptions {
  name: string;
  /** Where the set will be written: repository paths inside its directory tree are stored relative to it. */
  file: string;
  perRepo: number;
  seed: string;
  strategies: Strategy[];
  attempts: number;
  budget: number;
  /** Injections tried per repository before giving up on reaching perRepo. */
  maxTries?: number;
  testTimeoutSec?: number;
}

/**
 * Builds a set with version 0 of a campaign of its own (`<name>@0`, never trained) and seeds no training campaign
 * uses: each candidate bug is injected by the embedded injector and kept only when it passes all seven consistency
 * checks; duplicates (the same bug_inject.diff) are kept once.
 */
export async function buildHeldoutSet(rt: Runtime, repos: RepoInfo[], o: BuildOptions, progress: (m: string) => void = () => {}): Promise<HeldoutSet> {
  const policyVersion = `heldout-${o.name}@0`;
  const cfg = parseConfig({
    repos: repos.map((r) => ({ path: r.path })), strategies: o.strategies, testTimeoutSec: o.testTimeoutSec ?? 90,
  }, 'held-out set');
  await rt.warm();
  const bugs: HeldoutBug[] = [];
  const seen = new Set<string>();
  const setDir = path.dirname(path.resolve(o.file));
  for (const repo of repos) {
    let kept = 0;
    for (let t = 0; t < (o.maxTries ?? o.perRepo * 4) && kept < o.perRepo; t++) {
      const episodeId = `heldout/${o.name}/${repo.name}/${t}`;
      const inj = await injectBug(rt, { campaignId: `heldout-${o.name}`, episodeId, repo, policyVersion, seed: `heldout/${o.seed}/${repo.name}/${t}`, cfg });
      if (!inj.ok) { progress(`${repo.name} #${t}: no bug (${inj.code})`); continue; }
      const chk = await checkArtifact(rt, { episodeId, repo, artifactHash: inj.artifactHash, cfg });
      if (!chk.valid) { progress(`${repo.name} #${t}: invalid (${chk.failed?.check}: ${chk.failed?.code ?? chk.failed?.reason})`); continue; }
      const { artifact } = await getArtifact(rt.store, inj.artifactHash);
      const bugHash = bugHashOf(artifact);
      if (seen.has(bugHash)) { progress(`${repo.name} #${t}: duplicate`); continue; }
      seen.add(bugHash);
      bugs.push({ id: `${repo.name}-${kept}`, repo: repo.name, strategy: inj.strategy, description: inj.description, bugHash, artifact });
      kept++;
      progress(`${repo.name} #${t}: kept ${inj.description}`);
    }
  }
  if (bugs.length === 0) throw new HeldoutSetError('no valid bug was made in any repository: nothing to hold out');
  return {
    format: HELDOUT_FORMAT, name: o.name, createdAt: new Date().toISOString(),
    builtWith: { policyVersion, seed: o.seed, strategies: o.strategies },
    attempts: o.attempts, budget: o.budget,
    // Relative, so a set committed with the project works from any clone of it.
    repos: repos.map((r) => ({ name: r.name, path: path.relative(setDir, r.path) || '.', commit: r.commit })),
    bugs,
  };
}
