/**
 * `ssr campaign list`: campaign workflows from Temporal's visibility (workflow type campaignWorkflow, one row per
 * workflow id across its continue-as-new runs), with step and policy from the status query (running) or the result
 * (completed), plus campaigns the store knows and the server does not (a reset server, another machine's store).
 */
import type { Command } from 'commander';
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { Store } from '../store/store.js';
import { listStepMetrics } from '../store/records.js';
import { createRuntime } from '../runtime.js';
import { statusQuery, type CampaignState, type CampaignStatus } from '../../workflows/campaign.js';
import { openVisibility, table, withDeadline } from './ops.js';

export const CAMPAIGNS_QUERY = `WorkflowType = 'campaignWorkflow'`;

export interface CampaignRow {
  id: string;
  /** The workflow's status (RUNNING, COMPLETED, ... of its newest run), or `store-only`. */
  status: string;
  /** When the campaign's first run started; for a store-only campaign, its first episode's start. */
  startTime: string | null;
  closeTime: string | null;
  /** Steps finished, and of how many (null when unknown). */
  step: number | null;
  steps: number | null;
  policyVersion: string | null;
  roundsDone: number | null;
  roundsFailed: number | null;
  paused: boolean | null;
  /** Where step and policy come from: the status query, the result, the run's input, or the store's step metrics. */
  stepFrom: 'query' | 'result' | 'input' | 'store' | null;
  /** Episode records and step metrics in the store. */
  episodes: number;
  stepsRecorded: number;
  source: 'temporal+store' | 'temporal' | 'store';
}

interface Runs { id: string; first: WorkflowExecutionInfo; last: WorkflowExecutionInfo; runs: number }

async function visibleCampaigns(client: Client): Promise<Map<string, Runs>> {
  const byId = new Map<string, Runs>();
  for await (const w of client.workflow.list({ query: CAMPAIGNS_QUERY })) {
    const r = byId.get(w.workflowId);
    if (!r) byId.set(w.workflowId, { id: w.workflowId, first: w, last: w, runs: 1 });
    else {
      r.runs++;
      if (w.startTime < r.first.startTime) r.first = w;
      if (w.startTime > r.last.startTime) r.last = w;
    }
  }
  return byId;
}

/** The state a run started from (its first history event's input): steps and policy when no worker answers. */
async function runInput(client: Client, w: WorkflowExecutionInfo): Promise<CampaignState | null> {
  const res = await client.workflowService.getWorkflowExecutionHistory({
    namespace: client.options.namespace, execution: { workflowId: w.workflowId, runId: w.runId }, maximumPageSize: 1,
  });
  const p = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0];
  return p ? client.options.loadedDataConverter.payloadConverter.fromPayload<CampaignState>(p) : null;
}

async function storeCounts(store: Store, id: string): Promise<{ episodes: number; stepsRecorded: number; firstStart: string | null }> {
  let episodes = 0;
  for (const s of await store.list(`episodes/${id}`)) episodes += (await store.list(`episodes/${id}/${s}`)).filter((f) => f.endsWith('.json')).length;
  const steps = await listStepMetrics(store, id);
  let firstStart: string | null = null;
  const first = (await store.list(`episodes/${id}`)).sort((a, b) => Number(a) - Number(b))[0];
  if (first !== undefined) {
    const f = (await store.list(`episodes/${id}/${first}`)).find((n) => n.endsWith('.json'));
    if (f) firstStart = (await store.getJson<{ startedAt?: string }>(`episodes/${id}/${first}/${f}`))?.startedAt ?? null;
  }
  return { episodes, stepsRecorded: steps.length, firstStart };
}

export interface CampaignListResult { rows: CampaignRow[]; warnings: string[] }

