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

/** Where to reach Temporal: the environment first, then the embedded dev server's defaults. */
export interface TemporalTarget {
  address: string;
  namespace: string;
  tls: { certPath?: string; keyPath?: string; caPath?: string; serverName?: string } | null;
  apiKey: string | null;
}

export function temporalTarget(env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  const dev = devServerConfig();
  const tlsOn = !!(env.TEMPORAL_TLS_CERT || env.TEMPORAL_TLS_CA || env.TEMPORAL_TLS === '1' || env.TEMPORAL_API_KEY);
  return {
    address: env.TEMPORAL_ADDRESS ?? `127.0.0.1:${dev.port}`,
    namespace: env.TEMPORAL_NAMESPACE ?? dev.namespace,
    tls: tlsOn ? { certPath: env.TEMPORAL_TLS_CERT, keyPath: env.TEMPORAL_TLS_KEY, caPath: env.TEMPORAL_TLS_CA, serverName: env.TEMPORAL_TLS_SERVER_NAME } : null,
    apiKey: env.TEMPORAL_API_KEY ?? null,
  };
}
