/**
 * Records real workflow histories for the replay test (test/workflow/replay.test.ts).
 *
 *   npx tsx test/histories/record.ts [--all-rounds]        # the campaign below → test/histories/recorded/
 *   npx tsx test/histories/record.ts --round-only NAME --out DIR   # one round of a 1×1 campaign → DIR/NAME.json
 *
 * The default run starts a Temporal dev server and the workers in this process (test/helpers/temporal.ts), runs a
 * small campaign over two example repositories (3 steps × 2 rounds, 2 solves, continue-as-new after every step;
 * higher-order bugs enabled and always drawn when the pool has one for the round's repository: the embedded agents
 * are seeded, so step 1 pools one and a round of step 2 draws it), sends a pause/resume signal pair and status
 * queries while it runs, then fetches the history of every campaign run and of the round child workflows and writes
 * each in Temporal's JSON history format, then replays one solved episode from the checks and from grading
 * (`ssr replay`) and keeps those two replay workflows' histories too. Of the rounds it keeps the first of each kind (outcome, injected or
 * pooled) to keep the files small; --all-rounds keeps every one. `index.json` says which workflow id each file replays as, its outcome, and which
 * commit recorded it. Entries marked `fixture` (histories recorded from older workflow code, such as
 * pre-release-episode.json) are kept when re-recording; everything else is replaced.
 *
 * `--round-only` is for recording from another checkout (an older commit in a git worktree): it writes one round's
 * history and its index entry (DIR/NAME.index.json) and touches nothing else.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkflowHandle } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { historyToJson } from './json.js';
import { campaignWorkflow, initialState, pauseSignal, resumeSignal, statusQuery } from '../../workflows/campaign.js';
import { QUEUES } from '../../workflows/queues.js';
import { parseConfig } from '../../src/config/load.js';
import { startTestEnv, type TestEnv } from '../helpers/temporal.js';
import { prepareReplay, startReplay } from '../../src/cli/replay.js';
import { listEpisodes } from '../../src/store/records.js';
import { exampleRepos } from '../helpers/examples.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RECORDED_DIR = path.join(ROOT, 'test', 'histories', 'recorded');

export interface HistoryEntry {
  /** File name under recorded/. */
  file: string;
  workflowType: 'campaignWorkflow' | 'roundWorkflow' | 'replayWorkflow';
  /** The id the workflow ran under (round workflows derive their episode id and seeds from it). */
  workflowId: string;
  runId: string;
  /** What this history covers, e.g. "campaign run 1 of 2 (continued as new)" or the round's outcome. */
  note: string;
  /** The round's outcome (rounds only). */
  outcome?: string;
  /** The commit whose workflow code recorded it, and whether workflows/ had uncommitted changes then. */
  commit: string;
  workflowsDirty: boolean;
  recordedAt: string;
  events: number;
  bytes: number;
  /** Recorded from older workflow code on purpose; re-recording keeps it. */
  fixture?: boolean;
}

export interface HistoryIndex { about: string; histories: HistoryEntry[] }

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function gitInfo(): { commit: string; workflowsDirty: boolean } {
  const git = (...a: string[]) => execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim();
  return { commit: git('rev-parse', 'HEAD'), workflowsDirty: git('status', '--porcelain', '--', 'workflows').length > 0 };
}

type EventLike = NonNullable<History['events']>[number];

/** Every run of a workflow id, oldest first, following continue-as-new backwards from the latest run. */
async function campaignRuns(env: TestEnv, workflowId: string): Promise<{ runId: string; history: History }[]> {
  const runs: { runId: string; history: History }[] = [];
  let runId: string | undefined = (await env.client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const history: History = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.unshift({ runId, history });
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    runId = started?.continuedExecutionRunId || undefined;
  }
  return runs;
}

/** The round child workflows a campaign history started, in order. */
function childRuns(history: History): { workflowId: string; runId: string }[] {
  return (history.events ?? [])
    .map((e: EventLike) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution)
    .filter((x): x is { workflowId: string; runId: string } => !!x?.workflowId && !!x?.runId);
}

