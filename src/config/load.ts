import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { CampaignConfig, isImageRepo, type CampaignConfigInput, type RepoSpec } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) { super(message); this.name = 'ConfigError'; }
}

/** Validates a config object; every problem is named with its field path. */
export function parseConfig(input: unknown, source = 'config'): CampaignConfig {
  const r = CampaignConfig.safeParse(input);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ConfigError(`invalid campaign ${source}:\n${lines.join('\n')}`);
  }
  return withRepoNames(r.data);
}

/** Every repo gets a distinct name (episode listings and the higher-order pool are keyed by it). */
function withRepoNames(cfg: CampaignConfig): CampaignConfig {
  const seen = new Map<string, number>();
  const repos = cfg.repos.map((r) => {
    const base = r.name ?? defaultRepoName(r);
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return { ...r, name: n === 1 ? base : `${base}-${n}` };
  });
  return { ...cfg, repos };
}

/** The name a repo entry gets when the config gives none. */
export function defaultRepoName(r: RepoSpec): string {
  // myorg/proj:sha and registry:5000/team/proj@sha256:... are both "proj".
  if (isImageRepo(r)) return r.image.replace(/@.*$/, '').replace(/:[^/]*$/, '').split('/').pop() || 'image';
  const base = path.basename(path.resolve(r.path));
  // A checkout folder called "repo" says nothing: its parent names the project.
  if (['repo', 'src', 'source', 'code', 'project', 'workspace'].includes(base)) return path.basename(path.dirname(path.resolve(r.path)));
  return base;
}

/** Reads a YAML config; the caller resolves relative repo paths (against the config file's directory). */
export async function loadConfigFile(file: string, overrides: Partial<CampaignConfigInput> = {}): Promise<CampaignConfig> {
  let text: string;
  try { text = await readFile(file, 'utf8'); } catch (e) { throw new ConfigError(`cannot read config ${file}: ${(e as Error).message}`); }
  let doc: unknown;
  try { doc = YAML.parse(text); } catch (e) { throw new ConfigError(`config ${file} is not valid YAML: ${(e as Error).message}`); }
  if (doc === null || typeof doc !== 'object') throw new ConfigError(`config ${file} must be a YAML mapping`);
  // A misspelt key would otherwise be dropped in silence and its field keep its default: a campaign trained for
  // hours under settings nobody chose. Only a file a person wrote is held to this; configs recorded by earlier
  // versions (parsed again on replay) may hold keys since removed.
  const unknown = unknownKeys(CampaignConfig, doc);
  if (unknown.length) throw new ConfigError(`config ${file} has keys that are no campaign setting (the README's section \"Campaign config\" lists every one):\n${unknown.map((u) => `  ${u}`).join('\n')}`);
  const merged = { ...(doc as Record<string, unknown>), ...stripUndefined(overrides) };
  return parseConfig(merged, `config ${file}`);
}

/** The keys of `value` that `schema` does not know, each with its path and the closest known key of its object. */
export function unknownKeys(schema: z.ZodTypeAny, value: unknown, at: string[] = []): string[] {
  const s = unwrap(schema);
  if (s instanceof z.ZodArray && Array.isArray(value)) return value.flatMap((v, i) => unknownKeys(s.element as z.ZodTypeAny, v, [...at, String(i)]));
  if (s instanceof z.ZodUnion && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    // Judged by the option whose keys fit best (a repository is a path or an image).
    const options = (s.options as z.ZodTypeAny[]).map((o) => unknownKeys(o, value, at));
    return options.reduce((best, o) => (o.length < best.length ? o : best));
  }
  if (!(s instanceof z.ZodObject) || value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const shape = s.shape as Record<string, z.ZodTypeAny>;
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => {
    if (k in shape) return unknownKeys(shape[k], v, [...at, k]);
    const near = closest(k, Object.keys(shape));
    return [`${[...at, k].join('.')}: unknown${near ? ` (did you mean '${near}'?)` : ''}`];
  });
}

function unwrap(s: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (s instanceof z.ZodDefault) s = s._def.innerType as z.ZodTypeAny;
    else if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap() as z.ZodTypeAny;
    else if (s instanceof z.ZodEffects) s = s.innerType() as z.ZodTypeAny;
    else return s;
  }
}

/** The known key nearest `k` (case-insensitive edit distance), where it is near enough to be a slip. */
function closest(k: string, known: string[]): string | null {
  let best: string | null = null, bestD = Infinity;
  for (const c of known) {
    const d = editDistance(k.toLowerCase(), c.toLowerCase());
    if (d < bestD) { best = c; bestD = d; }
  }
  return bestD <= Math.max(2, Math.floor(k.length / 3)) ? best : null;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

export function resolveRepoPaths(cfg: CampaignConfig, baseDir: string): CampaignConfig {
  return { ...cfg, repos: cfg.repos.map((r) => (isImageRepo(r) ? r : { ...r, path: path.resolve(baseDir, r.path) })) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
