/**
 * Toolchain caches built once per state directory by trusted commands (never repository code) and offered to every
 * sandbox as the read-only lower layer of its /tmp. Without it, each fresh sandbox rebuilds Go's standard library
 * (13 s on 2 cores) before the first test of a Go repository runs.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function warmTmpDir(stateDir: string): string {
  return path.join(stateDir, 'warm', 'tmp');
}

const GO_WARM_PACKAGES = [
  'testing', 'testing/quick', 'fmt', 'strings', 'strconv', 'sort', 'errors', 'math', 'math/big', 'unicode', 'unicode/utf8',
  'bytes', 'bufio', 'os', 'io', 'regexp', 'time', 'encoding/json', 'reflect', 'sync', 'context', 'path/filepath', 'slices', 'maps',
  'testing/internal/testdeps', 'runtime/pprof', 'internal/fuzz', 'flag', 'log', 'os/exec', 'math/rand',
];

let inflight: Promise<void> | null = null;

/** Builds the warm /tmp once (Go's standard library in the GOCACHE the sandbox uses); safe to call often. */
export async function warmToolchains(stateDir: string): Promise<void> {
  const dst = warmTmpDir(stateDir);
  if (existsSync(dst)) return;
  inflight ??= (async () => {
    const tmp = `${dst}.${process.pid}.building`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    try {
      // The packages tests commonly use, with their dependencies: all of std takes minutes to build on 2 cores.
      await run('go', ['build', ...GO_WARM_PACKAGES], {
        env: { ...process.env, HOME: tmp, GOCACHE: path.join(tmp, '.cache', 'go-build'), GOPATH: path.join(tmp, 'go'), GOFLAGS: '-mod=mod -buildvcs=false', GOTOOLCHAIN: 'local', GOTELEMETRY: 'off', GOPROXY: 'off' },
        cwd: tmp, timeout: 600_000, maxBuffer: 16 << 20,
      });
      await rm(path.join(tmp, 'go'), { recursive: true, force: true });
    } catch {
      // No Go here, or it failed: sandboxes simply start cold.
    }
    try { await rename(tmp, dst); } catch { await rm(tmp, { recursive: true, force: true }); }
  })().finally(() => { inflight = null; });
  return inflight;
}
