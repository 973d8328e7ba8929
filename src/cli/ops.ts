/**
 * Shared pieces of the read-only operations commands (`ssr episodes ...`, `ssr campaign list`): a Temporal client
 * that is optional (these commands never start a dev server, and fall back to the store when none answers), quoting
 * of visibility-query values, aligned text tables and the store paths of blob references.
 */
import type { Client } from '@temporalio/client';
import type { Store, BlobRef } from '../store/store.js';
import { connectClient } from '../temporal/connect.js';
import { temporalTarget, type TemporalTarget } from '../temporal/config.js';
import { portOpen } from '../temporal/server.js';

/** A client when Temporal answers, else null and why: the caller lists from the store alone. */
export interface Visibility {
  client: Client | null;
  /** Where Temporal was looked for, for messages: `127.0.0.1:7233 (namespace default)`. */
  where: string;
  /** Why there is no client (null when there is one). */
  error: string | null;
  close(): Promise<void>;
}

export async function openVisibility(target: TemporalTarget = temporalTarget()): Promise<Visibility> {
  const where = `${target.address} (namespace ${target.namespace})`;
  const none = (error: string): Visibility => ({ client: null, where, error, close: async () => {} });
  // A closed local port is known at once; only an open one is worth the client's connect timeout.
  const m = /^([^:/]+|\[[^\]]+\]):(\d+)$/.exec(target.address);
  if (m && !target.tls && !(await portOpen(Number(m[2]), m[1].replace(/^\[|\]$/g, ''), 1500))) {
    return none(`nothing listens at ${target.address}`);
  }
  try {
    const client = await connectClient(target);
    return { client, where, error: null, close: () => client.connection.close() };
  } catch (e) {
    return none((e as Error).message);
  }
}

/**
 * A string literal of a visibility query, or null when the value cannot be matched reliably by the server's query
 * language: a single quote is doubled (`'it''s'`), but backslashes and double quotes are read differently by the
 * SQL visibility stores, so such values are left out of the server-side query and filtered here instead.
 */
export function quoteValue(v: string): string | null {
  if (/[\\"\u0000-\u001f]/.test(v)) return null;
  return `'${v.replace(/'/g, "''")}'`;
}

/** Rows of cells as aligned text columns (two spaces apart, the last column unpadded). */
export function table(header: string[], rows: string[][]): string[] {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ').trimEnd());
}

export const isBlobRef = (v: unknown): v is BlobRef => typeof v === 'string' && /^sha256:[0-9a-f]{64}$/.test(v);

/** A reference and where it lies on disk (a blob of the store; a plain path stays as it is). */
export interface RefPath { ref: string; path: string }

export function refPath(store: Store, ref: string): RefPath {
  return { ref, path: isBlobRef(ref) ? store.blobPath(ref) : ref };
}

export const fmtNum = (x: number | null | undefined, d = 2): string => (x === null || x === undefined ? '-' : Number.isInteger(x) ? String(x) : x.toFixed(d));

/** Runs fn with a deadline on the client's connection (a query no worker answers would otherwise wait long). */
export async function withDeadline<T>(client: Client, ms: number, fn: () => Promise<T>): Promise<T> {
  return client.connection.withDeadline(Date.now() + ms, fn);
}
