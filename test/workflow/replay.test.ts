/**
 * Workflow code must stay deterministic: every history recorded from a real campaign (test/histories/recorded/,
 * written by `npx tsx test/histories/record.ts`) must replay against the workflow code of this checkout. No Temporal
 * server is needed: the SDK's replayer runs the workflow bundle against the stored events.
 *
 * The last tests show that the check can fail: the same histories against deliberately changed copies of workflows/
 * (one activity call moved; the patched() guard of a later-added activity removed) give DeterminismViolationError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { workflowBundle } from '../../workers/bundle.js';
import { historyFromJson } from '../histories/json.js';
import type { HistoryEntry, HistoryIndex } from '../histories/record.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RECORDED = path.join(ROOT, 'test', 'histories', 'recorded');
const rel = (f: string) => path.relative(ROOT, path.join(RECORDED, f));

// Replay workers log every nondeterminism they meet; the tests below report them (and provoke some on purpose).
try {
  Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
} catch { /* a runtime already exists */ }

const index = JSON.parse(readFileSync(path.join(RECORDED, 'index.json'), 'utf8')) as HistoryIndex;
const load = (e: HistoryEntry): History => historyFromJson(readFileSync(path.join(RECORDED, e.file), 'utf8'));
const entry = (file: string): HistoryEntry => {
  const e = index.histories.find((h) => h.file === file);
  assert.ok(e, `${rel(file)} is not in ${rel('index.json')}`);
  return e;
};

/** The bundle the workers run (workers/bundle.ts), built into a scratch cache. */
let current: Promise<{ code: string }> | null = null;
const currentBundle = () => (current ??= workflowBundle(mkdtempSync(path.join(tmpdir(), 'ssr-replay-cache-'))));

/**
 * A bundle of a temporary copy of workflows/ with `edit` applied to one file; src/, activities/ and node_modules
 * are links to this checkout's. Each anchor `edit` relies on is checked, so a change of round.ts that moves them
 * fails here with a message rather than silently testing nothing.
 */
