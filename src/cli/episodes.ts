/**
 * `ssr episodes list|show`: episodes from Temporal's visibility (the round workflows' search attributes) joined with
 * the store's episode records. Visibility knows what is running; the store knows everything about what finished.
 * Without a server, the store alone answers (with a warning).
 */
import { stat } from 'node:fs/promises';
import { Command } from 'commander';
import { WorkflowNotFoundError, type Client, type WorkflowExecutionInfo } from '@temporalio/client';
import type { Store, BlobRef } from '../store/store.js';
import { getEpisode, listEpisodes } from '../store/records.js';
import type { AttemptRecord, EpisodeRecord } from '../episode/types.js';
import type { RejectedEdits } from '../episode/grade.js';
import { ARTIFACT_FILES, type ArtifactManifest } from '../artifact/artifact.js';
import { createRuntime } from '../runtime.js';
import { SA } from '../../workflows/searchAttributes.js';
import { fmtNum, isBlobRef, openVisibility, quoteValue, refPath, table, type RefPath } from './ops.js';

// ---------------------------------------------------------------------------------------------------------------
// Filters and the visibility query

export interface EpisodeFilter { campaign?: string; step?: number; outcome?: string; repo?: string }

/** How an `--outcome` value matches: a class is a prefix; `running` and `round-failed` come from the workflow. */
export type OutcomeMatch =
  | { kind: 'exact'; value: string }
  | { kind: 'prefix'; value: string }
  | { kind: 'running' }
  | { kind: 'round-failed' };

export const OUTCOME_CLASSES: Record<string, OutcomeMatch> = {
  solved: { kind: 'prefix', value: 'solved-' },
  invalid: { kind: 'prefix', value: 'invalid:' },
  'inject-failed': { kind: 'prefix', value: 'inject-failed:' },
  'infra-error': { kind: 'exact', value: 'infra-error' },
  running: { kind: 'running' },
  'round-failed': { kind: 'round-failed' },
};

const EXACT = ['solved-some', 'solved-all', 'solved-none', 'infra-error'];
const PREFIXES = ['invalid:', 'inject-failed:'];

export class UsageError extends Error {
  constructor(message: string) { super(message); this.name = 'UsageError'; }
}

/**
 * `solved`, `invalid`, `inject-failed`, `infra-error`, `running`, `round-failed` are classes; a value ending in `:`
 * or `*` is a prefix (`invalid:weakening:`); anything else is an exact outcome (`invalid:bug-validity:bug-breaks-nothing`).
 */
export function parseOutcome(s: string): OutcomeMatch {
  const v = s.trim();
  if (OUTCOME_CLASSES[v]) return OUTCOME_CLASSES[v];
  const known = (x: string) => [...EXACT, ...PREFIXES, 'solved-'].some((k) => k.startsWith(x) || x.startsWith(k));
  if (v.endsWith('*') || v.endsWith(':')) {
    const prefix = v.replace(/\*$/, '');
    if (prefix && known(prefix)) return { kind: 'prefix', value: prefix };
  } else if (EXACT.includes(v) || PREFIXES.some((p) => v.startsWith(p) && v.length > p.length)) {
    return { kind: 'exact', value: v };
  }
  throw new UsageError(`unknown outcome '${s}': one of ${Object.keys(OUTCOME_CLASSES).join(', ')}, an exact outcome `
    + `(solved-some, solved-all, solved-none, invalid:<check>:<code>, inject-failed:<code>, infra-error) or a prefix ending in ':' or '*'`);
}

export function outcomeMatches(outcome: string, m: OutcomeMatch): boolean {
  switch (m.kind) {
    case 'exact': return outcome === m.value;
    case 'prefix': return outcome.startsWith(m.value);
    case 'running': return outcome === 'running';
    case 'round-failed': return outcome === 'round-failed';
  }
}

const CLOSED_NOT_COMPLETED = "ExecutionStatus IN ('Failed', 'Terminated', 'TimedOut', 'Canceled')";

/**
 * The visibility query of the round workflows that may match the filter. Values the server cannot match reliably
 * (see quoteValue) are left out: the rows are always filtered again here, so the query only narrows.
 */
