/**
 * The contract every sandbox backend (local bubblewrap, later Docker) fulfils.
 * Untrusted code (repositories, agent commands, test scripts) runs only through `Sandbox.exec`.
 */

/**
 * Why the sandbox stopped a command. 'disk': a file grew past `maxFileBytes` (RLIMIT_FSIZE, the writer got
 * SIGXFSZ) or the filesystem holding the sandbox's writable layer fell below its free-space floor. 'cpu': the
 * command's processes used more CPU time than `cpuTimeoutMs` (a limit that, unlike 'timeout', the machine's load
 * does not move).
 */
export type KillReason = 'timeout' | 'cpu' | 'memory' | 'pids' | 'output' | 'disk';

export interface ExecOptions {
  /** Wall-clock limit; the whole process tree is killed when it passes. */
  timeoutMs?: number;
  /**
   * CPU-time limit (user + system, all processes of the command), where the backend can measure it (`ExecResult.cpuMs`
   * is then set); elsewhere only `timeoutMs` applies. For limits that must not depend on what else the machine runs.
   */
  cpuTimeoutMs?: number;
  /** Extra environment variables (the sandbox starts from a minimal, fixed environment). */
  env?: Record<string, string>;
  /** Data written to the command's stdin. */
  stdin?: string;
  /** Working directory relative to the sandbox's work directory. */
  cwd?: string;
}

export interface ExecResult {
  /** Exit code, or null when the process was killed by a signal. */
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Why the sandbox stopped the command, when it did. */
  killed: KillReason | null;
  /** True when stdout or stderr was cut at the output cap. */
  truncated: boolean;
  durationMs: number;
  /** CPU time the command's processes used, where the backend measures it (the local one with cgroups). */
  cpuMs?: number;
}

export interface SandboxLimits {
  timeoutMs: number;
  memoryBytes: number;
  maxPids: number;
  maxOutputBytes: number;
  /** Largest file one command may write (RLIMIT_FSIZE): a single runaway writer stops here, not at a full disk. */
  maxFileBytes: number;
  /**
   * Free space the filesystem of the sandbox's writable layer must keep while a command runs; below it the command
   * is killed ('disk'). Many files each under maxFileBytes are caught here. 0: max(1 GiB, 5% of the filesystem).
   */
  minFreeDiskBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = {
  timeoutMs: 120_000,
  memoryBytes: 2 * 1024 ** 3,
  maxPids: 256,
  maxOutputBytes: 4 * 1024 ** 2,
  maxFileBytes: 1024 ** 3,
  minFreeDiskBytes: 0,
};

/** One private, writable view of a repository tree for one attempt. */
export interface Sandbox {
  readonly id: string;
  /** Path of the work directory as commands inside the sandbox see it. */
  readonly workdir: string;
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  /** Host path of the merged tree when the backend can expose one (local backend), for reads only. */
  readonly hostPath?: string;
  readFile(relPath: string): Promise<Buffer>;
  writeFile(relPath: string, data: string | Buffer): Promise<void>;
  /**
   * Freeze the current state of this sandbox as a new layer that later sandboxes can start from
   * (the buggy state for N solver attempts) without copying the tree again.
   */
  snapshot(): Promise<SnapshotRef>;
  dispose(): Promise<void>;
}

/** A frozen tree state: a base directory plus an ordered stack of layers (topmost first). */
export interface SnapshotRef {
  backend: string;
  /** Opaque to callers; the backend knows how to start a sandbox from it. */
  layers: string[];
  base: string;
}

export interface SandboxProvider {
  readonly name: string;
  /** A sandbox over a read-only base tree (a repository on disk) or a snapshot. */
  create(from: { base: string } | SnapshotRef, limits?: Partial<SandboxLimits>, labels?: Record<string, string>): Promise<Sandbox>;
}
