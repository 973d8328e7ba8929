/**
 * Image repositories on a real Docker engine: the work directory is found inside the image, the host mirror is
 * only read, and the solver's container holds neither the history nor the original code.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { docker, LABEL, OWNER, requireEngine } from '../../src/sandbox/docker/engine.js';
import { ensureExampleImages, ensureToolchainImage } from '../../src/sandbox/docker/images.js';
import { prepareImageRepo, ImageRepoError } from '../../src/sandbox/docker/imageRepo.js';
import { prepareRepo } from '../../src/repo/prepare.js';
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { buildSolverState } from '../../src/episode/solverState.js';
import { makeDiff } from '../../src/repo/diffgen.js';
import { detectRunners } from '../../src/repo/runners/index.js';
import { runTestScript } from '../../src/repo/testrun.js';

let home = '';
let rt: Runtime;
let images: Awaited<ReturnType<typeof ensureExampleImages>>;

before(async () => {
  await requireEngine();
  images = await ensureExampleImages();
  home = mkdtempSync(path.join(tmpdir(), 'ssr-imgrepo-'));
  rt = createRuntime({ home, sandbox: 'docker' });
});
after(async () => {
  if (home) rmSync(home, { recursive: true, force: true });
});

const image = (name: string) => {
  const i = images.find((x) => x.name === name);
  assert.ok(i, `example image ${name} built`);
  return i;
};

test('an image repo: workdir found as the git top-level, mirrored once, described by image id', async () => {
  const img = image('tallybook');
  const a = await prepareRepo(home, { image: img.ref });
  assert.equal(a.image?.workdir, '/src');
  assert.equal(a.image?.workdirFrom, 'git');
  assert.equal(a.name, 'tallybook');
  const head = readFileSync(path.join(process.cwd(), 'examples', 'tallybook', 'HEAD'), 'utf8').trim();
  assert.equal(a.commit, head);
  // The mirror is what the agents parse: runner discovery works on it as on a directory repo.
  const runners = await detectRunners(a.path);
  assert.ok(runners.some((r) => r.name === 'pytest'), `runners: ${runners.map((r) => r.name).join(', ')}`);
  // A second preparation reuses the mirror; the key is the image's, not the path's.
  const b = await prepareRepo(home, { image: img.ref });
  assert.equal(b.path, a.path);
  assert.equal(b.key, a.key);
});

test('an image without git: the largest source tree is the workdir', async () => {
  const d = docker();
  const tool = await ensureToolchainImage();
  const c = await d.createContainer({ Image: tool, Entrypoint: [], Cmd: ['sh', '-c', 'mkdir -p /opt/app/pkg /opt/app/tests /opt/notes && touch /opt/app/pyproject.toml && for i in 1 2 3 4 5; do echo "x = $i" > /opt/app/pkg/m$i.py; done && echo "def test_x(): pass" > /opt/app/tests/test_m.py && echo "y = 1" > /opt/notes/n.py'], Labels: { [LABEL.managed]: '1', [LABEL.kind]: 'build', [LABEL.owner]: OWNER } });
  await c.start();
  await c.wait();
  const img = (await c.commit({ repo: 'ssr-test/nogit', tag: 'latest' })) as { Id: string };
  await c.remove({ force: true });
  try {
    const p = await prepareImageRepo(home, { image: 'ssr-test/nogit:latest' });
    assert.equal(p.marker.workdir, '/opt/app', 'the project root, with its tests, not its largest package');
    assert.equal(p.marker.workdirFrom, 'largest-source-tree');
  } finally {
    await d.getImage(img.Id).remove({ force: true }).catch(() => undefined);
  }
});

test('a missing image is a typed error that says there is no registry and how to build it', async () => {
  await assert.rejects(prepareImageRepo(home, { image: 'ssr-test/absent:nope' }), (e: Error) => {
    assert.ok(e instanceof ImageRepoError);
    assert.match(e.message, /no registry/);
    assert.match(e.message, /npm run images/);
    return true;
  });
});

test("the solver's container holds no history and no original code", async () => {
  const img = image('tallybook');
  const repo = await prepareRepo(home, { image: img.ref });
  const rel = 'tallybook/money.py';
  const original = readFileSync(path.join(repo.path, rel), 'utf8');
  // A line found once in the whole repository: the bug rewrites it, so any copy of it is the original leaking.
  const line = 'Build from an integer count of minor units';
  assert.ok(original.includes(line));
  const bug = await makeDiff([{ path: rel, before: original, after: original.replace(line, 'Build from minor units') }]);
  const artifact = { bugInject: bug, testWeaken: '', testScript: '', testParser: '', testFiles: [] };
  const snap = await buildSolverState(rt.provider, repo.path, artifact, undefined, { episode: 'test-solver-state' });
  assert.equal(snap.backend, 'docker');
  const sb = await rt.provider.create(snap);
  try {
    const commits = await sb.exec('git log --all --oneline | wc -l; git reflog | wc -l');
    assert.deepEqual(commits.stdout.trim().split('\n'), ['1', '1'], 'one commit, one reflog entry');
    // Every object git holds, decompressed, and every file of the container: the original line is nowhere.
    const objects = await sb.exec(`git cat-file --batch-all-objects --batch | grep -c -F '${line}' || true`);
    assert.equal(objects.stdout.trim(), '0');
    const files = await sb.exec(`grep -rlF --exclude-dir=proc --exclude-dir=sys '${line}' / 2>/dev/null | head -n 5`, { timeoutMs: 120_000 });
    assert.equal(files.stdout.trim(), '', 'no file holds the original');
    assert.equal((await sb.exec('git log --all --format=%s')).stdout.trim(), 'initial commit');
    // The buggy tree itself is there and its tests run.
    const run = await runTestScript(sb, 'python3 -m pytest -q -rA tests 2>&1', PARSER, 120_000);
    assert.ok(Object.keys(run.results).length > 10, `tests ran: ${run.log.slice(-500)}`);
  } finally {
    await sb.dispose();
    await rt.provider.release({ episode: 'test-solver-state' });
  }
  // The episode's snapshot is gone with its release.
  const left = await docker().listImages({ filters: { label: [`${LABEL.episode}=test-solver-state`] } });
  assert.deepEqual(left.map((i) => i.Id), []);
});

const PARSER = `import sys, json
res = {}
for l in sys.stdin:
    p = l.split()
    if len(p) >= 2 and p[0] in ("PASSED", "FAILED"):
        res[p[1]] = p[0].lower()
print(json.dumps(res))
`;