export function episodesQuery(f: EpisodeFilter): string {
  const parts = [`WorkflowType = 'roundWorkflow'`];
  const eq = (attr: string, v: string | undefined) => {
    if (v === undefined) return;
    const q = quoteValue(v);
    if (q !== null) parts.push(`${attr} = ${q}`);
  };
  eq(SA.campaign.name, f.campaign);
  if (f.step !== undefined) {
    if (!Number.isSafeInteger(f.step) || f.step < 0) throw new UsageError(`--step must be a whole number, not ${f.step}`);
    parts.push(`${SA.step.name} = ${f.step}`);
  }
  eq(SA.repo.name, f.repo);
  if (f.outcome !== undefined) {
    const m = parseOutcome(f.outcome);
    if (m.kind === 'running') parts.push(`ExecutionStatus = 'Running'`);
    else if (m.kind === 'round-failed') parts.push(CLOSED_NOT_COMPLETED);
    else {
      const q = quoteValue(m.value);
      // A running round has no outcome yet, but its record may already be written: the store side covers it.
      if (q !== null) parts.push(`${SA.outcome.name} ${m.kind === 'exact' ? '=' : 'STARTS_WITH'} ${q}`);
    }
  }
  return parts.join(' AND ');
}

// ---------------------------------------------------------------------------------------------------------------
// Listing

export interface AttemptSummary { attempt: number; success: boolean; stop: string; failure: string | null; reward: number }

export interface EpisodeRow {
  id: string;
  campaign: string;
  step: number;
  round: number;
  repo: string;
  strategy: string | null;
  order: number | null;
  outcome: string;
  reason: string | null;
  /** The round workflow's status (RUNNING, COMPLETED, ...), null when Temporal did not say. */
  status: string | null;
  solveRate: number | null;
  injectorReward: number | null;
  solverRewards: number[];
  attempts: AttemptSummary[];
  policyVersion: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  /** Where the row comes from: a record and its workflow, a record alone (server gone or reset), a workflow alone. */
  source: 'temporal+store' | 'store' | 'temporal';
}

export function matchesFilter(r: EpisodeRow, f: EpisodeFilter): boolean {
  if (f.campaign !== undefined && r.campaign !== f.campaign) return false;
  if (f.step !== undefined && r.step !== f.step) return false;
  if (f.repo !== undefined && r.repo !== f.repo) return false;
  if (f.outcome !== undefined && !outcomeMatches(r.outcome, parseOutcome(f.outcome))) return false;
  return true;
}

const attemptSummary = (a: AttemptRecord): AttemptSummary => ({ attempt: a.attempt, success: a.success, stop: a.stop, failure: a.failure, reward: a.reward });

function rowFromRecord(e: EpisodeRecord, w: Pick<WorkflowExecutionInfo, 'status'> | null): EpisodeRow {
  return {
    id: e.id, campaign: e.campaignId, step: e.step, round: e.round, repo: e.repo, strategy: e.strategy, order: e.order,
    outcome: e.outcome, reason: e.reason, status: w?.status.name ?? null, solveRate: e.solveRate, injectorReward: e.injectorReward,
    solverRewards: e.attempts.map((a) => a.reward), attempts: e.attempts.map(attemptSummary), policyVersion: e.policyVersion,
    startedAt: e.startedAt || null, finishedAt: e.finishedAt || null, source: w ? 'temporal+store' : 'store',
  };
}

/** An episode Temporal knows and the store does not (yet): running, or a round that ended without its record. */
type WorkflowFacts = Pick<WorkflowExecutionInfo, 'workflowId' | 'typedSearchAttributes' | 'status' | 'startTime' | 'closeTime'>;

function rowFromWorkflow(w: WorkflowFacts): EpisodeRow {
  const sa = w.typedSearchAttributes;
  const parts = w.workflowId.split('/');
  const round = Number(parts.at(-1));
  const saOutcome = sa.get(SA.outcome);
  const outcome = w.status.name === 'RUNNING' ? 'running' : saOutcome ?? (w.status.name === 'COMPLETED' ? 'unrecorded' : 'round-failed');
  const strategy = sa.get(SA.strategy);
  return {
    id: w.workflowId, campaign: sa.get(SA.campaign) ?? parts.slice(0, -2).join('/'), step: sa.get(SA.step) ?? Number(parts.at(-2)),
    round: Number.isFinite(round) ? round : -1, repo: sa.get(SA.repo) ?? '?', strategy: strategy && strategy !== 'none' ? strategy : null,
    order: null, outcome, reason: null, status: w.status.name, solveRate: sa.get(SA.solveRate) ?? null, injectorReward: null,
    solverRewards: [], attempts: [], policyVersion: null, startedAt: w.startTime.toISOString(), finishedAt: w.closeTime?.toISOString() ?? null,
    source: 'temporal',
  };
}

/** Round workflows of the query, one per workflow id (the newest run when a round ran more than once). */
async function visibleRounds(client: Client, query: string): Promise<Map<string, WorkflowExecutionInfo>> {
  const byId = new Map<string, WorkflowExecutionInfo>();
  for await (const w of client.workflow.list({ query })) {
    const prev = byId.get(w.workflowId);
    if (!prev || prev.startTime < w.startTime) byId.set(w.workflowId, w);
  }
  return byId;
}

