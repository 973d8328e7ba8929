import type { Store } from './store.js';
import type { EpisodeRecord, ReplayReport, StepMetrics } from '../episode/types.js';
import { writeFileAtomic } from './fsutil.js';

/** Episode ids are `<campaign>/<step>/<round>`: the record lives at the same path under episodes/. */
export async function putEpisode(store: Store, rec: EpisodeRecord): Promise<string> {
  return store.putJson(`episodes/${rec.id}.json`, rec);
}

export async function getEpisode(store: Store, id: string): Promise<EpisodeRecord | null> {
  return store.getJson<EpisodeRecord>(`episodes/${id}.json`);
}

export async function listEpisodes(store: Store, campaign: string): Promise<EpisodeRecord[]> {
  const out: EpisodeRecord[] = [];
  for (const step of await store.list(`episodes/${campaign}`)) {
    for (const f of await store.list(`episodes/${campaign}/${step}`)) {
      if (!f.endsWith('.json')) continue;
      const r = await store.getJson<EpisodeRecord>(`episodes/${campaign}/${step}/${f}`);
      if (r) out.push(r);
    }
  }
  return out.sort((a, b) => a.step - b.step || a.round - b.round);
}

export async function putStepMetrics(store: Store, campaign: string, m: StepMetrics): Promise<void> {
  await store.putJson(`campaigns/${campaign}/steps/${String(m.step).padStart(5, '0')}.json`, m);
  // metrics.jsonl is rebuilt whole from the per-step files, so a crash between steps never leaves a torn line.
  const lines: string[] = [];
  for (const f of await store.list(`campaigns/${campaign}/steps`)) {
    const s = await store.getJson<StepMetrics>(`campaigns/${campaign}/steps/${f}`);
    if (s) lines.push(JSON.stringify(s));
  }
  await writeFileAtomic(store.p(`campaigns/${campaign}/metrics.jsonl`), lines.join('\n') + '\n');
}

export async function listStepMetrics(store: Store, campaign: string): Promise<StepMetrics[]> {
  const out: StepMetrics[] = [];
  for (const f of await store.list(`campaigns/${campaign}/steps`)) {
    const s = await store.getJson<StepMetrics>(`campaigns/${campaign}/steps/${f}`);
    if (s) out.push(s);
  }
  return out;
}

/** Replays live beside their episode: replays/<episode id>/<replay started at>.json; never under episodes/. */
export const replayKey = (r: Pick<ReplayReport, 'episodeId' | 'startedAt'>) => `replays/${r.episodeId}/${r.startedAt.replace(/[:.]/g, '-')}.json`;

export async function putReplay(store: Store, r: ReplayReport): Promise<string> {
  return store.putJson(replayKey(r), r);
}

export async function listReplays(store: Store, episodeId: string): Promise<ReplayReport[]> {
  const out: ReplayReport[] = [];
  for (const f of await store.list(`replays/${episodeId}`)) {
    const r = await store.getJson<ReplayReport>(`replays/${episodeId}/${f}`);
    if (r) out.push(r);
  }
  return out;
}
