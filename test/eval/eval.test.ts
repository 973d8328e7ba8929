/**
 * The held-out evaluation: a set is built from real injections that pass the real checks, read back only when it is
 * intact and its repositories are where it was built, and `ssr eval --policy <v> --json` grades real solver attempts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createRuntime } from '../../src/runtime.js';
import { describeRepo } from '../../src/repo/describe.js';
import { PROJECT_ROOT } from '../../src/temporal/config.js';
import { exampleRepos } from '../helpers/examples.js';
import { buildHeldoutSet, HeldoutSetError, readHeldoutSet, resolveSetRepos, writeHeldoutSet, type HeldoutSet } from '../../src/eval/heldout.js';
import { DEFAULT_SET } from '../../src/cli/eval.js';
import { trainStep } from '../../src/trainer/step.js';
import { evaluatePolicy } from '../../src/eval/evaluate.js';

const run = promisify(execFile);
const tmp = () => mkdtempSync(path.join(tmpdir(), 'ssr-eval-'));

async function cli(args: string[], home: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: PROJECT_ROOT, env: { ...process.env, SSR_HOME: home }, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

/** Two bugs of the committed set, with its repository paths made absolute so the copy can live anywhere. */
async function smallSet(dir: string): Promise<string> {
  const full = await readHeldoutSet(DEFAULT_SET);
  const byRepo = new Map<string, HeldoutSet['bugs'][number]>();
  for (const b of full.bugs) if (!byRepo.has(b.repo)) byRepo.set(b.repo, b);
  const bugs = [...byRepo.values()].slice(0, 2);
  const set: HeldoutSet = {
    ...full, name: 'small', bugs,
    repos: full.repos.filter((r) => bugs.some((b) => b.repo === r.name)).map((r) => ({ ...r, path: path.resolve(path.dirname(DEFAULT_SET), r.path) })),
  };
  const file = path.join(dir, 'small.json');
  await writeHeldoutSet(file, set);
  return file;
}

test('the committed held-out set is intact, and its repositories are at the commits it was built on', async () => {
  exampleRepos();
  const set = await readHeldoutSet(DEFAULT_SET);
  assert.ok(set.bugs.length >= 12, `${set.bugs.length} bugs`);
  assert.equal(new Set(set.bugs.map((b) => b.bugHash)).size, set.bugs.length, 'no bug twice');
  const repos = await resolveSetRepos(set, DEFAULT_SET);
  assert.deepEqual([...repos.keys()].sort(), set.repos.map((r) => r.name).sort());
});

