import { readFileSync } from 'node:fs';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime as TemporalRuntime, type LogEntry, type NativeConnectionOptions } from '@temporalio/worker';
import { searchAttributes, temporalTarget, type TemporalTarget } from './config.js';
import protos from '@temporalio/proto';

const { temporal } = protos;

function tlsOptions(t: TemporalTarget) {
  if (!t.tls) return undefined;
  return {
    serverNameOverride: t.tls.serverName,
    serverRootCACertificate: t.tls.caPath ? readFileSync(t.tls.caPath) : undefined,
    clientCertPair: t.tls.certPath && t.tls.keyPath ? { crt: readFileSync(t.tls.certPath), key: readFileSync(t.tls.keyPath) } : undefined,
  };
}

export async function connectClient(t: TemporalTarget = temporalTarget()): Promise<Client> {
  const opts: ConnectionOptions = { address: t.address, tls: tlsOptions(t), apiKey: t.apiKey ?? undefined, connectTimeout: '5s' };
  const connection = await Connection.connect(opts);
  return new Client({ connection, namespace: t.namespace });
}

let loggerInstalled = false;
const NOISE = /No workflows registered|No Nexus services registered|Worker state changed/;

/**
 * The SDK logs every worker state change; a campaign's own rows are what a user reads, so warnings and errors only
 * (SSR_TEMPORAL_LOG=INFO or DEBUG for more). Must run before the first NativeConnection creates the runtime.
 */
function quietLogs(): void {
  if (loggerInstalled) return;
  loggerInstalled = true;
  const level = (process.env.SSR_TEMPORAL_LOG as 'INFO' | 'DEBUG' | undefined) ?? 'WARN';
  const base = new DefaultLogger(level);
  try {
    TemporalRuntime.install({
      logger: new DefaultLogger(level, (e: LogEntry) => { if (level !== 'WARN' || !NOISE.test(e.message)) base.log(e.level, e.message, e.meta); }),
    });
  } catch { /* already installed by the embedding process */ }
}

export async function connectWorker(t: TemporalTarget = temporalTarget()): Promise<NativeConnection> {
  quietLogs();
  const opts: NativeConnectionOptions = { address: t.address, tls: tlsOptions(t), apiKey: t.apiKey ?? undefined };
  return NativeConnection.connect(opts);
}

const TYPE: Record<string, protos.temporal.api.enums.v1.IndexedValueType> = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  Int: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  Double: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
  Bool: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  Datetime: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
  Text: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
};

/** Registers the search attributes of temporal-config/ on any server (idempotent: only missing ones are added). */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<string[]> {
  const want = searchAttributes();
  const have = await client.connection.operatorService.listSearchAttributes({ namespace });
  const existing = new Set(Object.keys(have.customAttributes ?? {}));
  const missing = Object.entries(want).filter(([k]) => !existing.has(k));
  if (missing.length === 0) return [];
  await client.connection.operatorService.addSearchAttributes({
    namespace, searchAttributes: Object.fromEntries(missing.map(([k, v]) => [k, TYPE[v]])),
  });
  return missing.map(([k]) => k);
}
