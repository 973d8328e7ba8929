/** Starting, following and steering campaigns: shared by `ssr demo` and `ssr campaign ...`. */
import path from 'node:path';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, WorkflowFailedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { CampaignConfig } from '../config/schema.js';
import { campaignWorkflow, initialState, statusQuery, type CampaignStatus } from '../../workflows/campaign.js';
import { QUEUES } from '../../workflows/queues.js';
import { SA } from '../../workflows/searchAttributes.js';
import type { StepMetrics } from '../episode/types.js';
import type { Runtime } from '../runtime.js';

export function newCampaignId(prefix = 'c'): string {
  const t = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${prefix}-${t}-${Math.random().toString(36).slice(2, 6)}`;
}

export async function startCampaign(client: Client, id: string, cfg: CampaignConfig): Promise<WorkflowHandle<typeof campaignWorkflow>> {
  return client.workflow.start(campaignWorkflow, {
    workflowId: id,
    taskQueue: QUEUES.control,
    args: [initialState(id, cfg)],
    typedSearchAttributes: [{ key: SA.campaign, value: id }, { key: SA.kind, value: 'campaign' }],
  });
}

export async function isRunning(client: Client, id: string): Promise<boolean> {
  try {
    const d = await client.workflow.getHandle(id).describe();
    return d.status.name === 'RUNNING';
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return false;
    throw e;
  }
}

export class CampaignNotFoundError extends Error {
  constructor(message: string) { super(message); this.name = 'CampaignNotFoundError'; }
}

export class CampaignEndedError extends Error {
  constructor(message: string) { super(message); this.name = 'CampaignEndedError'; }
}

/** The campaign's workflow description; a campaign id Temporal does not know is refused with where to find the ids. */
export async function describeCampaign(client: Client, id: string): Promise<Awaited<ReturnType<WorkflowHandle['describe']>>> {
  try {
    return await client.workflow.getHandle(id).describe();
  } catch (e) {
    if (!(e instanceof WorkflowNotFoundError)) throw e;
    throw new CampaignNotFoundError(`no campaign '${id}' on this Temporal server (namespace ${client.options.namespace}): \`npx ssr campaign list\` shows the campaigns it and the store know`);
  }
}

export const ROW_HEADER = 'step  valid  solve  r_inject  r_solver  +higher  ep/h    policy';

export function formatRow(m: StepMetrics): string {
  const f = (x: number | null, d = 2) => (x === null ? '  -  ' : x.toFixed(d).padStart(5));
  return `${String(m.step).padStart(4)}  ${f(m.validRate)}  ${f(m.meanSolveRate)}  ${f(m.meanInjectorReward).padStart(8)}  ${f(m.meanSolverReward).padStart(8)}  ${String(m.higherOrderAdded).padStart(7)}  ${m.episodesPerHour.toFixed(0).padStart(5)}   ${m.nextVersion}`;
}

/** Polls the status query and prints one row per finished step until the campaign ends (or `stopWhen` says). */
export async function follow(client: Client, id: string, print: (line: string) => void, printed = new Set<number>()): Promise<CampaignStatus> {
  const handle = client.workflow.getHandle(id);
  let done = false;
  // The workflow's result covers continue-as-new: getHandle(id).result() follows the chain to the end.
  const result = handle.result().then((r: CampaignStatus) => { done = true; return r; }, (e: unknown) => { done = true; throw campaignFailure(id, e); });
  while (!done) {
    try {
      const st = await handle.query(statusQuery);
      for (const m of st.metrics) if (!printed.has(m.step)) { printed.add(m.step); print(formatRow(m)); }
    } catch { /* between runs of continue-as-new, or the worker is starting */ }
    await Promise.race([result, new Promise((r) => setTimeout(r, 1500))]);
  }
  const final = (await result) as CampaignStatus;
  for (const m of final.metrics) if (!printed.has(m.step)) { printed.add(m.step); print(formatRow(m)); }
  // The result, never the last query: a query in flight when the workflow ends answers after it, with done=false.
  return final;
}

export class CampaignFailedError extends Error {
  constructor(message: string, readonly campaignId: string) { super(message); this.name = 'CampaignFailedError'; }
}

/**
 * A failed campaign said in one line: the innermost cause (a RepoError's own message rather than "Workflow execution
 * failed"), where it happened (the round, the activity), and where the rest of the evidence is.
 */
export function campaignFailure(id: string, e: unknown): unknown {
  if (!(e instanceof WorkflowFailedError)) return e;
  const where: string[] = [];
  let cause: unknown = e.cause;
  let root: Error = e;
  while (cause instanceof Error) {
    if (cause instanceof ActivityFailure) where.push(`activity ${cause.activityType}`);
    else if (cause instanceof ChildWorkflowFailure) where.push(`${cause.workflowType} ${cause.execution.workflowId}`);
    root = cause;
    cause = (cause as Error & { cause?: unknown }).cause;
  }
  const kind = root instanceof ApplicationFailure && root.type ? `${root.type}: ` : '';
  return new CampaignFailedError(
    `campaign ${id} failed${where.length ? ` in ${where.join(' > ')}` : ''}: ${kind}${root.message}` +
    ` (its episodes: \`npx ssr episodes list --campaign ${id}\`)`, id);
}

export function whereThingsAre(rt: Runtime, id: string): string[] {
  return [
    `campaign id:      ${id}`,
    `episode records:  ${path.join(rt.store.root, 'episodes', id)}/<step>/<round>.json`,
    `artifacts:        ${path.join(rt.store.root, 'artifacts')}/<hash>/`,
    `metrics:          ${path.join(rt.store.root, 'campaigns', id, 'metrics.jsonl')}`,
    `policy versions:  ${path.join(rt.store.root, 'policies', id)}/<step>.onnx (an llm policy: <step>.json)`,
    `logs and blobs:   ${path.join(rt.store.root, 'blobs')} (referenced from the episode records), ${path.join(rt.home, 'logs')}`,
  ];
}
