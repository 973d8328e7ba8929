/**
 * The images ssr builds for itself, locally and with no registry: a Debian root filesystem made by debootstrap and
 * `docker import`ed as the base, a toolchain image on top of it (Python with pytest, Node, Go, git), and one image
 * per example repository holding the repository and its warmed caches. Each carries the hash of its recipe as a
 * label: a call with the image already built returns at once, a changed recipe builds anew.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type Docker from 'dockerode';
import { PROJECT_ROOT } from '../../temporal/config.js';
import { docker, managedLabels, requireEngine } from './engine.js';

export const BASE_IMAGE = 'ssr/base:bookworm';
export const TOOLCHAIN_IMAGE = 'ssr/toolchains:bookworm';
const RECIPE_LABEL = 'ssr.recipe';
const MIRROR = 'http://deb.debian.org/debian';

export type Log = (line: string) => void;
const quiet: Log = () => undefined;

const BASE_PACKAGES = ['ca-certificates', 'git', 'procps', 'xz-utils'];

const TOOLCHAIN_DOCKERFILE = `FROM ${BASE_IMAGE}
RUN echo 'deb ${MIRROR} bookworm-backports main' > /etc/apt/sources.list.d/backports.list \\
 && apt-get update -qq \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-pytest nodejs \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -t bookworm-backports golang-1.22-go \\
 && ln -s /usr/lib/go-1.22/bin/go /usr/local/bin/go && ln -s /usr/lib/go-1.22/bin/gofmt /usr/local/bin/gofmt \\
 && rm -rf /var/lib/apt/lists/*
# Sandboxes have no network: Go must never try to download a toolchain or a module.
ENV PYTHONDONTWRITEBYTECODE=1 GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-buildvcs=false GOCACHE=/root/.cache/go-build GOPATH=/root/go
`;

/** Warms what a repository's tests would otherwise build on every run (Go's build cache of the package and std). */
const WARM = `if [ -f go.mod ]; then go build ./... && go test -count=1 -run '^$' ./... >/dev/null; fi`;

const exampleDockerfile = (from: string) => `FROM ${from}
COPY repo /src
WORKDIR /src
RUN ${WARM}
`;

const key = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);

async function recipeOf(d: Docker, ref: string): Promise<{ id: string; recipe: string | undefined } | null> {
  try {
    const i = await d.getImage(ref).inspect();
    return { id: i.Id, recipe: i.Config?.Labels?.[RECIPE_LABEL] };
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return null;
    throw e;
  }
}

/**
 * One builder at a time per machine (two test files may ask at once): a lock directory holding its owner's pid.
 * A lock whose owner died (a killed test) is taken over at once; one older than 30 minutes is taken over too.
 */
