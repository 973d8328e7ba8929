/**
 * Runs one already-wrapped command line on the host and turns whatever it does into an ExecResult-like value:
 * output capped per stream, wall-clock limit (and a CPU-time one where the cgroup measures CPU), the whole tree
 * killed (through its cgroup when there is one), and the reason for a kill read back from the cgroup's counters.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KillReason } from './types.js';
import type { ExecCgroup } from './cgroup.js';
import { SandboxError } from './errors.js';
import { watchDisk, type DiskWatch } from './disk.js';

export interface RunSpec {
  /** Program and arguments, run without a shell. */
  argv: string[];
  env: Record<string, string>;
  cwd?: string;
  stdin?: Buffer;
  timeoutMs: number;
  /** CPU-time limit of the whole tree (user + system); applies only where `cgroup` measures CPU. */
  cpuTimeoutMs?: number;
  maxOutputBytes: number;
  /** The group the wrapper joins before exec'ing untrusted code; null when cgroups are unavailable. */
  cgroup: ExecCgroup | null;
  /** Open fd 3 as a pipe and return what the wrapper/bwrap writes to it (setup status). */
  statusFd?: boolean;
  /** Aborting kills the tree (used by dispose while a command runs). */
  signal?: AbortSignal;
  /** Kill the tree ('disk') when this filesystem's free space falls below its floor while the command runs. */
  disk?: DiskWatch;
}

export interface RawResult {
  exitCode: number | null;
  signal: string | null;
  stdout: Buffer;
  stderr: Buffer;
  killed: KillReason | null;
  truncated: boolean;
  durationMs: number;
  /** CPU time the tree used (user + system), where the cgroup measures it. */
  cpuMs: number | null;
  /** Text written to fd 3 (empty without statusFd). */
  status: string;
}

export class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  kept = 0;
  seen = 0;
  constructor(private readonly cap: number) {}
  push(chunk: Buffer): void {
    this.seen += chunk.length;
    if (this.kept >= this.cap) return;
    const take = Math.min(chunk.length, this.cap - this.kept);
    this.chunks.push(take === chunk.length ? chunk : chunk.subarray(0, take));
    this.kept += take;
  }
  get truncated(): boolean {
    return this.seen > this.kept;
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.kept);
  }
}

/**
 * How far past the cap a stream may run before the command is killed: reading and dropping output costs CPU,
 * and a command printing forever (`yes`) would otherwise burn its whole time limit.
 */
export function outputKillThreshold(cap: number): number {
  return Math.max(4 * cap, cap + 1024 * 1024);
}

export async function runWrapped(spec: RunSpec): Promise<RawResult> {
  const [file, ...args] = spec.argv;
  if (!file) throw new SandboxError('empty command line');
  const start = performance.now();
  const child = spawn(file, args, {
    cwd: spec.cwd,
    env: spec.env,
    // Own process group: the fallback way to reach descendants when there is no cgroup.
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe', spec.statusFd ? 'pipe' : 'ignore'],
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const { stdin, stdout, stderr } = child;
  if (!stdin || !stdout || !stderr) throw new SandboxError('spawn returned no pipes');

  const out = new CappedBuffer(spec.maxOutputBytes);
  const err = new CappedBuffer(spec.maxOutputBytes);
  let status = '';
  let killed: KillReason | null = null;
  let killing: Promise<void> | null = null;
  let exited = false;

  const killTree = async (): Promise<void> => {
    const pid = child.pid;
    if (pid !== undefined && !exited) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // Group already empty.
      }
    }
    if (spec.cgroup) await spec.cgroup.killAll();
  };
  const kill = (reason: KillReason | null): void => {
    if (reason && !killed) killed = reason;
    killing ??= killTree();
  };

  const limit = outputKillThreshold(spec.maxOutputBytes);
  const collect = (buf: CappedBuffer) => (chunk: Buffer) => {
    buf.push(chunk);
    if (buf.seen > limit) kill('output');
  };
  stdout.on('data', collect(out));
  stderr.on('data', collect(err));
  const statusStream = child.stdio[3] as Readable | null | undefined;
  statusStream?.on('data', (c: Buffer) => {
    if (status.length < 65536) status += c.toString('utf8');
  });

  // A command that never reads stdin closes the pipe early; that is not an error for us.
  stdin.on('error', () => undefined);
  stdin.end(spec.stdin ?? undefined);

  // setTimeout fires at once for delays past 2^31-1 ms; clamp so a huge limit means 'about 24 days'.
  const timer = setTimeout(() => kill('timeout'), Math.min(Math.max(1, spec.timeoutMs), 2 ** 31 - 1));
  const stopDiskWatch = spec.disk ? watchDisk(spec.disk, () => kill('disk')) : () => undefined;
  const stopCpuWatch = spec.cpuTimeoutMs !== undefined && spec.cgroup?.measuresCpu ? watchCpu(() => spec.cgroup!.cpuMs(), spec.cpuTimeoutMs, () => kill('cpu')) : () => undefined;
  const onAbort = (): void => kill(null);
  spec.signal?.addEventListener('abort', onAbort, { once: true });
  if (spec.signal?.aborted) onAbort();

  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const exit = await Promise.race([
    new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (code, sig) => resolve([code, sig]))),
    spawnError.then((e) => {
      throw new SandboxError(`cannot start ${file}: ${e.message}`);
    }),
  ]).finally(() => {
    clearTimeout(timer);
    stopDiskWatch();
    stopCpuWatch();
    spec.signal?.removeEventListener('abort', onAbort);
  });
  exited = true;

  // The main process is gone; whatever it left running in the background is killed too, so no command
  // outlives its exec and the pipes can close.
  if (spec.cgroup) {
    await spec.cgroup.killAll();
  } else if (child.pid !== undefined) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // No member of the group is left.
    }
  }
  if (killing) await killing;
  // Read before the caller removes the group; every process of it is dead by now, so the figure is final.
  const cpuMs = spec.cgroup ? await spec.cgroup.cpuMs() : null;
  // Pipes close once every holder is dead; a holder outside our reach (no cgroup, new session) must not hang us.
  const closedInTime = await Promise.race([closed.then(() => true), sleep(5000).then(() => false)]);
  if (!closedInTime) {
    stdout.destroy();
    stderr.destroy();
    statusStream?.destroy();
  }

  return {
    exitCode: exit[0],
    signal: exit[1],
    stdout: out.toBuffer(),
    stderr: err.toBuffer(),
    killed,
    truncated: out.truncated || err.truncated,
    durationMs: Math.round(performance.now() - start),
    cpuMs: cpuMs === null ? null : Math.round(cpuMs),
    status,
  };
}

/** How often a CPU-time limit is checked: the tree may run past it by about this much times its cores. */
const CPU_POLL_MS = 100;

/**
 * Calls `onOver` once when the CPU time `read` gives (a group's, in ms) passes `limitMs`; returns the function that
 * stops watching. Both backends' CPU-time limits (the Docker one reads its container's group: docker/exec.ts).
 */
export function watchCpu(read: () => Promise<number | null>, limitMs: number, onOver: () => void): () => void {
  let stopped = false, reading = false;
  const t = setInterval(() => {
    if (stopped || reading) return;
    reading = true;
    void read().then((ms) => {
      reading = false;
      if (!stopped && ms !== null && ms > limitMs) { stopped = true; clearInterval(t); onOver(); }
    });
  }, CPU_POLL_MS);
  return () => { stopped = true; clearInterval(t); };
}
