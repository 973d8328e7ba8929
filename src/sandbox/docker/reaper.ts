/**
 * Removes what a crash left behind. Everything ssr creates in the engine carries labels (engine.ts): a container
 * whose owner process on this host is gone, or whose episode is no longer running, is a leftover; so is a
 * snapshot image whose episode is over, and a build or probe container older than an hour.
 */
import { hostname } from 'node:os';
import type Docker from 'dockerode';
import { docker, LABEL } from './engine.js';

export interface ReapOptions {
  engine?: Docker;
  /** Whether an episode (its round workflow) still runs; without it, episodes are not consulted. */
  isEpisodeLive?: (episodeId: string) => Promise<boolean>;
  /** Build and probe containers younger than this are left alone (another process may be using them). */
  buildGraceMs?: number;
}

export interface ReapReport { containers: string[]; images: string[] }

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Owner "host:pid" names a process of this host that no longer exists. */
export function ownerGone(owner: string | undefined, host = hostname()): boolean {
  if (!owner) return false;
  const i = owner.lastIndexOf(':');
  if (i < 0 || owner.slice(0, i) !== host) return false;
  const pid = Number(owner.slice(i + 1));
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid);
}

export async function reap(o: ReapOptions = {}): Promise<ReapReport> {
  const d = o.engine ?? docker();
  const grace = o.buildGraceMs ?? 3_600_000;
  const live = new Map<string, Promise<boolean>>();
  const episodeLive = (id: string): Promise<boolean> => {
    if (!o.isEpisodeLive) return Promise.resolve(true);
    let p = live.get(id);
    if (!p) {
      // An unanswerable question (server down) keeps the object: removing a live episode's sandbox is worse.
      p = o.isEpisodeLive(id).catch(() => true);
      live.set(id, p);
    }
    return p;
  };
  const report: ReapReport = { containers: [], images: [] };
  const filters = { label: [`${LABEL.managed}=1`] };
  for (const c of await d.listContainers({ all: true, filters })) {
    const l = c.Labels ?? {};
    const kind = l[LABEL.kind];
    const age = Date.now() - Number(l[LABEL.created] ?? 0);
    let leftover = ownerGone(l[LABEL.owner]);
    if (!leftover && l[LABEL.episode]) leftover = !(await episodeLive(l[LABEL.episode]));
    if (!leftover && (kind === 'build' || kind === 'probe')) leftover = age > grace;
    if (!leftover) continue;
    await d.getContainer(c.Id).remove({ force: true }).then(() => report.containers.push(c.Id), () => undefined);
  }
  for (const i of await d.listImages({ filters })) {
    const l = i.Labels ?? {};
    if (l[LABEL.kind] !== 'snapshot') continue;
    // A snapshot outlives its maker (other workers' attempts start from it); only its episode's end frees it.
    let leftover = l[LABEL.episode] ? !(await episodeLive(l[LABEL.episode])) : false;
    if (!leftover && !l[LABEL.episode]) leftover = ownerGone(l[LABEL.owner]);
    if (!leftover) continue;
    await d.getImage(i.Id).remove({ force: true }).then(() => report.images.push(i.Id), () => undefined);
  }
  return report;
}

let reaperStarted = false;

/**
 * Reaps at once and then every `everyMs`, in the background, when a Docker engine answers; a machine without one
 * has nothing to reap. Only owner-based rules apply here: episode liveness needs Temporal (`ssr sandbox reap`).
 */
export function startReaper(everyMs = 300_000, log: (s: string) => void = (s) => process.stderr.write(`${s}\n`)): void {
  if (reaperStarted) return;
  reaperStarted = true;
  const once = async () => {
    const d = docker();
    try {
      await d.ping();
    } catch {
      return;
    }
    const r = await reap({ engine: d }).catch(() => null);
    if (r && (r.containers.length || r.images.length)) log(`ssr reaper: removed ${r.containers.length} containers and ${r.images.length} snapshot images left by dead workers`);
  };
  void once();
  setInterval(() => void once(), everyMs).unref();
}
