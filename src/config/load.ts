import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
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
  const merged = { ...(doc as Record<string, unknown>), ...stripUndefined(overrides) };
  return parseConfig(merged, `config ${file}`);
}

export function resolveRepoPaths(cfg: CampaignConfig, baseDir: string): CampaignConfig {
  return { ...cfg, repos: cfg.repos.map((r) => (isImageRepo(r) ? r : { ...r, path: path.resolve(baseDir, r.path) })) };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