/** Every campaign Temporal or the store knows, newest first. `queryMs` bounds each status query. */
export async function listCampaignRows(client: Client | null, store: Store, opts: { queryMs?: number } = {}): Promise<CampaignListResult> {
  const warnings: string[] = [];
  const rows = new Map<string, CampaignRow>();
  let visible = new Map<string, Runs>();
  if (client) {
    try {
      visible = await visibleCampaigns(client);
    } catch (e) {
      warnings.push(`the visibility query failed (${(e as Error).message}); listing campaigns from the store ${store.root} alone`);
    }
  }
  const inStore = new Set([...(await store.list('campaigns')), ...(await store.list('episodes'))]);
  for (const [id, r] of visible) {
    const counts = await storeCounts(store, id);
    const row: CampaignRow = {
      id, status: r.last.status.name, startTime: r.first.startTime.toISOString(), closeTime: r.last.closeTime?.toISOString() ?? null,
      step: null, steps: null, policyVersion: null, roundsDone: null, roundsFailed: null, paused: null, stepFrom: null,
      episodes: counts.episodes, stepsRecorded: counts.stepsRecorded, source: inStore.has(id) ? 'temporal+store' : 'temporal',
    };
    const fromStatus = (st: CampaignStatus, from: CampaignRow['stepFrom']) => {
      Object.assign(row, { step: st.step, steps: st.steps, policyVersion: st.policyVersion, roundsDone: st.roundsDone, roundsFailed: st.roundsFailed, paused: st.paused, stepFrom: from });
    };
    const h = client!.workflow.getHandle(id);
    try {
      if (r.last.status.name === 'RUNNING') fromStatus(await withDeadline(client!, opts.queryMs ?? 3000, () => h.query(statusQuery)), 'query');
      else if (r.last.status.name === 'COMPLETED') fromStatus(await withDeadline(client!, opts.queryMs ?? 3000, () => h.result()), 'result');
    } catch (e) {
      if (r.last.status.name === 'RUNNING') warnings.push(`campaign ${id}: no worker answered the status query (${(e as Error).message.split('\n')[0]}); step from its run's input`);
    }
    if (row.stepFrom === null) {
      try {
        const st = await runInput(client!, r.last);
        if (st) Object.assign(row, { step: Math.max(st.step, counts.stepsRecorded), steps: st.cfg.steps, policyVersion: st.policyVersion, roundsDone: st.roundsDone, roundsFailed: st.roundsFailed, paused: st.paused, stepFrom: 'input' });
      } catch { /* history gone (retention): the store's figures stand */ }
    }
    if (row.stepFrom === null && counts.stepsRecorded) Object.assign(row, { step: counts.stepsRecorded, stepFrom: 'store' });
    rows.set(id, row);
  }
  for (const id of inStore) {
    if (rows.has(id)) continue;
    const counts = await storeCounts(store, id);
    const metrics = await listStepMetrics(store, id);
    rows.set(id, {
      id, status: 'store-only', startTime: counts.firstStart, closeTime: null, step: counts.stepsRecorded, steps: null,
      policyVersion: metrics.at(-1)?.nextVersion ?? null, roundsDone: null, roundsFailed: null, paused: null, stepFrom: 'store',
      episodes: counts.episodes, stepsRecorded: counts.stepsRecorded, source: 'store',
    });
  }
  const out = [...rows.values()].sort((a, b) => (b.startTime ?? '').localeCompare(a.startTime ?? '') || a.id.localeCompare(b.id));
  return { rows: out, warnings };
}

export function formatCampaignTable(rows: CampaignRow[]): string[] {
  return table(
    ['ID', 'STATUS', 'STARTED', 'STEP', 'POLICY', 'EPISODES', 'SOURCE'],
    rows.map((r) => [
      r.id, r.status + (r.paused ? ' (paused)' : ''), r.startTime ? r.startTime.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-',
      `${r.step ?? '?'}/${r.steps ?? '?'}`, r.policyVersion ?? '-', String(r.episodes), r.source,
    ]),
  );
}

/** Registers `campaign list` on the `campaign` command. */
export function addCampaignList(campaign: Command): void {
  campaign.command('list')
    .description('campaigns known to Temporal or the store, newest first')
    .option('--json', 'an array of objects')
    .action(async (o: { json?: boolean }) => {
      const rt = createRuntime();
      const vis = await openVisibility();
      try {
        if (!vis.client) process.stderr.write(`ssr: warning: Temporal at ${vis.where} is unreachable (${vis.error}); listing campaigns from the store ${rt.store.root} alone\n`);
        const r = await listCampaignRows(vis.client, rt.store);
        for (const w of r.warnings) process.stderr.write(`ssr: warning: ${w}\n`);
        if (o.json) process.stdout.write(JSON.stringify(r.rows, null, 2) + '\n');
        else if (r.rows.length === 0) process.stderr.write('no campaigns\n');
        else for (const l of formatCampaignTable(r.rows)) process.stdout.write(l + '\n');
      } finally {
        await vis.close();
      }
    });
}