test('a set that lies or has moved is refused with the reason', async () => {
  const dir = tmp();
  const file = await smallSet(dir);
  const good = JSON.parse(readFileSync(file, 'utf8')) as HeldoutSet;
  const write = (name: string, v: unknown) => { const f = path.join(dir, name); writeFileSync(f, typeof v === 'string' ? v : JSON.stringify(v)); return f; };
  await assert.rejects(readHeldoutSet(path.join(dir, 'none.json')), (e: Error) => e instanceof HeldoutSetError && /cannot be read.*build-set/.test(e.message));
  await assert.rejects(readHeldoutSet(write('garbage.json', '{not json')), /is not JSON/);
  await assert.rejects(readHeldoutSet(write('shape.json', { ...good, bugs: [] })), /malformed: bugs/);
  const edited = { ...good, bugs: [{ ...good.bugs[0], artifact: { ...good.bugs[0].artifact, bugInject: good.bugs[0].artifact.bugInject + '\n' } }, ...good.bugs.slice(1)] };
  await assert.rejects(readHeldoutSet(write('edited.json', edited)), /bugHash does not match/);
  await assert.rejects(readHeldoutSet(write('orphan.json', { ...good, repos: good.repos.slice(1) })), /names repository/);
  // A repository whose HEAD moved: the set's bugs may no longer apply.
  const moved = path.join(dir, 'moved');
  cpSync(good.repos[0].path, moved, { recursive: true });
  await run('git', ['-C', moved, '-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'moved']);
  const movedSet = await readHeldoutSet(write('moved.json', { ...good, repos: [{ ...good.repos[0], path: moved }, ...good.repos.slice(1)] }));
  await assert.rejects(resolveSetRepos(movedSet, path.join(dir, 'moved.json')), (e: Error) => e instanceof HeldoutSetError && /is at .* built at/.test(e.message));
});

test('build-set keeps only bugs that pass every check, once each, with portable repository paths', async () => {
  const dir = tmp();
  const rt = createRuntime({ home: dir });
  const verspec = exampleRepos().find((r) => r.name === 'verspec')!;
  const repo = await describeRepo(verspec.path, 'verspec');
  const file = path.join(dir, 'sets', 'one.json');
  const progress: string[] = [];
  const set = await buildHeldoutSet(rt, [repo], { name: 'one', file, perRepo: 2, seed: 'test-1', strategies: ['direct'], attempts: 1, budget: 2, maxTries: 6 }, (m) => progress.push(m));
  assert.ok(set.bugs.length >= 1 && set.bugs.length <= 2, progress.join('\n'));
  assert.equal(new Set(set.bugs.map((b) => b.bugHash)).size, set.bugs.length);
  for (const b of set.bugs) assert.equal(b.strategy, 'direct');
  assert.equal(progress.filter((m) => /kept/.test(m)).length, set.bugs.length);
  assert.ok(!path.isAbsolute(set.repos[0].path), set.repos[0].path);
  await writeHeldoutSet(file, set);
  assert.deepEqual(await readHeldoutSet(file), set);
  assert.equal((await resolveSetRepos(set, file)).get('verspec')!.commit, repo.commit);
});

test('`ssr eval --policy <v> --json`: graded attempts on every bug; an unknown version is refused naming its file', async () => {
  const home = tmp();
  const file = await smallSet(home);
  const r = await cli(['eval', '--policy', 'ev@0', '--set', file, '--json', '--attempts', '2', '--budget', '4'], home);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { solveRate: number; bugs: number; attempts: number; budget: number; perBug: { successes: number; attempts: number; stops: string[] }[]; setFile: string };
  assert.equal(out.bugs, 2);
  assert.equal(out.attempts, 2);
  assert.equal(out.budget, 4);
  assert.equal(out.setFile, file);
  for (const b of out.perBug) {
    assert.equal(b.stops.length, 2);
    assert.equal(b.successes, b.stops.filter((s) => s === 'solved').length);
  }
  const mean = out.perBug.reduce((s, b) => s + b.successes / b.attempts, 0) / 2;
  assert.equal(out.solveRate, mean);

  // Another version is another policy: train one step (on a batch that rewards nothing in particular) and evaluate it.
  const rt = createRuntime({ home });
  const traj = await rt.store.putBlob(JSON.stringify({ decisions: [{ group: 'solve.repair', options: [{ key: 'comparison', features: [1, 0, 0, 0] }, { key: 'number-literal', features: [1, 0, 0, 0] }], chosen: 1 }] }));
  const nil = await rt.store.putBlob(JSON.stringify({ decisions: [] }));
  await trainStep(rt.store, { campaignId: 'ev', step: 0, fromVersion: 'ev@0', learningRate: 0.5, batch: [{ trajectoryRef: traj, role: 'solver', reward: 1, group: 'g' }, { trajectoryRef: nil, role: 'solver', reward: -1, group: 'g' }] });
  const r1 = await cli(['eval', '--policy', 'ev@1', '--set', file, '--attempts', '1', '--budget', '2'], home);
  assert.equal(r1.code, 0, r1.stderr);
  assert.match(r1.stdout, /policy ev@1 on held-out set 'small': 2 bugs x 1 attempts, 2 test runs each/);

  const bad = await cli(['eval', '--policy', 'ev@5', '--set', file], home);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /policy model ev@5 \(.*policies\/ev\/5\.onnx\): missing/);
  const none = await cli(['eval', '--set', file], home);
  assert.notEqual(none.code, 0);
  assert.match(none.stderr, /--policy <version> is required/);
});

test('within one process a patch of a bug is graded once: a second evaluation reuses the grades and gives the same figures', async () => {
  const home = tmp();
  const file = await smallSet(home);
  const set = await readHeldoutSet(file);
  const rt = createRuntime({ home });
  const o = { attempts: 1, budget: 2 };
  const first = await evaluatePolicy(rt, set, file, 'gr@0', o);
  assert.equal(first.graded, 2, 'every attempt of a fresh process is graded');
  const again = await evaluatePolicy(rt, set, file, 'gr@0', o);
  assert.equal(again.graded, 0, 'the same patches of the same bugs are graded once');
  assert.deepEqual(again.perBug, first.perBug);
  // Without the cache (suites that are not deterministic), every attempt is graded again.
  const uncached = await evaluatePolicy(rt, set, file, 'gr@0', { ...o, cache: false });
  assert.equal(uncached.graded, 2);
  assert.deepEqual(uncached.perBug, first.perBug);
});

test('a campaign that reuses test results grades a patch its attempts share once, even when they end at once; a grade stopped by its time limit is run again', async () => {
  const home = tmp();
  const file = await smallSet(home);
  const set = await readHeldoutSet(file);
  const rt = createRuntime({ home });
  const repos = await resolveSetRepos(set, file);
  const bug = set.bugs[0];
  const repo = repos.get(bug.repo)!;
  const { putArtifact } = await import('../../src/artifact/artifact.js');
  const { gradeAttempt } = await import('../../src/episode/service.js');
  const { parseConfig } = await import('../../src/config/load.js');
  const m = await putArtifact(rt.store, bug.artifact, { repo: repo.name, baseCommit: repo.commit, strategy: bug.strategy, parent: null, order: 1, policyVersion: 'test', createdBy: 'test' });
  const cfg = parseConfig({ repos: [{ path: repo.path }], solverRunCache: true }, 'test');
  // One patch all four attempts end on (a new file of its own: the grades of this process's other tests are reused too).
  const nonce = `${process.pid}-${Date.now()}`;
  const patchRef = await rt.store.putBlob(`diff --git a/NOTES-${nonce}.txt b/NOTES-${nonce}.txt\nnew file mode 100644\n--- /dev/null\n+++ b/NOTES-${nonce}.txt\n@@ -0,0 +1 @@\n+looked, found nothing\n`);
  const gs = await Promise.all([0, 1, 2, 3].map((attempt) => gradeAttempt(rt, { episodeId: 'e/0/0', attempt, repo, artifactHash: m.hash, patchRef, cfg })));
  assert.equal(gs.filter((g) => !g.reused).length, 1, 'one run for the four attempts');
  assert.ok(gs.every((g) => g.success === false && g.failure === 'tests-fail' && g.logRef === gs[0].logRef), JSON.stringify(gs));
  assert.ok(gs.filter((g) => g.reused).every((g) => g.testRunMs === 0));
  // Not with the cache off (suites that are not deterministic), nor after a run the time limit stopped.
  const off = await gradeAttempt(rt, { episodeId: 'e/0/0', attempt: 4, repo, artifactHash: m.hash, patchRef, cfg: { ...cfg, solverRunCache: false } });
  assert.equal(off.reused, undefined);
  const tight = { ...cfg, testTimeoutSec: 0.001 };
  const t1 = await gradeAttempt(rt, { episodeId: 'e/0/1', attempt: 0, repo, artifactHash: m.hash, patchRef, cfg: tight });
  assert.equal(t1.failure, 'timeout');
  const t2 = await gradeAttempt(rt, { episodeId: 'e/0/1', attempt: 1, repo, artifactHash: m.hash, patchRef, cfg: tight });
  assert.equal(t2.failure, 'timeout');
  assert.equal(t2.reused, undefined, 'a grade the time limit stopped is run again');
});