async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = path.join(os.tmpdir(), 'ssr-images.lock');
  for (;;) {
    try {
      await mkdir(lock);
      await writeFile(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch {
      try {
        const { mtimeMs } = statSync(lock);
        const pid = Number(readFileSync(path.join(lock, 'pid'), 'utf8'));
        // No pid file yet: its owner is between mkdir and writeFile, unless that was long ago.
        const dead = pid > 0 ? !alive(pid) : Date.now() - mtimeMs > 10_000;
        if (dead || Date.now() - mtimeMs > 30 * 60_000) await rm(lock, { recursive: true, force: true });
      } catch {
        // Released meanwhile.
      }
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function run(cmd: string, args: string[], log: Log): Promise<void> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const take = (b: Buffer) => {
      for (const l of b.toString().split('\n').filter(Boolean)) {
        log(l);
        tail.push(l);
        if (tail.length > 20) tail.shift();
      }
    };
    c.stdout.on('data', take);
    c.stderr.on('data', take);
    c.once('error', (e) => reject(new Error(`${cmd} could not start: ${e.message}`)));
    c.once('close', (rc) => (rc === 0 ? resolve() : reject(new Error(`${cmd} ${args.slice(0, 3).join(' ')} failed (exit ${rc}):\n${tail.join('\n')}`))));
  });
}

async function ensureDebootstrap(log: Log): Promise<void> {
  if (existsSync('/usr/sbin/debootstrap')) return;
  if (process.getuid?.() !== 0) throw new Error('building the base image needs debootstrap and root: `sudo apt-get install debootstrap`, then run `npm run images` as root');
  log('installing debootstrap (apt-get)');
  await run('sh', ['-c', 'apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null'], log);
}

/** Waits for an engine build/import stream to end; the engine reports failures inside the stream. */
function follow(d: Docker, stream: NodeJS.ReadableStream, what: string, log: Log): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const tail: string[] = [];
    const statuses: string[] = [];
    let failure = '';
    // A failed RUN arrives as an `error` event inside a stream that itself ends normally.
    const done = (err: Error | null) => {
      const why = err?.message ?? failure;
      if (why) reject(new Error(`${what} failed: ${why}\n--- last lines of the build log ---\n${tail.join('').trimEnd()}`));
      else resolve(statuses);
    };
    d.modem.followProgress(stream, done, (ev: { stream?: string; error?: string; status?: string }) => {
      const text = ev.stream ?? ev.status ?? '';
      if (ev.status) statuses.push(ev.status);
      if (ev.error) {
        failure ||= ev.error;
        tail.push(`${ev.error}\n`);
        return;
      }
      if (!text.trim()) return;
      log(text.trimEnd());
      tail.push(`${text.replace(/\x1b\[[0-9;]*m/g, '').trimEnd()}\n`); // without the engine's colour codes
      if (tail.length > 30) tail.shift();
    });
  });
}

const built = new Set<string>();
/** The refs this process built rather than found ready (`npm run images` reports which were cached). */
export const builtHere = (): ReadonlySet<string> => built;

/** `docker build` with the context given as a tar produced by `tar` over (dir, names...) pairs. */
async function build(d: Docker, ref: string, parts: { dir: string; names: string[] }[], log: Log): Promise<void> {
  const args = ['-c', '--owner=0', '--group=0', '--numeric-owner'];
  for (const p of parts) args.push('-C', p.dir, ...p.names);
  const tar = spawn('tar', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const tarExit = new Promise<number | null>((res) => tar.once('close', res));
  // Host networking for the build only: apt reaches the Debian mirror; containers of the result get none.
  const stream = await d.buildImage(tar.stdout as unknown as NodeJS.ReadableStream, { t: ref, networkmode: 'host', rm: true, forcerm: true, labels: managedLabels('build') });
  await follow(d, stream, `building ${ref}`, log);
  const rc = await tarExit;
  if (rc !== 0) throw new Error(`building ${ref} failed: tar of its context exited ${rc}`);
  built.add(ref);
}

/** debootstrap mounts proc and sys inside the new root and a failure can leave them: unmount before deleting. */
async function removeRootfs(dir: string): Promise<void> {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m === dir || m.startsWith(`${dir}/`));
  for (const m of mounts.sort().reverse()) await run('umount', ['-l', m], quiet).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}