async function storeEpisodes(store: Store, campaign: string | undefined): Promise<EpisodeRecord[]> {
  const campaigns = campaign !== undefined ? [campaign] : await store.list('episodes');
  const out: EpisodeRecord[] = [];
  for (const c of campaigns) out.push(...(await listEpisodes(store, c)));
  return out;
}

export interface ListResult { rows: EpisodeRow[]; warnings: string[]; query: string | null }

/**
 * Every episode matching the filter: round workflows from visibility (when a client is given and answers) joined by
 * id with the store's records. Sorted by campaign, step, round.
 */
export async function listEpisodeRows(client: Client | null, store: Store, f: EpisodeFilter): Promise<ListResult> {
  if (f.outcome !== undefined) parseOutcome(f.outcome);
  const warnings: string[] = [];
  let visible = new Map<string, WorkflowExecutionInfo>();
  let query: string | null = null;
  if (client) {
    query = episodesQuery(f);
    try {
      visible = await visibleRounds(client, query);
    } catch (e) {
      warnings.push(`the visibility query failed (${(e as Error).message}); listing from the store ${store.root} alone`);
      query = null;
    }
  }
  const records = await storeEpisodes(store, f.campaign);
  const rows = new Map<string, EpisodeRow>();
  // Records first, whatever the visibility query said: a record is the finished episode's whole truth.
  const recordIds = new Set(records.map((r) => r.id));
  for (const e of records) rows.set(e.id, rowFromRecord(e, visible.get(e.id) ?? null));
  if (client && query !== null) {
    // The query narrowed by outcome; a record's workflow may be outside that set but still exist.
    for (const [id, w] of visible) if (!recordIds.has(id)) rows.set(id, rowFromWorkflow(w));
  }
  const out = [...rows.values()].filter((r) => matchesFilter(r, f));
  out.sort((a, b) => (a.campaign < b.campaign ? -1 : a.campaign > b.campaign ? 1 : 0) || a.step - b.step || a.round - b.round);
  return { rows: out, warnings, query };
}

const attemptsCell = (r: EpisodeRow) => (r.attempts.length ? r.attempts.map((a) => (a.success ? 'ok' : a.failure ?? 'failed')).join(',') : '-');

