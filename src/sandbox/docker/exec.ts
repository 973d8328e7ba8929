/**
 * One command in a running container, through the engine's exec API: stdout and stderr apart (the multiplexed
 * stream is split here), each capped, a wall-clock limit (and a CPU-time one where the container's cgroup can be read
 * here, ./cpu.ts), and afterwards nothing the command started is left running. Which limit stopped it (memory, pids) is read from the container's own cgroup counters, which the
 * wrapper prints after the command on stderr behind a random marker that is stripped again here.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { CappedBuffer, outputKillThreshold, watchCpu, type RawResult } from '../run.js';
import { SandboxError } from '../errors.js';
import type { KillReason } from '../types.js';
import { watchDisk, type DiskWatch } from '../disk.js';
import type { CpuReader } from './cpu.js';

/**
 * Sets $oom and $pm from the container's cgroup counters (v1 or v2 file names). Shell builtins only: no process is
 * forked, so it costs nothing per command and still runs when the pids table is nearly full.
 */
const READ_COUNTERS = `oom=0; pm=0
for f in /sys/fs/cgroup/memory/memory.oom_control /sys/fs/cgroup/memory.events; do [ -r "$f" ] && while read -r k v; do [ "$k" = oom_kill ] && oom=$v; done < "$f"; done
for f in /sys/fs/cgroup/pids/pids.events /sys/fs/cgroup/pids.events; do [ -r "$f" ] && while read -r k v; do [ "$k" = max ] && pm=$v; done < "$f"; done`;

/** Prints the counters as "oom pidsmax". */
const COUNTERS = `${READ_COUNTERS}
echo "$oom $pm"`;

/**
 * $1 marker, $2 cwd, then the command. After the command, every process but init and this shell is killed
 * (one container serves one attempt and runs one command at a time, so everything else is the command's).
 */
const WRAPPER = `m=$1; cd -- "$2" || exit 2; shift 2
"$@"
rc=$?
kill -9 -1 2>/dev/null; kill -9 -1 2>/dev/null
${READ_COUNTERS}
printf '\\n%s %s %s %s\\n' "$m" "$rc" "$oom" "$pm" >&2
exit $rc`;

/**
 * Run as a second exec when the limit passes: kills the command's tree with shell builtins only, so it needs one
 * process slot; the counters are read by a third exec once the slots are free again.
 */
const KILLER = 'kill -9 -1 2>/dev/null; kill -9 -1 2>/dev/null; kill -9 -1 2>/dev/null; exit 0';

export interface Counters { oom: number; pidsMax: number }

export interface DockerExecSpec {
  argv: string[];
  /** Absolute directory inside the container. */
  cwd: string;
  env: Record<string, string>;
  stdin?: Buffer;
  timeoutMs: number;
  maxOutputBytes: number;
  /** The host filesystem under the container's writable layer, when the engine is local; null: RLIMIT_FSIZE only. */
  disk?: DiskWatch | null;
  /**
   * The container's CPU time, when the engine is local (./cpu.ts): the command's is what the container used while it
   * ran, reported as `cpuMs`; with `limitMs` the command is stopped once it used more (killed 'cpu').
   */
  cpu?: { read: CpuReader; limitMs?: number } | null;
}

export interface DockerExecResult extends Omit<RawResult, 'status' | 'cpuMs'> {
  /** The CPU time the command used, where `spec.cpu` could read it. */
  cpuMs?: number;
  /** Counters after the command; null when they could not be read (the container had to be killed). */
  counters: Counters | null;
  /** The container was killed because nothing inside could stop the command; the caller restarts it. */
  containerKilled: boolean;
}

/** Splits the engine's multiplexed stream (8-byte frame headers: stream id, 0, 0, 0, big-endian length). */
class Demux {
  private pending: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (stream: number, data: Buffer) => void) {}
  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const len = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + len) break;
      this.onFrame(this.pending[0]!, this.pending.subarray(8, 8 + len));
      this.pending = this.pending.subarray(8 + len);
    }
  }
}

/**
 * The container's counters read on their own, in a process of their own: for a command whose trailer and kill did
 * not report them (a loaded machine, an exec refused while the command filled the pids table). Tried twice.
 */
export async function readCounters(container: Docker.Container): Promise<Counters | null> {
  for (let i = 0; i < 2; i++) {
    const c = await runSimple(container, ['/bin/sh', '-c', COUNTERS], 10_000);
    if (c && c.exitCode === 0) return parseCounters(c.stdout);
    if (i === 0) await sleep(300);
  }
  return null;
}

async function runSimple(container: Docker.Container, argv: string[], timeoutMs: number): Promise<{ exitCode: number | null; stdout: string } | null> {
  try {
    const ex = await container.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true, User: '0' });
    const stream = (await ex.start({ hijack: true, stdin: false })) as Duplex;
    let out = '';
    const demux = new Demux((s, d) => { if (s === 1 && out.length < 4096) out += d.toString('utf8'); });
    stream.on('data', (c: Buffer) => demux.push(c));
    const ended = new Promise<boolean>((resolve) => { stream.once('end', () => resolve(true)); stream.once('close', () => resolve(true)); stream.once('error', () => resolve(false)); });
    const ok = await Promise.race([ended, sleep(timeoutMs).then(() => false)]);
    if (!ok) { stream.destroy(); return null; }
    return { exitCode: await exitCodeOf(ex), stdout: out };
  } catch {
    // The engine refused a new process (the pids limit is exhausted, the container is dying).
    return null;
  }
}

/**
 * An exec's exit status. The engine closes the stream when the process's output ends and records the exit a moment
 * later, from its own event: read at once on a loaded machine, the exec still shows running with no status (seen in
 * CI: the timeout's kill read as failed, the container killed, and the timeout reported as the pids limit).
 */
