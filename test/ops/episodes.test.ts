/**
 * `ssr episodes list|show` and `ssr campaign list` against a real dev server and a real (small) campaign: every
 * filter, the join of visibility and store, running episodes, store-only ones, the fallback without a server, and
 * the CLI as a separate process.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { parseConfig } from '../../src/config/load.js';
import { startCampaign } from '../../src/cli/campaign.js';
import { episodesQuery, formatEpisodeDetail, listEpisodeRows, showEpisodeDetail, EpisodeNotFoundError, type EpisodeRow, type EpisodeDetail } from '../../src/cli/episodes.js';
import { listCampaignRows, type CampaignRow } from '../../src/cli/campaigns.js';
import { listEpisodes, putEpisode } from '../../src/store/records.js';
import { freePort } from '../../src/temporal/server.js';
import { PROJECT_ROOT } from '../../src/temporal/config.js';
import type { EpisodeRecord } from '../../src/episode/types.js';
import { SA } from '../../workflows/searchAttributes.js';
import { startTestEnv, type TestEnv } from '../helpers/temporal.js';
import { exampleRepos } from '../helpers/examples.js';

const CAMPAIGN = 't-ops';
const IDLE = 't-ops-idle';        // a round workflow on a queue no worker polls: running, no record
const STUCK = 't-ops-stuck';      // a campaign workflow no worker runs: its status query is never answered
const STORE_ONLY = 't-ops-store'; // an episode record Temporal never heard of

let env: TestEnv;
let workers: { stop(): Promise<void> };
let rounds: EpisodeRecord[] = [];

const run = promisify(execFile);
async function cli(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: PROJECT_ROOT, env: { ...env.env, ...extraEnv }, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : -1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

const classOf = (o: string) => (o.startsWith('solved-') ? 'solved' : o.startsWith('invalid:') ? 'invalid' : o.startsWith('inject-failed:') ? 'inject-failed' : o);

async function eventually<T>(what: string, fn: () => Promise<T | null>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

const list = (f: Parameters<typeof listEpisodeRows>[2]) => listEpisodeRows(env.client, env.runtime.store, f).then((r) => r.rows);
const ids = (rows: { id: string }[]) => rows.map((r) => r.id).sort();

before(async () => {
  env = await startTestEnv();
  workers = await env.startWorkers();
  const cfg = parseConfig({
    repos: exampleRepos().slice(0, 2).map((r) => ({ path: r.path })), steps: 1, rounds: 2, solves: 2, solverTestRuns: 4,
    injectorCandidates: 4, strategies: ['direct'], higherOrder: { enabled: false },
  });
  const h = await startCampaign(env.client, CAMPAIGN, cfg);
  await h.result();
  // A running round and a campaign that never gets a worker (their task queue has none).
  await env.client.workflow.start('roundWorkflow', {
    workflowId: `${IDLE}/0/0`, taskQueue: 'ssr-ops-test-idle', args: [],
    typedSearchAttributes: [{ key: SA.campaign, value: IDLE }, { key: SA.step, value: 0 }, { key: SA.repo, value: 'idle-repo' }, { key: SA.kind, value: 'round' }],
  });
  await env.client.workflow.start('campaignWorkflow', {
    workflowId: STUCK, taskQueue: 'ssr-ops-test-idle', args: [{ campaignId: STUCK, cfg: { ...cfg, steps: 7 }, repos: null, step: 0, policyVersion: `${STUCK}@0`, metrics: [], pool: [], paused: false, stopRequested: false, roundsDone: 0, roundsFailed: 0, runs: 0 }],
  });
  // An invalid episode only the store knows (a reset server, another machine's store), with its check report.
  const reportRef = await env.runtime.store.putBlob(JSON.stringify({
    valid: false, checks: [{ check: 'weakening', ok: false, ran: true, code: 'weakening-hides-nothing', reason: 'no failing test is hidden', evidence: { hidden: [] }, logs: { weakened: await env.runtime.store.putBlob('weakened log\n') } }],
  }));
  await putEpisode(env.runtime.store, {
    id: `${STORE_ONLY}/0/0`, campaignId: STORE_ONLY, step: 0, round: 0, repo: 'elsewhere', repoPath: '/nowhere', policyVersion: `${STORE_ONLY}@0`,
    order: 1, strategy: 'direct', outcome: 'invalid:weakening:weakening-hides-nothing', reason: 'no failing test is hidden', artifactHash: null,
    parentArtifact: null, checks: [{ check: 'weakening', ok: false, ran: true, code: 'weakening-hides-nothing', reason: 'no failing test is hidden' }],
    checkReportRef: reportRef, solveRate: null, injectorReward: -1, attempts: [], injectorTrajectoryRef: null, higherOrderAdded: [], testRunMs: 0,
    wallMs: 0, startedAt: '2020-01-01T00:00:00.000Z', finishedAt: '2020-01-01T00:00:01.000Z',
  });
  rounds = await listEpisodes(env.runtime.store, CAMPAIGN);
  // Visibility catches up with the rounds' last search-attribute upserts.
  await eventually('the rounds\' outcomes in visibility', async () => {
    const seen: string[] = [];
    for await (const w of env.client.workflow.list({ query: `SsrCampaign = '${CAMPAIGN}' AND SsrOutcome IS NOT NULL` })) seen.push(w.workflowId);
    return seen.length === 2 ? seen : null;
  });
  await eventually('the idle round in visibility', async () => ((await list({ campaign: IDLE })).length ? true : null));
});

after(async () => {
  for (const id of [`${IDLE}/0/0`, STUCK]) { try { await env.client.workflow.getHandle(id).terminate('test over'); } catch { /* gone */ } }
  await workers?.stop();
  await env?.stop();
});