export function formatEpisodeTable(rows: EpisodeRow[]): string[] {
  return table(
    ['ID', 'STEP', 'REPO', 'STRATEGY', 'ORDER', 'OUTCOME', 'SOLVE', 'R_INJ', 'ATTEMPTS'],
    rows.map((r) => [r.id, String(r.step), r.repo, r.strategy ?? '-', r.order === null ? '-' : String(r.order), r.outcome,
      fmtNum(r.solveRate), fmtNum(r.injectorReward), attemptsCell(r)]),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// One episode

/** What a test log says about its run, read from the runners' own summary lines (the parser is not re-run). */
export interface LogSummary {
  bytes: number;
  lines: number;
  /** The exit code of each test-file run (`@@ssr-exit`), in order. */
  exits: number[];
  passed: number | null;
  failed: number | null;
  /** The runners' summary lines, as printed (at most 8). */
  summary: string[];
}

export function summarizeTestLog(log: string): LogSummary {
  const lines = log.split('\n');
  const exits: number[] = [];
  const summary: string[] = [];
  let passed = 0, failed = 0, counted = false;
  let goPass = 0, goFail = 0;
  // ssr's own per-test markers (the mocha reporter, the tape runner): the count where no runner summary was printed.
  let markPass = 0, markFail = 0;
  const add = (p: number, f: number) => { passed += p; failed += f; counted = true; };
  const num = (s: string, re: RegExp) => Number(re.exec(s)?.[1] ?? 0);
  for (const raw of lines) {
    const l = raw.replace(/\x1b\[[0-9;]*m/g, '').trimEnd();
    let m;
    if ((m = /^@@ssr-exit (-?\d+)/.exec(l))) { exits.push(Number(m[1])); continue; }
    if ((m = /^@@ssr-test (passed|failed) /.exec(l))) { if (m[1] === 'passed') markPass++; else markFail++; continue; }
    if (/^=+ .*\b(passed|failed|error|errors|no tests ran)\b.* in [\d.]+s.* =+$/.test(l)) {
      // pytest: "==== 28 failed, 39 passed in 0.24s ===="
      add(num(l, /(\d+) passed/), num(l, /(\d+) failed/) + num(l, /(\d+) errors?\b/));
      summary.push(l.trim());
    } else if ((m = /^# (pass|fail) (\d+)$/.exec(l))) {
      // node's test runner (TAP)
      if (m[1] === 'pass') add(Number(m[2]), 0); else add(0, Number(m[2]));
      summary.push(l.trim());
    } else if (/^Tests:\s+.*\d+ total/.test(l) || /^\s*Tests\s+.*\(\d+\)/.test(l)) {
      // jest "Tests: 1 failed, 5 passed, 6 total"; vitest "Tests  1 failed | 5 passed (6)"
      add(num(l, /(\d+) passed/), num(l, /(\d+) failed/));
      summary.push(l.trim());
    } else if ((m = /^test result: \w+\. (\d+) passed; (\d+) failed/.exec(l))) {
      add(Number(m[1]), Number(m[2]));
      summary.push(l.trim());
    } else if ((m = /^\s*(\d+) (passing|failing)\b/.exec(l))) {
      // mocha
      if (m[2] === 'passing') add(Number(m[1]), 0); else add(0, Number(m[1]));
      summary.push(l.trim());
    } else if ((m = /^@@xml <testsuite\b([^>]*)>/.exec(l))) {
      // Maven: mvn -q prints no "Tests run:" line, so the counts come from surefire's reports the script prints.
      const attr = (k: string) => Number(new RegExp(`\\b${k}="(\\d+)"`).exec(m![1]!)?.[1] ?? 0);
      const bad = attr('failures') + attr('errors');
      add(Math.max(0, attr('tests') - bad - attr('skipped')), bad);
      summary.push(`${/\bname="([^"]*)"/.exec(m[1]!)?.[1] ?? 'testsuite'}: ${attr('tests')} tests, ${bad} failed, ${attr('skipped')} skipped`);
    } else if ((m = /^\d+% tests passed, (\d+) tests? failed out of (\d+)/.exec(l))) {
      // ctest: "81% tests passed, 3 tests failed out of 16"
      add(Number(m[2]) - Number(m[1]), Number(m[1]));
      summary.push(l.trim());
    } else if ((m = /^ssr: [\w/]+ test cases: (\d+) passed, (\d+) failed/.exec(l))) {
      // the ctest runner's Catch2, doctest and GoogleTest programs, run case by case (src/repo/runners/cmake.ts)
      add(Number(m[1]), Number(m[2]));
      summary.push(l.trim());
    } else if (/^\s*--- PASS: /.test(l)) goPass++;
    else if (/^\s*--- FAIL: /.test(l)) goFail++;
    else if (/^(ok|FAIL)\s+\S+\s+(\(cached\)|[\d.]+s)/.test(l) || /^(ok|FAIL)\s+\S+\s+\[/.test(l)) summary.push(l.trim());
  }
  if (goPass || goFail) add(goPass, goFail);
  if (!counted && (markPass || markFail)) {
    add(markPass, markFail);
    summary.push(`${markPass} passed, ${markFail} failed (ssr's per-test lines)`);
  }
  return {
    bytes: Buffer.byteLength(log), lines: lines.length, exits, passed: counted ? passed : null, failed: counted ? failed : null,
    summary: summary.slice(0, 8),
  };
}

export interface FileInfo { name: string; path: string; bytes: number | null }

export interface CheckDetail {
  check: string; ok: boolean; ran: boolean; code: string | null; reason: string;
  evidence: Record<string, unknown> | null;
  logs: Record<string, RefPath>;
}

export interface AttemptDetail extends AttemptSummary {
  reason: string;
  /** Oracle test files the patch changed or deleted (dropped before grading); null for records older than the field. */
  rejectedEdits: RejectedEdits | null;
  patch: RefPath & { bytes: number | null; text?: string };
  trajectory: RefPath;
  gradeLog: (RefPath & { summary: LogSummary | null }) | null;
}

export interface EpisodeDetail {
  id: string;
  campaign: string;
  step: number | null;
  round: number | null;
  repo: string | null;
  repoPath: string | null;
  strategy: string | null;
  order: number | null;
  outcome: string;
  reason: string | null;
  policyVersion: string | null;
  /** The store's policy file of that version, when it is there (version @0 is the initial policy, never written). */
  policyFile: string | null;
  solveRate: number | null;
  injectorReward: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  wallMs: number | null;
  testRunMs: number | null;
  workflow: { status: string; runId: string; startTime: string; closeTime: string | null } | null;
  record: string | null;
  artifact: {
    hash: string; dir: string; files: FileInfo[]; manifest: ArtifactManifest | null;
    manifestFile: string; missing: boolean;
  } | null;
  parentArtifact: string | null;
  checkReport: RefPath | null;
  checks: CheckDetail[];
  attempts: AttemptDetail[];
  injectorTrajectory: RefPath | null;
  /** The injector's candidates in the order it tried them, each with why it was kept or dropped (its trajectory's list). */
  injectorTried: string[];
  /** For candidates dropped after their test runs: which line of `injectorTried`, its bug's diff and its last run's log. */
  injectorEvidence: { attempt: number; bug: RefPath | null; log: RefPath | null }[];
  higherOrderAdded: { hash: string; dir: string }[];
  /** Every file this episode names: record, artifact, blobs, logs (deduplicated, in the order above). */
  paths: string[];
  warnings: string[];
}

export class EpisodeNotFoundError extends Error {
  constructor(message: string) { super(message); this.name = 'EpisodeNotFoundError'; }
}

async function sizeOf(p: string): Promise<number | null> {
  try { return (await stat(p)).size; } catch { return null; }
}

async function readText(store: Store, ref: string): Promise<string | null> {
  if (!isBlobRef(ref)) return null;
  try { return await store.getText(ref as BlobRef); } catch { return null; }
}

interface ReportCheck { check: string; ok: boolean; ran?: boolean; code?: string; reason: string; evidence?: Record<string, unknown>; logs?: Record<string, string> }

/**
 * Everything the store and Temporal know about one episode. `withPatchText` puts each patch's text in the detail
 * (the text view); without it the patch is named by its blob path only (the JSON view).
 */
export async function showEpisodeDetail(client: Client | null, store: Store, id: string, opts: { withPatchText?: boolean; where?: string } = {}): Promise<EpisodeDetail> {
  const warnings: string[] = [];
  const rec = await getEpisode(store, id);
  let workflow: EpisodeDetail['workflow'] = null;
  let info: WorkflowFacts | null = null;
  if (client) {
    try {
      const d = await client.workflow.getHandle(id).describe();
      info = d;
      workflow = { status: d.status.name, runId: d.runId, startTime: d.startTime.toISOString(), closeTime: d.closeTime?.toISOString() ?? null };
    } catch (e) {
      if (!(e instanceof WorkflowNotFoundError)) warnings.push(`Temporal did not describe ${id}: ${(e as Error).message}`);
    }
  }
  const recordFile = store.p('episodes', `${id}.json`);
  if (!rec && !info) {
    throw new EpisodeNotFoundError(`no episode '${id}': no record at ${recordFile}`
      + (client ? ` and no workflow '${id}' on Temporal at ${opts.where ?? 'the server'}` : ` (Temporal${opts.where ? ` at ${opts.where}` : ''} was not reachable, so only the store was searched)`));
  }
  if (!rec) {
    // Known to Temporal only: running (no record yet) or ended without one.
    const r = rowFromWorkflow(info!);
    return {
      id, campaign: r.campaign, step: r.step, round: r.round, repo: r.repo, repoPath: null, strategy: r.strategy, order: null,
      outcome: r.outcome, reason: null, policyVersion: null, policyFile: null, solveRate: r.solveRate, injectorReward: null,
      startedAt: r.startedAt, finishedAt: r.finishedAt, wallMs: null, testRunMs: null, workflow, record: null, artifact: null,
      parentArtifact: null, checkReport: null, checks: [], attempts: [], injectorTrajectory: null, injectorTried: [], injectorEvidence: [], higherOrderAdded: [],
      paths: [], warnings: [...warnings, `no record at ${recordFile} yet: the store has nothing more on this episode`],
    };
  }

  let artifact: EpisodeDetail['artifact'] = null;
  if (rec.artifactHash) {
    const dir = store.p('artifacts', rec.artifactHash);
    const manifestFile = store.p('artifacts', rec.artifactHash, 'manifest.json');
    const manifest = await store.getJson<ArtifactManifest>(`artifacts/${rec.artifactHash}/manifest.json`);
    const files: FileInfo[] = [];
    for (const name of ARTIFACT_FILES) {
      const p = store.p('artifacts', rec.artifactHash, name);
      files.push({ name, path: p, bytes: await sizeOf(p) });
    }
    if (!manifest) warnings.push(`artifact ${rec.artifactHash} has no manifest at ${manifestFile}`);
    artifact = { hash: rec.artifactHash, dir, files, manifest, manifestFile, missing: !manifest };
  }

  let reportChecks: ReportCheck[] | null = null;
  if (rec.checkReportRef) {
    const text = await readText(store, rec.checkReportRef);
    if (text === null) warnings.push(`check report ${rec.checkReportRef} is missing from ${store.blobPath(rec.checkReportRef as BlobRef)}`);
    else {
      try { reportChecks = (JSON.parse(text) as { checks: ReportCheck[] }).checks ?? null; } catch { warnings.push(`check report ${rec.checkReportRef} is not JSON`); }
    }
  }
  const byName = new Map((reportChecks ?? []).map((c) => [c.check, c]));
  const checks: CheckDetail[] = (rec.checks.length ? rec.checks : reportChecks ?? []).map((c) => {
    const full = byName.get(c.check);
    return {
      check: c.check, ok: c.ok, ran: c.ran ?? full?.ran ?? true, code: c.code ?? full?.code ?? null, reason: c.reason,
      evidence: full?.evidence ?? null,
      logs: Object.fromEntries(Object.entries(full?.logs ?? {}).map(([k, v]) => [k, refPath(store, v)])),
    };
  });

  const attempts: AttemptDetail[] = [];
  for (const a of rec.attempts) {
    const patch: AttemptDetail['patch'] = { ...refPath(store, a.patchRef), bytes: isBlobRef(a.patchRef) ? await sizeOf(store.blobPath(a.patchRef)) : null };
    if (opts.withPatchText) patch.text = (await readText(store, a.patchRef)) ?? undefined;
    let gradeLog: AttemptDetail['gradeLog'] = null;
    if (a.gradeLogRef) {
      const log = await readText(store, a.gradeLogRef);
      gradeLog = { ...refPath(store, a.gradeLogRef), summary: log === null ? null : summarizeTestLog(log) };
      if (log === null) warnings.push(`grade log of attempt ${a.attempt} is missing: ${gradeLog.path}`);
    }
    attempts.push({ ...attemptSummary(a), reason: a.reason, rejectedEdits: a.rejectedEdits ?? null, patch, trajectory: refPath(store, a.trajectoryRef), gradeLog });
  }

  // The embedded policy's versions are ONNX models, an LLM policy's are JSON records.
  const m = /^(.*)@(\d+)$/.exec(rec.policyVersion);
  let policyFile: string | null = null;
  for (const ext of ['onnx', 'json']) {
    const rel = m ? `policies/${m[1]}/${m[2]}.${ext}` : null;
    if (rel && (await sizeOf(store.p(rel))) !== null) { policyFile = store.p(rel); break; }
  }

  // Why no bug came out (or how the kept one was reached) is in the injector's trajectory: an operator reads it here.
  let injectorTried: string[] = [];
  const injectorEvidence: EpisodeDetail['injectorEvidence'] = [];
  if (rec.injectorTrajectoryRef) {
    const text = await readText(store, rec.injectorTrajectoryRef);
    if (text === null) warnings.push(`injector trajectory ${rec.injectorTrajectoryRef} is missing from ${store.blobPath(rec.injectorTrajectoryRef as BlobRef)}`);
    else {
      try {
        const t = JSON.parse(text) as { attempts?: unknown; rejected?: unknown };
        if (Array.isArray(t.attempts)) injectorTried = t.attempts.filter((x): x is string => typeof x === 'string');
        // Trajectories written before the evidence was kept have no `rejected`.
        for (const c of Array.isArray(t.rejected) ? t.rejected as { attempt?: unknown; bugRef?: unknown; logRef?: unknown }[] : []) {
          if (typeof c?.attempt !== 'number') continue;
          const ref = (x: unknown) => (typeof x === 'string' ? refPath(store, x) : null);
          const e = { attempt: c.attempt, bug: ref(c.bugRef), log: ref(c.logRef) };
          for (const r of [e.bug, e.log]) if (r && (await sizeOf(r.path)) === null) warnings.push(`evidence of the injector's candidate ${c.attempt + 1} is missing: ${r.path}`);
          injectorEvidence.push(e);
        }
      } catch { warnings.push(`injector trajectory ${rec.injectorTrajectoryRef} is not JSON`); }
    }
  }

  const detail: EpisodeDetail = {
    id, campaign: rec.campaignId, step: rec.step, round: rec.round, repo: rec.repo, repoPath: rec.repoPath, strategy: rec.strategy,
    order: rec.order, outcome: rec.outcome, reason: rec.reason, policyVersion: rec.policyVersion, policyFile,
    solveRate: rec.solveRate, injectorReward: rec.injectorReward, startedAt: rec.startedAt || null, finishedAt: rec.finishedAt || null,
    wallMs: rec.wallMs, testRunMs: rec.testRunMs, workflow, record: recordFile, artifact, parentArtifact: rec.parentArtifact,
    checkReport: rec.checkReportRef ? refPath(store, rec.checkReportRef) : null, checks, attempts,
    injectorTrajectory: rec.injectorTrajectoryRef ? refPath(store, rec.injectorTrajectoryRef) : null, injectorTried, injectorEvidence,
    higherOrderAdded: rec.higherOrderAdded.map((h) => ({ hash: h, dir: store.p('artifacts', h) })),
    paths: [], warnings,
  };
  const paths = [
    recordFile, ...(artifact ? [artifact.manifestFile, ...artifact.files.map((f) => f.path)] : []),
    ...(detail.checkReport ? [detail.checkReport.path] : []), ...checks.flatMap((c) => Object.values(c.logs).map((l) => l.path)),
    ...(detail.injectorTrajectory ? [detail.injectorTrajectory.path] : []),
    ...injectorEvidence.flatMap((e) => [e.bug, e.log].flatMap((r) => (r ? [r.path] : []))),
    ...attempts.flatMap((a) => [a.patch.path, a.trajectory.path, ...(a.gradeLog ? [a.gradeLog.path] : [])]),
    ...(policyFile ? [policyFile] : []),
  ];
  detail.paths = [...new Set(paths)];
  return detail;
}

const indent = (text: string, pre = '      ') => text.replace(/\n$/, '').split('\n').map((l) => pre + l);

/** Long lists in evidence cut to their first few items for the text view (--json has them whole). */
export function compactEvidence(v: unknown, keep = 5): unknown {
  if (Array.isArray(v)) return v.length > keep ? [...v.slice(0, keep).map((x) => compactEvidence(x, keep)), `... ${v.length - keep} more`] : v.map((x) => compactEvidence(x, keep));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, compactEvidence(x, keep)]));
  return v;
}

function logSummaryLine(s: LogSummary): string {
  const counts = s.passed === null ? 'no runner summary found' : `${s.passed} passed, ${s.failed} failed`;
  const exits = s.exits.length > 1 ? `, ${s.exits.length} runs (exit ${[...new Set(s.exits)].join('/')})` : s.exits.length ? `, exit ${s.exits[0]}` : '';
  return `${counts}${exits} (${s.lines} lines, ${s.bytes} bytes)`;
}

export function formatEpisodeDetail(d: EpisodeDetail): string[] {
  const o: string[] = [];
  const kv = (k: string, v: string) => o.push(`${(k + ':').padEnd(16)}${v}`);
  kv('episode', d.id);
  kv('outcome', d.outcome + (d.reason ? `  (${d.reason})` : ''));
  kv('campaign', `${d.campaign}, step ${d.step ?? '?'}, round ${d.round ?? '?'}`);
  kv('repo', `${d.repo ?? '?'}${d.repoPath ? `  ${d.repoPath}` : ''}`);
  kv('strategy', `${d.strategy ?? '-'}, order ${d.order ?? '-'}`);
  kv('policy', `${d.policyVersion ?? '-'}${d.policyFile ? `  ${d.policyFile}` : ''}`);
  kv('solve rate', `${fmtNum(d.solveRate)}, injector reward ${fmtNum(d.injectorReward)}`);
  if (d.workflow) kv('workflow', `${d.workflow.status} (run ${d.workflow.runId}, started ${d.workflow.startTime}${d.workflow.closeTime ? `, closed ${d.workflow.closeTime}` : ''})`);
  if (d.startedAt) kv('time', `${d.startedAt} .. ${d.finishedAt ?? '?'}${d.wallMs !== null ? `, wall ${(d.wallMs / 1000).toFixed(1)} s, tests ${((d.testRunMs ?? 0) / 1000).toFixed(1)} s` : ''}`);
  if (d.record) kv('record', d.record);

  if (d.artifact) {
    o.push('', `artifact ${d.artifact.hash}`);
    o.push(`  dir       ${d.artifact.dir}`);
    for (const f of d.artifact.files) o.push(`  ${f.name.padEnd(17)} ${f.bytes === null ? 'missing' : `${f.bytes} bytes`}`);
    const m = d.artifact.manifest;
    if (m) o.push(`  manifest  strategy ${m.strategy}, order ${m.order}, parent ${m.parent ?? '-'}, policy ${m.policyVersion ?? '-'}, created by ${m.createdBy}, base ${m.baseCommit ?? '-'}`);
    else o.push(`  manifest  missing (${d.artifact.manifestFile})`);
  } else if (d.record) {
    o.push('', 'artifact        none (the injector produced no artifact)');
  }
  if (d.parentArtifact) o.push(`parent artifact ${d.parentArtifact}`);

  if (d.checks.length) {
    o.push('', `checks${d.checkReport ? `  (report ${d.checkReport.path})` : ''}`);
    for (const c of d.checks) {
      o.push(`  ${c.ok ? 'ok  ' : c.ran ? 'FAIL' : 'skip'} ${c.check.padEnd(17)} ${c.code ? `[${c.code}] ` : ''}${c.reason}`);
      if (c.evidence && Object.keys(c.evidence).length) o.push(`       evidence ${JSON.stringify(compactEvidence(c.evidence))}`);
      for (const [k, l] of Object.entries(c.logs)) o.push(`       log ${k}: ${l.path}`);
    }
  }
  if (d.injectorTrajectory) o.push('', `injector trajectory ${d.injectorTrajectory.path}`);
  if (d.injectorTried.length) {
    o.push(`injector tried ${d.injectorTried.length} candidate(s)`);
    d.injectorTried.forEach((t, k) => {
      o.push(`  - ${t}`);
      const e = d.injectorEvidence.find((x) => x.attempt === k);
      if (e?.bug) o.push(`      bug ${e.bug.path}`);
      if (e?.log) o.push(`      log ${e.log.path}`);
    });
  }

  for (const a of d.attempts) {
    o.push('', `attempt ${a.attempt}: ${a.success ? 'solved' : `failed [${a.failure ?? '?'}]`}, stop ${a.stop}, reward ${fmtNum(a.reward)}`);
    o.push(`  reason      ${a.reason}`);
    if (a.rejectedEdits) o.push(`  rejected    ${a.rejectedEdits.code}: ${a.rejectedEdits.files.join(', ')} (dropped; restored before grading)`);
    if (a.gradeLog) {
      o.push(`  tests       ${a.gradeLog.summary ? logSummaryLine(a.gradeLog.summary) : 'log missing'}`);
      // Per-file TAP counts add nothing to the totals above; other runners' summary lines are worth reading.
      for (const s of (a.gradeLog.summary?.summary ?? []).filter((l) => !/^# (pass|fail) \d+$/.test(l)).slice(0, 3)) o.push(`              ${s}`);
      o.push(`  grade log   ${a.gradeLog.path}`);
    } else o.push('  grade log   none (the patch never reached the tests)');
    o.push(`  trajectory  ${a.trajectory.path}`);
    o.push(`  patch       ${a.patch.path} (${a.patch.bytes ?? '?'} bytes)`);
    if (a.patch.text !== undefined) o.push(...(a.patch.text.trim() ? indent(a.patch.text) : ['      (empty: the solver changed nothing)']));
  }
  if (d.higherOrderAdded.length) {
    o.push('', 'higher-order bugs added');
    for (const h of d.higherOrderAdded) o.push(`  ${h.hash}  ${h.dir}`);
  }
  if (d.paths.length) {
    o.push('', 'files');
    for (const p of d.paths) o.push(`  ${p}`);
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------------------
// Commands

const write = (s: string) => process.stdout.write(s + '\n');
const warn = (s: string) => process.stderr.write(`ssr: warning: ${s}\n`);

function wholeNumber(v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`--step must be a whole number, not '${v}'`);
  return Number(v);
}

/** Registers `episodes list` and `episodes show` on the program. */
export function addEpisodeCommands(program: Command): Command {
  const episodes = program.command('episodes').description('episodes of campaigns: from Temporal and the store');
  episodes.command('list')
    .description('one row per episode (all campaigns unless --campaign), running ones included')
    .option('--campaign <id>', 'only this campaign')
    .option('--step <n>', 'only this step', wholeNumber)
    .option('--outcome <o>', `an outcome or a class: ${Object.keys(OUTCOME_CLASSES).join(', ')}`)
    .option('--repo <name>', 'only this repository')
    .option('--json', 'an array of objects')
    .action(async (o: { campaign?: string; step?: number; outcome?: string; repo?: string; json?: boolean }) => {
      const f: EpisodeFilter = { campaign: o.campaign, step: o.step, outcome: o.outcome, repo: o.repo };
      if (f.outcome !== undefined) parseOutcome(f.outcome);
      const rt = createRuntime();
      const vis = await openVisibility();
      try {
        if (!vis.client) warn(`Temporal at ${vis.where} is unreachable (${vis.error}); listing from the store ${rt.store.root} alone (running episodes are not shown)`);
        const r = await listEpisodeRows(vis.client, rt.store, f);
        for (const w of r.warnings) warn(w);
        if (o.json) write(JSON.stringify(r.rows, null, 2));
        else if (r.rows.length === 0) process.stderr.write('no episodes match\n');
        else for (const l of formatEpisodeTable(r.rows)) write(l);
      } finally {
        await vis.close();
      }
    });
  episodes.command('show <id>')
    .description('everything about one episode: artifact, checks with evidence, attempts with patches, logs and blob paths')
    .option('--json', 'one object (patches as blob paths)')
    .action(async (id: string, o: { json?: boolean }) => {
      const rt = createRuntime();
      const vis = await openVisibility();
      try {
        const d = await showEpisodeDetail(vis.client, rt.store, id, { withPatchText: !o.json, where: vis.where });
        for (const w of d.warnings) warn(w);
        if (o.json) write(JSON.stringify(d, null, 2));
        else for (const l of formatEpisodeDetail(d)) write(l);
      } finally {
        await vis.close();
      }
    });
  return episodes;
}