export async function ensureBaseImage(log: Log = quiet): Promise<string> {
  const d = docker();
  await requireEngine(d);
  const recipe = key('base', MIRROR, ...BASE_PACKAGES);
  if ((await recipeOf(d, BASE_IMAGE))?.recipe === recipe) return BASE_IMAGE;
  return withLock(async () => {
    if ((await recipeOf(d, BASE_IMAGE))?.recipe === recipe) return BASE_IMAGE;
    await ensureDebootstrap(log);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ssr-rootfs-'));
    try {
      log(`debootstrap bookworm into ${dir}`);
      await run('debootstrap', ['--variant=minbase', `--include=${BASE_PACKAGES.join(',')}`, 'bookworm', dir, MIRROR], log);
      const tar = spawn('tar', ['-C', dir, '-c', '--numeric-owner', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const tarExit = new Promise<number | null>((res) => tar.once('close', res));
      const labels = Object.entries({ ...managedLabels('build'), [RECIPE_LABEL]: recipe }).map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`);
      // Imported untagged and tagged once tar has exited cleanly: the engine imports a truncated tar "successfully".
      const stream = await d.importImage(tar.stdout as unknown as NodeJS.ReadableStream, {
        changes: [`LABEL ${labels.join(' ')}`, 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8', 'CMD ["/bin/bash"]'],
      } as unknown as Record<string, unknown>);
      const id = (await follow(d, stream, `importing ${BASE_IMAGE}`, log)).reverse().find((s) => s.startsWith('sha256:'));
      const rc = await tarExit;
      if (!id || rc !== 0) {
        if (id) await d.getImage(id).remove({ force: true }).catch(() => undefined);
        throw new Error(`importing ${BASE_IMAGE} failed: ${rc !== 0 ? `tar of the root filesystem exited ${rc}` : 'the engine returned no image id'}`);
      }
      const [repo, tag] = BASE_IMAGE.split(':') as [string, string];
      await d.getImage(id).tag({ repo, tag });
      built.add(BASE_IMAGE);
    } finally {
      await removeRootfs(dir);
    }
    return BASE_IMAGE;
  });
}

export async function ensureToolchainImage(log: Log = quiet): Promise<string> {
  const d = docker();
  await ensureBaseImage(log);
  const base = await recipeOf(d, BASE_IMAGE);
  const recipe = key('toolchains', base!.id, TOOLCHAIN_DOCKERFILE);
  if ((await recipeOf(d, TOOLCHAIN_IMAGE))?.recipe === recipe) return TOOLCHAIN_IMAGE;
  return withLock(async () => {
    if ((await recipeOf(d, TOOLCHAIN_IMAGE))?.recipe === recipe) return TOOLCHAIN_IMAGE;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ssr-toolchains-'));
    try {
      await writeFile(path.join(dir, 'Dockerfile'), `${TOOLCHAIN_DOCKERFILE}LABEL ${RECIPE_LABEL}=${recipe}\n`);
      await build(d, TOOLCHAIN_IMAGE, [{ dir, names: ['Dockerfile'] }], log);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return TOOLCHAIN_IMAGE;
  });
}

export interface ExampleImage { name: string; ref: string; workdir: string }

/** The example repositories (rebuilt from their patches by examples/build.sh), each as an image. */
export async function ensureExampleImages(log: Log = quiet): Promise<ExampleImage[]> {
  const d = docker();
  const examples = path.join(PROJECT_ROOT, 'examples');
  await run('bash', [path.join(examples, 'build.sh')], quiet);
  await ensureToolchainImage(log);
  const tool = await recipeOf(d, TOOLCHAIN_IMAGE);
  const out: ExampleImage[] = [];
  for (const name of readdirSync(examples).sort()) {
    const repo = path.join(examples, name, 'repo');
    const headFile = path.join(examples, name, 'HEAD');
    if (!existsSync(path.join(repo, '.git')) || !existsSync(headFile)) continue;
    const head = readFileSync(headFile, 'utf8').trim();
    const ref = `ssr-example/${name}:${head.slice(0, 12)}`;
    const dockerfile = exampleDockerfile(TOOLCHAIN_IMAGE);
    const recipe = key('example', tool!.id, head, dockerfile);
    if ((await recipeOf(d, ref))?.recipe !== recipe) {
      await withLock(async () => {
        if ((await recipeOf(d, ref))?.recipe === recipe) return;
        const dir = await mkdtemp(path.join(os.tmpdir(), 'ssr-example-'));
        try {
          await writeFile(path.join(dir, 'Dockerfile'), `${dockerfile}LABEL ${RECIPE_LABEL}=${recipe}\n`);
          await build(d, ref, [{ dir, names: ['Dockerfile'] }, { dir: path.join(examples, name), names: ['repo'] }], log);
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });
    }
    out.push({ name, ref, workdir: '/src' });
  }
  return out;
}