async function exitCodeOf(ex: Docker.Exec): Promise<number | null> {
  for (let waited = 0; ; waited += 50) {
    try {
      const info = await ex.inspect();
      if (!info.Running || waited >= 5000) return info.Running ? null : info.ExitCode;
    } catch {
      return null;
    }
    await sleep(50);
  }
}

function parseCounters(text: string): Counters | null {
  const m = /^(\d+) (\d+)\s*$/m.exec(text);
  return m ? { oom: Number(m[1]), pidsMax: Number(m[2]) } : null;
}

export async function dockerExec(container: Docker.Container, spec: DockerExecSpec): Promise<DockerExecResult> {
  const start = performance.now();
  // Read before the exec starts: the keeper's own CPU time is the container's until then.
  const cpuBefore = spec.cpu ? await spec.cpu.read() : null;
  const marker = `ssr-exec-end-${randomBytes(8).toString('hex')}`;
  const hasStdin = spec.stdin !== undefined;
  let ex: Docker.Exec;
  let stream: Duplex;
  try {
    ex = await container.exec({
      Cmd: ['/bin/sh', '-c', WRAPPER, 'ssr-sandbox', marker, spec.cwd, ...spec.argv],
      AttachStdin: hasStdin, AttachStdout: true, AttachStderr: true, Tty: false, User: '0',
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
    });
    stream = (await ex.start({ hijack: true, stdin: hasStdin })) as Duplex;
  } catch (e) {
    throw new SandboxError(`docker exec failed to start in container ${container.id.slice(0, 12)}: ${(e as Error).message}`);
  }

  const out = new CappedBuffer(spec.maxOutputBytes);
  const err = new CappedBuffer(spec.maxOutputBytes);
  // The trailer is read from the raw end of stderr, whatever the cap kept.
  let errTail = '';
  let killed: KillReason | null = null;
  let killing: Promise<Counters | null | 'container'> | null = null;
  const limit = outputKillThreshold(spec.maxOutputBytes);

  const killTree = async (): Promise<Counters | null | 'container'> => {
    const r = await runSimple(container, ['/bin/sh', '-c', KILLER], 10_000);
    if (r && r.exitCode === 0) {
      const c = await runSimple(container, ['/bin/sh', '-c', COUNTERS], 10_000);
      return c && c.exitCode === 0 ? parseCounters(c.stdout) : null;
    }
    // Nothing could be started inside (pids exhausted) or the kill hung: stop the whole container.
    await container.kill({ signal: 'SIGKILL' }).catch(() => undefined);
    return 'container';
  };
  const kill = (reason: KillReason): void => {
    killed ??= reason;
    killing ??= killTree();
  };

  const demux = new Demux((s, data) => {
    if (s === 1) out.push(data);
    else if (s === 2) {
      err.push(data);
      errTail = (errTail + data.toString('latin1')).slice(-512);
    }
    if (out.seen > limit || err.seen > limit) kill('output');
  });
  stream.on('data', (c: Buffer) => demux.push(c));
  const ended = new Promise<void>((resolve) => {
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
    stream.once('error', () => resolve());
  });
  if (hasStdin) {
    stream.on('error', () => undefined);
    // Half-close: the command sees end of input while we keep reading its output.
    stream.end(spec.stdin);
  }

  const timer = setTimeout(() => kill('timeout'), Math.min(Math.max(1, spec.timeoutMs), 2 ** 31 - 1));
  const stopDiskWatch = spec.disk ? watchDisk(spec.disk, () => kill('disk')) : () => undefined;
  const stopCpuWatch = spec.cpu?.limitMs !== undefined && cpuBefore !== null ? watchCpu(spec.cpu.read, cpuBefore + spec.cpu.limitMs, () => kill('cpu')) : () => undefined;
  await ended;
  clearTimeout(timer);
  stopDiskWatch();
  stopCpuWatch();
  const killResult = killing ? await (killing as Promise<Counters | null | 'container'>) : null;
  stream.destroy();
  // After the wrapper (or the kill) has stopped every process of the command: nothing of it uses CPU any more.
  const cpuAfter = spec.cpu && cpuBefore !== null ? await spec.cpu.read() : null;

  let exitCode = await exitCodeOf(ex);
  // Trailer: "\n<marker> <rc> <oom> <pidsmax>\n" at the very end of stderr.
  const at = errTail.lastIndexOf(marker);
  let counters: Counters | null = killResult && killResult !== 'container' ? killResult : null;
  let stderr = err.toBuffer();
  if (at >= 0) {
    const parts = errTail.slice(at + marker.length).trim().split(/\s+/).map(Number);
    if (parts.length === 3 && parts.every((n) => Number.isFinite(n))) {
      exitCode = parts[0]!;
      counters = { oom: parts[1]!, pidsMax: parts[2]! };
    }
    // Drop the trailer (and the newline before it) from what the caller sees, when the cap kept it.
    const idx = stderr.lastIndexOf(Buffer.from(`\n${marker}`, 'latin1'));
    if (idx >= 0) stderr = stderr.subarray(0, idx);
  }
  const stoppedByUs = killed === 'timeout' || killed === 'output' || killed === 'disk' || killed === 'cpu';
  return {
    exitCode: stoppedByUs ? null : exitCode,
    signal: stoppedByUs ? 'SIGKILL' : null,
    stdout: out.toBuffer(),
    stderr,
    killed,
    truncated: out.truncated || err.truncated,
    durationMs: Math.round(performance.now() - start),
    ...(cpuBefore !== null && cpuAfter !== null ? { cpuMs: Math.max(0, Math.round(cpuAfter - cpuBefore)) } : {}),
    counters,
    containerKilled: killResult === 'container',
  };
}

