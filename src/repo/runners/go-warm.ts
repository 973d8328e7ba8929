/**
 * The compiled packages of a Go repository, built once per base tree (see sandbox/base-warm.ts) into the GOCACHE
 * every sandbox uses, so that a fresh sandbox's go test links the test binary instead of compiling the module's
 * dependencies and its own packages again (quicktest with go-cmp and kr/pretty: seconds a run, every run).
 *
 * Unlike cargo, Go's build cache is keyed by the content of what goes into each action (sources, flags, toolchain):
 * an entry of a package whose files an attempt changed is simply never looked up again, so the repository's own
 * packages can stay in the cache. Nothing of the repository runs while it is built: the test binaries are compiled
 * and handed to /bin/true instead of run.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { scanForMinutes, type BaseWarmer } from '../../sandbox/base-warm.js';
import type { Sandbox } from '../../sandbox/types.js';
import { defaultSandboxEnv, HOST_PATH } from '../../sandbox/bwrap.js';
import { shQuote } from './bash.js';
import { detectGo } from './go.js';
import { RepoTree } from './scan.js';

const run = promisify(execFile);
/** The /tmp entry GOCACHE lives in (defaultSandboxEnv: $HOME/.cache/go-build, HOME being /tmp). */
const CACHE_ENTRY = '.cache';
const MAX_MODULES = 32;

interface Modules {
  /** Directories (relative to the base) of the modules holding test files, shallowest first. */
  dirs: string[];
  identity: string;
}

/** The modules the go-test runner tests and what their builds depend on (go.mod, go.sum, go.work); only reads. */
async function scanModules(base: string): Promise<Modules> {
  const tree = await RepoTree.scan(base);
  const runner = (await detectGo(tree))[0];
  if (!runner) return { dirs: [], identity: '' };
  const mods = tree.files.filter((f) => path.posix.basename(f) === 'go.mod').map((f) => path.posix.dirname(f));
  const owner = (f: string) => mods.filter((m) => m === '.' || f.startsWith(`${m}/`)).sort((a, b) => b.length - a.length)[0];
  const dirs = [...new Set(runner.testFiles.map(owner).filter((m): m is string => m !== undefined))]
    .sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  const parts: string[] = [];
  for (const f of tree.files.filter((x) => /(?:^|\/)go\.(?:mod|sum|work)$/.test(x))) parts.push(`${f}\0${await tree.read(f)}`);
  return { dirs, identity: `${dirs.join('\0')}\0\0${parts.join('\0\0')}` };
}

const scanCached = scanForMinutes(scanModules);

let toolchain: Promise<string> | null = null;
function goVersion(): Promise<string> {
  toolchain ??= run('go', ['version'], { env: { ...defaultSandboxEnv('/tmp'), PATH: `/usr/local/go/bin:${HOST_PATH}` }, cwd: '/', timeout: 60_000 }).then((r) => r.stdout);
  toolchain.catch(() => { toolchain = null; });
  return toolchain;
}

export interface GoWarmerOptions {
  /** Wall-clock limit of the build (the sandbox's other limits are the provider's defaults). */
  timeoutMs?: number;
}

export function goWarmer(opts: GoWarmerOptions = {}): BaseWarmer {
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  return {
    name: 'go-build',
    async identity(base: string): Promise<string | null> {
      const m = await scanCached(base);
      if (m.dirs.length === 0) return null;
      return `${await goVersion()}\0${m.identity}`;
    },
    async build(sb: Sandbox, base: string): Promise<string[]> {
      const dirs = (await scanCached(base)).dirs.slice(0, MAX_MODULES);
      if (dirs.length === 0) throw new Error('no module with test files');
      // The flags of the runner's test runs (vet off; -run, -v and -count do not enter the build), so its actions
      // are the ones those runs look up. A package that does not build still leaves the others it built.
      const b = await sb.exec(
        `export GOPROXY=off GOTOOLCHAIN=local; for d in ${dirs.map(shQuote).join(' ')}; do (cd "$d" && go test -count=1 -vet=off -run '^$' -exec /bin/true ./... </dev/null); done; true`,
        { timeoutMs },
      );
      if (b.killed) throw new Error(`go test -exec /bin/true stopped (${b.killed}): ${(b.stdout + b.stderr).trim().slice(-1500)}`);
      return [CACHE_ENTRY];
    },
  };
}