test('the small campaign recorded both rounds', (t) => {
  t.diagnostic(`outcomes: ${rounds.map((r) => `${r.id} ${r.outcome}`).join(', ')}`);
  assert.deepEqual(rounds.map((r) => r.id), [`${CAMPAIGN}/0/0`, `${CAMPAIGN}/0/1`]);
});

test('list without filters: every campaign, the running round, the store-only record', async () => {
  const rows = await list({});
  const by = new Map(rows.map((r) => [r.id, r]));
  for (const rec of rounds) {
    const r = by.get(rec.id)!;
    assert.ok(r, rec.id);
    assert.equal(r.outcome, rec.outcome);
    assert.equal(r.source, 'temporal+store');
    assert.equal(r.status, 'COMPLETED');
    assert.equal(r.repo, rec.repo);
    assert.deepEqual(r.attempts.map((a) => a.failure), rec.attempts.map((a) => a.failure));
  }
  const idle = by.get(`${IDLE}/0/0`)!;
  assert.deepEqual([idle.outcome, idle.status, idle.source, idle.campaign, idle.step, idle.round, idle.repo], ['running', 'RUNNING', 'temporal', IDLE, 0, 0, 'idle-repo']);
  const stored = by.get(`${STORE_ONLY}/0/0`)!;
  assert.deepEqual([stored.outcome, stored.source, stored.status], ['invalid:weakening:weakening-hides-nothing', 'store', null]);
});

test('list by campaign, step and repo; filters that match nothing give nothing', async () => {
  assert.deepEqual(ids(await list({ campaign: CAMPAIGN })), rounds.map((r) => r.id));
  assert.deepEqual(ids(await list({ campaign: CAMPAIGN, step: 0 })), rounds.map((r) => r.id));
  assert.deepEqual(await list({ campaign: CAMPAIGN, step: 1 }), []);
  const repo = rounds[0].repo;
  const byRepo = await list({ repo });
  assert.ok(byRepo.length >= 1 && byRepo.every((r) => r.repo === repo));
  assert.deepEqual(ids(byRepo.filter((r) => r.campaign === CAMPAIGN)), rounds.filter((r) => r.repo === repo).map((r) => r.id));
  assert.deepEqual(await list({ repo: 'no-such-repo' }), []);
  assert.deepEqual(await list({ campaign: 'no-such-campaign' }), []);
  // Quotes are escaped (the query still runs); backslashes are filtered here, not by the server.
  assert.deepEqual(await list({ campaign: "it's" }), []);
  assert.deepEqual(await list({ campaign: 'a\\b', outcome: 'solved' }), []);
});

