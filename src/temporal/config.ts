import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface DevServerConfig {
  namespace: string; port: number; uiPort: number; logLevel: string; dynamicConfig: Record<string, unknown>;
  /** WAL with synchronous=normal: survives a crash of any process (not a power cut) at a fraction of the fsyncs. */
  sqlitePragmas?: Record<string, string>;
}

export function devServerConfig(): DevServerConfig {
  return JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'temporal-config', 'dev-server.json'), 'utf8')) as DevServerConfig;
}

export type SearchAttributeTypeName = 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'Text';

export function searchAttributes(): Record<string, SearchAttributeTypeName> {
  return JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'temporal-config', 'search-attributes.json'), 'utf8')) as Record<string, SearchAttributeTypeName>;
}

/** Where ssr keeps its state (the store, sandboxes, the Temporal database, logs): $SSR_HOME, else ./.ssr. */
export function stateDirOf(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.SSR_HOME ?? path.join(process.cwd(), '.ssr'));
}

/**
 * The port of a state directory's embedded dev server: the one it recorded in `temporal/port` (chosen when the
 * default port was held by another state directory's server), else the default. Each home keeps its own server, so
 * that the workers of two homes never take each other's tasks from the same queues.
 */
export function homeDevPort(home: string, dev: DevServerConfig = devServerConfig()): number {
  const file = path.join(home, 'temporal', 'port');
  let p = NaN;
  try { p = Number(readFileSync(file, 'utf8').trim()); } catch { /* none recorded: the default */ }
  return Number.isInteger(p) && p > 0 && p < 65536 ? p : dev.port;
}

/** Where to reach Temporal: the environment first, then the embedded dev server of the state directory. */
export interface TemporalTarget {
  address: string;
  namespace: string;
  tls: { certPath?: string; keyPath?: string; caPath?: string; serverName?: string } | null;
  apiKey: string | null;
}

export function temporalTarget(env: NodeJS.ProcessEnv = process.env, home: string = stateDirOf(env)): TemporalTarget {
  const dev = devServerConfig();
  const tlsOn = !!(env.TEMPORAL_TLS_CERT || env.TEMPORAL_TLS_CA || env.TEMPORAL_TLS === '1' || env.TEMPORAL_API_KEY);
  return {
    address: env.TEMPORAL_ADDRESS ?? `127.0.0.1:${homeDevPort(home, dev)}`,
    namespace: env.TEMPORAL_NAMESPACE ?? dev.namespace,
    tls: tlsOn ? { certPath: env.TEMPORAL_TLS_CERT, keyPath: env.TEMPORAL_TLS_KEY, caPath: env.TEMPORAL_TLS_CA, serverName: env.TEMPORAL_TLS_SERVER_NAME } : null,
    apiKey: env.TEMPORAL_API_KEY ?? null,
  };
}