async function waitFor<T>(what: string, probe: () => Promise<T | null>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== null) return v;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function record(opts: { roundOnly: string | null; out: string; allRounds: boolean }): Promise<void> {
  const env = await startTestEnv();
  const workers = await env.startWorkers();
  const { commit, workflowsDirty } = gitInfo();
  const recordedAt = new Date().toISOString();
  const entries: HistoryEntry[] = [];
  try {
    const repos = exampleRepos().slice(0, 2).map((r) => ({ path: r.path }));
    const id = opts.roundOnly ? `record-${opts.roundOnly}` : 'record-campaign';
    const cfg = parseConfig(opts.roundOnly
      ? { repos: repos.slice(0, 1), steps: 1, rounds: 1, solves: 2, solverTestRuns: 4, injectorCandidates: 4, strategies: ['direct'], higherOrder: { enabled: false } }
      : {
        // Enough solver budget that some attempts keep a partial (wrong) patch, which becomes a pooled higher-order bug.
        repos, steps: 3, rounds: 2, solves: 2, solverTestRuns: 16, injectorCandidates: 4, strategies: ['removal', 'history', 'direct'],
        // Every later round whose repository has a pooled higher-order bug draws it.
        higherOrder: { enabled: true, perRound: 1, maxOrder: 2, drawFraction: 1 },
        continueAsNewEvery: 1,
      });
    const h: WorkflowHandle<typeof campaignWorkflow> = await env.client.workflow.start(campaignWorkflow, {
      workflowId: id, taskQueue: QUEUES.control, args: [initialState(id, cfg)],
    });
    if (!opts.roundOnly) {
      // A pause/resume pair and status queries while the first run works (the pause holds the campaign before a step).
      await h.signal(pauseSignal);
      await waitFor('the pause to show in status', async () => ((await h.query(statusQuery)).paused ? true : null));
      await new Promise((r) => setTimeout(r, 2000));
      await h.signal(resumeSignal);
      await waitFor('the resume to show in status', async () => ((await h.query(statusQuery)).paused ? null : true));
    }
    const final = await h.result();
    console.log(`campaign ${id}: step ${final.step}, rounds done ${final.roundsDone}, failed ${final.roundsFailed}, pool ${final.poolSize}`);

    const write = (file: string, history: History, e: Omit<HistoryEntry, 'file' | 'commit' | 'workflowsDirty' | 'recordedAt' | 'events' | 'bytes'>) => {
      const json = historyToJson(history);
      writeFileSync(path.join(opts.out, file), json + '\n');
      entries.push({ file, ...e, commit, workflowsDirty, recordedAt, events: history.events?.length ?? 0, bytes: statSync(path.join(opts.out, file)).size });
    };
    mkdirSync(opts.out, { recursive: true });
    const runs = await campaignRuns(env, id);
    const kinds = new Set<string>();
    for (const [k, run] of runs.entries()) {
      if (!opts.roundOnly) {
        const last = run.history.events?.at(-1);
        const how = last?.workflowExecutionContinuedAsNewEventAttributes ? 'continued as new' : 'completed';
        write(`campaign-run${k + 1}.json`, run.history, {
          workflowType: 'campaignWorkflow', workflowId: id, runId: run.runId, note: `campaign run ${k + 1} of ${runs.length} (${how})`,
        });
      }
      for (const child of childRuns(run.history)) {
        const handle = env.client.workflow.getHandle(child.workflowId, child.runId);
        const result = (await handle.result()) as { outcome: string; order: number };
        const [, step, round] = child.workflowId.split('/');
        const pooled = result.order > 1 ? `, pooled order-${result.order} bug` : '';
        // A representative set: the first round of each kind (outcome, injected or pooled), unless --all-rounds.
        const kind = `${result.outcome}${pooled}`;
        if (!opts.roundOnly && !opts.allRounds && kinds.has(kind)) continue;
        kinds.add(kind);
        write(opts.roundOnly ? `${opts.roundOnly}.json` : `round-s${step}-r${round}.json`, await handle.fetchHistory(), {
          workflowType: 'roundWorkflow', workflowId: child.workflowId, runId: child.runId,
          note: `round ${step}/${round}: ${result.outcome}${pooled}`, outcome: result.outcome,
        });
        if (opts.roundOnly) break;
      }
    }
    if (!opts.roundOnly) {
      // `ssr replay` of a solved episode, from the checks and from grading: the replay workflow's two paths.
      const solved = (await listEpisodes(env.runtime.store, id)).find((e) => e.attempts.length > 0 && e.checks.length > 0);
      if (!solved) throw new Error('no episode of the campaign reached the solver: nothing to replay');
      for (const from of ['check', 'grade'] as const) {
        const rh = await startReplay(env.client, await prepareReplay(env.client, env.runtime.store, solved.id, from));
        const report = await rh.result();
        const d = await rh.describe();
        write(`replay-${from}.json`, await rh.fetchHistory(), {
          workflowType: 'replayWorkflow', workflowId: rh.workflowId, runId: d.runId,
          note: `replay of ${solved.id} from ${from}: ${report.same ? 'reproduced' : `differs (${report.differences.join('; ')})`}`, outcome: String(report.replayed.outcome),
        });
      }
    }
  } finally {
    await workers.stop();
    // stop() removes the environment's home.
    await env.stop();
  }

  if (opts.roundOnly) {
    writeFileSync(path.join(opts.out, `${opts.roundOnly}.index.json`), JSON.stringify(entries, null, 2) + '\n');
  } else {
    const indexFile = path.join(opts.out, 'index.json');
    const old: HistoryIndex | null = existsSync(indexFile) ? JSON.parse(readFileSync(indexFile, 'utf8')) as HistoryIndex : null;
    const kept = (old?.histories ?? []).filter((e) => e.fixture);
    for (const e of old?.histories ?? []) {
      if (!e.fixture && !entries.some((n) => n.file === e.file)) rmSync(path.join(opts.out, e.file), { force: true });
    }
    const index: HistoryIndex = {
      about: 'Histories replayed by test/workflow/replay.test.ts; re-record with `npx tsx test/histories/record.ts` (fixtures are kept).',
      histories: [...entries, ...kept],
    };
    writeFileSync(indexFile, JSON.stringify(index, null, 2) + '\n');
  }
  for (const e of entries) console.log(`${e.file}\t${e.events} events\t${e.bytes} bytes\t${e.note}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const roundOnly = arg('--round-only') ?? null;
  const out = path.resolve(arg('--out') ?? RECORDED_DIR);
  record({ roundOnly, out, allRounds: process.argv.includes('--all-rounds') }).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
}