test('list by outcome: exact, class, running, and the server-side query agrees with the result', async () => {
  for (const rec of rounds) {
    const exact = await list({ campaign: CAMPAIGN, outcome: rec.outcome });
    assert.deepEqual(ids(exact), rounds.filter((r) => r.outcome === rec.outcome).map((r) => r.id));
    const cls = classOf(rec.outcome);
    const byClass = await list({ campaign: CAMPAIGN, outcome: cls });
    assert.deepEqual(ids(byClass), rounds.filter((r) => classOf(r.outcome) === cls).map((r) => r.id));
    // The visibility query alone (no store) selects the same round workflows.
    const visible: string[] = [];
    for await (const w of env.client.workflow.list({ query: episodesQuery({ campaign: CAMPAIGN, outcome: cls }) })) visible.push(w.workflowId);
    assert.deepEqual(visible.sort(), ids(byClass), `server-side ${cls}`);
  }
  for (const cls of ['solved', 'invalid', 'inject-failed', 'infra-error']) {
    assert.deepEqual(ids(await list({ campaign: CAMPAIGN, outcome: cls })), rounds.filter((r) => classOf(r.outcome) === cls).map((r) => r.id), cls);
  }
  assert.deepEqual(ids(await list({ outcome: 'running' })), [`${IDLE}/0/0`]);
  assert.deepEqual(ids(await list({ outcome: 'invalid' })).filter((i) => !i.startsWith(`${CAMPAIGN}/`)), [`${STORE_ONLY}/0/0`]);
  assert.deepEqual(await list({ campaign: CAMPAIGN, outcome: 'round-failed' }), []);
});

test('show: artifact, checks with evidence, attempts with patches and test summaries, every path on disk', async () => {
  const valid = rounds.find((r) => r.solveRate !== null);
  const others = rounds.filter((r) => r.solveRate === null);
  for (const rec of [...(valid ? [valid] : []), ...others]) {
    const d = await showEpisodeDetail(env.client, env.runtime.store, rec.id);
    assert.equal(d.outcome, rec.outcome);
    assert.equal(d.policyVersion, `${CAMPAIGN}@0`);
    assert.equal(d.workflow?.status, 'COMPLETED');
    assert.ok(existsSync(d.record!));
    for (const p of d.paths) assert.ok(existsSync(p), `${rec.id}: ${p} exists`);
    if (rec.artifactHash) {
      assert.equal(d.artifact!.hash, rec.artifactHash);
      assert.equal(d.artifact!.files.length, 5);
      assert.ok(d.artifact!.files.every((f) => f.bytes !== null && f.bytes > 0), 'the five files are there');
      assert.equal(d.artifact!.manifest!.createdBy, 'embedded-injector');
      assert.equal(d.artifact!.manifest!.strategy, 'direct');
      assert.equal(d.artifact!.manifest!.policyVersion, `${CAMPAIGN}@0`);
      assert.equal(d.checks.length, 7);
      assert.ok(d.checks.filter((c) => c.ran).every((c) => c.evidence !== null), 'ran checks carry their evidence');
      assert.ok(d.checks.some((c) => Object.keys(c.logs).length > 0), 'check logs are named');
    }
    // The injector's candidates, each with why it was kept or dropped, are shown beside the trajectory's path.
    if (d.injectorTrajectory) {
      assert.ok(d.injectorTried.length > 0, `${rec.id}: the injector's tried candidates are read from its trajectory`);
      const text = formatEpisodeDetail(d).join('\n');
      for (const t of d.injectorTried) assert.ok(text.includes(`  - ${t}`), `${rec.id}: '${t}' is printed`);
      // A candidate dropped after its runs names its diff and its last run's log (on disk: `paths` above).
      for (const e of d.injectorEvidence) {
        assert.ok(d.injectorTried[e.attempt] && !/ hidden$/.test(d.injectorTried[e.attempt]!), `${rec.id}: evidence of a dropped candidate`);
        for (const [k, r] of [['bug', e.bug], ['log', e.log]] as const) if (r) assert.ok(text.includes(`      ${k} ${r.path}`), `${rec.id}: ${k} path printed`);
      }
      if (rec.artifactHash) assert.match(d.injectorTried.at(-1)!, /: breaks \d+ tests, \d+ hidden$/, 'the kept candidate comes last');
    }
    if (rec.outcome.startsWith('invalid:')) {
      const failed = d.checks.find((c) => c.ran && !c.ok)!;
      assert.equal(rec.outcome, `invalid:${failed.check}:${failed.code}`);
    }
    assert.equal(d.attempts.length, rec.attempts.length);
    for (const a of d.attempts) {
      assert.ok(existsSync(a.patch.path));
      assert.ok(a.stop.length > 0);
      if (a.gradeLog) assert.ok(a.gradeLog.summary && a.gradeLog.summary.bytes > 0);
      assert.equal(a.success, a.failure === null);
    }
  }
  const stored = await showEpisodeDetail(env.client, env.runtime.store, `${STORE_ONLY}/0/0`);
  assert.equal(stored.workflow, null);
  assert.deepEqual(stored.checks.map((c) => [c.check, c.code, c.evidence]), [['weakening', 'weakening-hides-nothing', { hidden: [] }]]);
  assert.ok(existsSync(stored.checks[0].logs.weakened.path));
  const idle = await showEpisodeDetail(env.client, env.runtime.store, `${IDLE}/0/0`);
  assert.deepEqual([idle.outcome, idle.record, idle.workflow?.status], ['running', null, 'RUNNING']);
  await assert.rejects(showEpisodeDetail(env.client, env.runtime.store, `${CAMPAIGN}/9/9`, { where: env.address }), (e: Error) =>
    e instanceof EpisodeNotFoundError && e.message.includes(env.runtime.store.p('episodes', `${CAMPAIGN}/9/9.json`)) && e.message.includes(env.address));
});

