/**
 * Fault injection, for the fault tests and the soak: inert unless the process's SSR_FAULTS names faults.
 *
 *   SSR_FAULTS="pause-gradient-before-save=4000,store-write-fail=0.05,bad-artifact=0.3"
 *
 * A fault is `name` or `name=value`. Three kinds of use:
 *  - pause points (`faultPause`): the process stops there for `value` ms after dropping a marker file, so a test
 *    can SIGKILL it at a known point of an operation;
 *  - chances (`faultChance`): true with probability `value` (0..1), for failures injected at random points;
 *  - choices (`faultValue`): the raw value, e.g. which bad input to produce.
 * Every fault that fires is appended to `$SSR_HOME/faults/fired.jsonl`, so a soak can count what it injected.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function parseFaults(spec: string | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const i = part.indexOf('=');
    m.set(i < 0 ? part : part.slice(0, i), i < 0 ? '' : part.slice(i + 1));
  }
  return m;
}

const active = (): Map<string, string> => parseFaults(process.env.SSR_FAULTS);

const faultsDir = (): string | null => (process.env.SSR_HOME ? path.join(process.env.SSR_HOME, 'faults') : null);

/** Records that a fault fired (best effort: the record of a fault must never become a fault itself). */
export function noteFault(name: string, detail: Record<string, unknown> = {}): void {
  const dir = faultsDir();
  if (!dir) return;
  try {
    mkdirSync(dir, { recursive: true });
    appendFileSync(path.join(dir, 'fired.jsonl'), JSON.stringify({ fault: name, pid: process.pid, at: new Date().toISOString(), ...detail }) + '\n');
  } catch { /* ignored on purpose */ }
}

export function faultValue(name: string): string | null {
  return active().get(name) ?? null;
}

export function faultChance(name: string, detail: Record<string, unknown> = {}): boolean {
  const v = faultValue(name);
  if (v === null) return false;
  const p = v === '' ? 1 : Number(v);
  const fire = Number.isFinite(p) && Math.random() < p;
  if (fire) noteFault(name, detail);
  return fire;
}

/** The marker a pause point drops when reached: `$SSR_HOME/faults/<name>.<pid>.reached`. */
export function pauseMarker(name: string, pid = process.pid): string | null {
  const dir = faultsDir();
  return dir ? path.join(dir, `${name}.${pid}.reached`) : null;
}

export async function faultPause(name: string, detail: Record<string, unknown> = {}): Promise<void> {
  const v = faultValue(name);
  if (v === null) return;
  const ms = Number(v || '0');
  noteFault(name, { ms, ...detail });
  const marker = pauseMarker(name);
  if (marker) {
    try { mkdirSync(path.dirname(marker), { recursive: true }); writeFileSync(marker, JSON.stringify(detail)); } catch { /* best effort */ }
  }
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}

/** An injected failure, typed so that a reader of a log never mistakes it for a real one. */
export class InjectedFault extends Error {
  constructor(name: string, message: string) { super(`injected fault ${name}: ${message}`); this.name = 'InjectedFault'; }
}