async function changedBundle(file: string, edit: (text: string, need: (s: string) => void) => string): Promise<{ code: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ssr-replay-changed-'));
  try {
    cpSync(path.join(ROOT, 'workflows'), path.join(dir, 'workflows'), { recursive: true });
    for (const l of ['src', 'activities', 'node_modules', 'package.json']) symlinkSync(path.join(ROOT, l), path.join(dir, l));
    const f = path.join(dir, 'workflows', file);
    const before = readFileSync(f, 'utf8');
    const after = edit(before, (s) => assert.ok(before.includes(s), `workflows/${file} no longer contains ${JSON.stringify(s)}: update this test's edit`));
    assert.notEqual(after, before, 'the edit changed nothing');
    writeFileSync(f, after);
    return await bundleWorkflowCode({ workflowsPath: path.join(dir, 'workflows', 'index.ts'), logger: new DefaultLogger('WARN') });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const replay = (bundle: { code: string }, e: HistoryEntry) => Worker.runReplayHistory({ workflowBundle: bundle }, load(e), e.workflowId);

test('the index lists every recorded history, with the workflow id it ran under', () => {
  const files = readdirSync(RECORDED).filter((f) => f.endsWith('.json') && f !== 'index.json').sort();
  assert.deepEqual([...index.histories.map((h) => h.file)].sort(), files, `${rel('index.json')} and the files beside it differ`);
  assert.ok(index.histories.some((h) => h.workflowType === 'campaignWorkflow'), 'a campaign history');
  assert.ok(index.histories.some((h) => h.workflowType === 'roundWorkflow'), 'a round history');
  for (const h of index.histories) {
    assert.ok(h.workflowId && h.runId, `${h.file}: workflow id and run id`);
    assert.ok((load(h).events?.length ?? 0) > 0, `${h.file}: events`);
  }
  const runs = index.histories.filter((h) => h.workflowType === 'campaignWorkflow').map(load);
  assert.ok(runs.some((r) => r.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes), 'a campaign run that continued as new');
  assert.ok(runs.some((r) => r.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId), 'a campaign run started by continue-as-new');
  assert.ok(runs.some((r) => r.events?.some((ev) => ev.workflowExecutionSignaledEventAttributes?.signalName === 'pause')), 'a pause signal');
});

test('every recorded history replays against the current workflow code', async () => {
  const bundle = await currentBundle();
  const failures: string[] = [];
  const results = Worker.runReplayHistories({ workflowBundle: bundle },
    index.histories.map((e) => ({ workflowId: e.workflowId, history: load(e) })));
  let i = 0;
  for await (const r of results) {
    const e = index.histories[i++];
    assert.equal(r.workflowId, e.workflowId);
    if (r.error) {
      failures.push(`${rel(e.file)} (${e.workflowType} ${e.workflowId}, recorded at ${e.commit.slice(0, 7)}): ${r.error.name}: ${r.error.message}`);
    }
  }
  assert.equal(i, index.histories.length, 'every history was replayed');
  assert.deepEqual(failures, [],
    `workflow code no longer replays ${failures.length} recorded histor${failures.length === 1 ? 'y' : 'ies'}:\n  ${failures.join('\n  ')}\n` +
    'A running campaign would fail the same way after a worker upgrade. Guard the change with patched() (README, ' +
    '"Changing workflow code"); re-record (npx tsx test/histories/record.ts) only if no running workflow can have the old code.');
});

test('a round recorded before releaseEpisode existed replays thanks to patched()', async () => {
  const pre = entry('pre-release-episode.json');
  assert.ok(pre.fixture, 'kept as a fixture when re-recording');
  const events = load(pre).events ?? [];
  const activities = events.map((ev) => ev.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
  assert.ok(activities.includes('recordEpisode') && !activities.includes('releaseEpisode'), `old code: ${activities.join(', ')}`);
  assert.ok(!events.some((ev) => ev.markerRecordedEventAttributes), 'no patch marker in the old history');
  await replay(await currentBundle(), pre);
});

test('moving one activity call breaks replay with a DeterminismViolationError', async () => {
  const round = index.histories.find((h) => h.workflowType === 'roundWorkflow' && !h.fixture);
  assert.ok(round, 'a round history recorded from the current code');
  const moved = await changedBundle('round.ts', (text, need) => {
    const record = '    await control.recordEpisode(rec, { cfg: i.cfg, repo: i.repo, seed });\n';
    const release = "    if (patched('release-episode-sandboxes')) {\n";
    need(record); need(release);
    // The episode is recorded before its sandboxes are released instead of after.
    return text.replace(record, '').replace(release, record + release);
  });
  await assert.rejects(replay(moved, round), (err: unknown) => {
    assert.ok(err instanceof DeterminismViolationError, `expected a DeterminismViolationError, got ${String(err)}`);
    return true;
  });
});

test('without the patched() guard the old round no longer replays; deprecatePatch() is the way to drop it', async () => {
  const pre = entry('pre-release-episode.json');
  const round = index.histories.find((h) => h.workflowType === 'roundWorkflow' && !h.fixture);
  assert.ok(round, 'a round history recorded from the current code');
  const guard = "if (patched('release-episode-sandboxes'))";
  const unguarded = await changedBundle('round.ts', (text, need) => { need(guard); return text.replace(guard, 'if (true)'); });
  const isViolation = (err: unknown) => {
    assert.ok(err instanceof DeterminismViolationError, `expected a DeterminismViolationError, got ${String(err)}`);
    return true;
  };
  // The old history has no releaseEpisode where the code now always schedules one.
  await assert.rejects(replay(unguarded, pre), isViolation);
  // Histories of the new code carry the patch marker, which plain unguarded code no longer asks for.
  await assert.rejects(replay(unguarded, round), isViolation);
  // deprecatePatch() accepts the marker: once no workflow of the old code can still be running, it replaces patched().
  const deprecated = await changedBundle('round.ts', (text, need) => {
    need(guard); need('import { patched,');
    return text.replace('import { patched,', 'import { deprecatePatch, patched,')
      .replace(guard, "deprecatePatch('release-episode-sandboxes');\n    if (true)");
  });
  await replay(deprecated, round);
  await assert.rejects(replay(deprecated, pre), isViolation);
});