test('campaign list: the finished campaign, a running one no worker answers, a store-only one', async () => {
  const { rows, warnings } = await listCampaignRows(env.client, env.runtime.store, { queryMs: 2000 });
  const by = new Map(rows.map((r) => [r.id, r]));
  const c = by.get(CAMPAIGN)!;
  assert.deepEqual([c.status, c.step, c.steps, c.policyVersion, c.stepFrom, c.episodes, c.stepsRecorded, c.source],
    ['COMPLETED', 1, 1, `${CAMPAIGN}@1`, 'result', 2, 1, 'temporal+store']);
  const s = by.get(STUCK)!;
  assert.deepEqual([s.status, s.step, s.steps, s.stepFrom, s.source], ['RUNNING', 0, 7, 'input', 'temporal']);
  assert.ok(warnings.some((w) => w.includes(STUCK)), 'the unanswered query is reported');
  const st = by.get(STORE_ONLY)!;
  assert.deepEqual([st.status, st.episodes, st.source, st.startTime], ['store-only', 1, 'store', '2020-01-01T00:00:00.000Z']);
  assert.ok(!by.has(IDLE), 'a round is no campaign');
});

test('the CLI: episodes list --json, show (text and --json), the unknown-id error, campaign list', async () => {
  const l = await cli(['episodes', 'list', '--campaign', CAMPAIGN, '--json']);
  assert.equal(l.code, 0, l.stderr);
  const rows = JSON.parse(l.stdout) as EpisodeRow[];
  assert.deepEqual(rows.map((r) => [r.id, r.outcome, r.source]), rounds.map((r) => [r.id, r.outcome, 'temporal+store']));

  const running = await cli(['episodes', 'list', '--outcome', 'running']);
  assert.equal(running.code, 0, running.stderr);
  const lines = running.stdout.trim().split('\n');
  assert.match(lines[0], /^ID\s+STEP\s+REPO\s+STRATEGY\s+ORDER\s+OUTCOME\s+SOLVE\s+R_INJ\s+ATTEMPTS$/);
  assert.equal(lines.length, 2);
  assert.match(lines[1], new RegExp(`^${IDLE}/0/0\\s+0\\s+idle-repo\\s+-\\s+-\\s+running\\b`));

  const none = await cli(['episodes', 'list', '--campaign', CAMPAIGN, '--step', '5', '--json']);
  assert.deepEqual([none.code, JSON.parse(none.stdout)], [0, []]);
  const bad = await cli(['episodes', 'list', '--outcome', 'nonsense']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /unknown outcome 'nonsense'/);

  const id = rounds[0].id;
  const shown = await cli(['episodes', 'show', id]);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, new RegExp(`^episode:\\s+${id}$`, 'm'));
  assert.match(shown.stdout, new RegExp(`^outcome:\\s+${rounds[0].outcome.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
  assert.match(shown.stdout, /^policy:\s+t-ops@0/m);
  if (rounds[0].artifactHash) assert.match(shown.stdout, /^ {2}bug_inject\.diff\s+\d+ bytes$/m);
  for (const a of rounds[0].attempts) assert.match(shown.stdout, new RegExp(`^attempt ${a.attempt}: (solved|failed \\[${a.failure}\\]), stop ${a.stop}`, 'm'));
  const asJson = await cli(['episodes', 'show', id, '--json']);
  assert.equal(asJson.code, 0, asJson.stderr);
  const d = JSON.parse(asJson.stdout) as EpisodeDetail;
  assert.equal(d.id, id);
  for (const a of d.attempts) {
    assert.equal(a.patch.text, undefined, '--json names the patch by its blob path');
    assert.equal(a.patch.path, env.runtime.store.blobPath(a.patch.ref as `sha256:${string}`));
  }
  for (const p of d.paths) assert.ok(existsSync(p), p);

  const unknown = await cli(['episodes', 'show', 'no-such/0/0']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no episode 'no-such\/0\/0'/);
  assert.ok(unknown.stderr.includes(env.runtime.store.p('episodes', 'no-such/0/0.json')), unknown.stderr);
  assert.ok(unknown.stderr.includes(env.address), unknown.stderr);

  const camps = await cli(['campaign', 'list', '--json']);
  assert.equal(camps.code, 0, camps.stderr);
  const cr = (JSON.parse(camps.stdout) as CampaignRow[]).find((r) => r.id === CAMPAIGN)!;
  assert.deepEqual([cr.status, cr.step, cr.steps], ['COMPLETED', 1, 1]);
  const campsText = await cli(['campaign', 'list']);
  assert.match(campsText.stdout, new RegExp(`^${CAMPAIGN}\\s+COMPLETED\\s+\\S+ \\S+\\s+1/1\\s+${CAMPAIGN}@1\\s+2\\s+temporal\\+store$`, 'm'));
});

test('without a server: the store alone, with a warning', async () => {
  const closed = { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` };
  const l = await cli(['episodes', 'list', '--json'], closed);
  assert.equal(l.code, 0, l.stderr);
  assert.match(l.stderr, /warning: Temporal at 127\.0\.0\.1:\d+ \(namespace default\) is unreachable .* listing from the store/);
  const rows = JSON.parse(l.stdout) as EpisodeRow[];
  assert.deepEqual(ids(rows), [...rounds.map((r) => r.id), `${STORE_ONLY}/0/0`].sort());
  assert.ok(rows.every((r) => r.source === 'store' && r.status === null));
  const s = await cli(['episodes', 'show', rounds[0].id, '--json'], closed);
  assert.equal(s.code, 0, s.stderr);
  assert.equal((JSON.parse(s.stdout) as EpisodeDetail).workflow, null);
  const unknown = await cli(['episodes', 'show', `${IDLE}/0/0`], closed);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /not reachable, so only the store was searched/);
  const c = await cli(['campaign', 'list', '--json'], closed);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stderr, /unreachable/);
  const cr = (JSON.parse(c.stdout) as CampaignRow[]).find((r) => r.id === CAMPAIGN)!;
  assert.deepEqual([cr.status, cr.step, cr.source], ['store-only', 1, 'store']);
});
