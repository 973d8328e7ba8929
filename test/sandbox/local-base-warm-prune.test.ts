/**
 * The base caches (sandbox/base-warm.ts) stay bounded on disk: each new identity of a base adds a cache (for Rust,
 * a whole target directory of compiled dependencies), so without pruning every Cargo.lock change of every
 * repository ever seen stayed forever. Real sandboxes; a small warmer of our own stands in for cargo.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { LocalSandboxProvider } from '../../src/sandbox/local.js';
import { baseWarmDir, type BaseWarmer } from '../../src/sandbox/base-warm.js';
import { cleanup, isolatedSkipReason, makeBase, tempDir } from './helpers.js';

const skip = await isolatedSkipReason();
const dirs: string[] = [];

/** Its identity is the base's id.txt; its cache holds that id, so a sandbox shows which one it got. */
const idWarmer: BaseWarmer = {
  name: 'idcache',
  async identity(base) {
    return readFile(path.join(base, 'id.txt'), 'utf8').catch(() => null);
  },
  async build(sb) {
    const r = await sb.exec('mkdir -p /tmp/idc && cp id.txt /tmp/idc/id');
    if (r.exitCode !== 0) throw new Error(r.stderr);
    return ['idc'];
  },
};

async function setup(limits: { keepPerBase?: number; keepTotal?: number }) {
  const stateDir = await tempDir('prune-state');
  dirs.push(stateDir);
  const provider = new LocalSandboxProvider({ stateDir, isolation: 'bwrap', baseWarmers: [idWarmer], baseWarmLimits: limits });
  const caches = async () => (await readdir(baseWarmDir(stateDir)).catch(() => [] as string[])).filter((n) => n.startsWith('idcache-') && !n.includes('.')).sort();
  return { stateDir, provider, caches };
}

async function base(id: string): Promise<string> {
  const b = await makeBase({ 'id.txt': id });
  dirs.push(path.dirname(b));
  return b;
}

/** A sandbox of `b`, made and disposed; returns the id its /tmp showed. */
async function use(provider: LocalSandboxProvider, b: string): Promise<string> {
  const sb = await provider.create({ base: b });
  try {
    return (await sb.exec('cat /tmp/idc/id')).stdout;
  } finally {
    await sb.dispose();
  }
}

after(async () => {
  await cleanup(...dirs);
});

test('a base keeps the caches of its newest identities only', { skip }, async () => {
  const { provider, caches } = await setup({ keepPerBase: 2 });
  const b = await base('one');
  assert.equal(await use(provider, b), 'one');
  const first = await caches();
  assert.equal(first.length, 1);
  await writeFile(path.join(b, 'id.txt'), 'two');
  assert.equal(await use(provider, b), 'two');
  assert.equal((await caches()).length, 2, 'the previous identity is kept (a scan a few minutes old may still ask for it)');
  await writeFile(path.join(b, 'id.txt'), 'three');
  assert.equal(await use(provider, b), 'three');
  const now = await caches();
  assert.equal(now.length, 2, now.join(' '));
  assert.ok(!now.includes(first[0]!), 'the oldest identity\'s cache is gone');
  // All of one base: the base's hash leads every name.
  assert.equal(new Set(now.map((n) => n.split('-')[1])).size, 1);
});

test('a cache a live sandbox has mounted is never removed under it', { skip }, async () => {
  const { provider, caches } = await setup({ keepPerBase: 1 });
  const b = await base('old');
  const holder = await provider.create({ base: b });
  try {
    const [old] = await caches();
    await writeFile(path.join(b, 'id.txt'), 'new');
    assert.equal(await use(provider, b), 'new');
    assert.ok((await caches()).includes(old!), 'in use: kept');
    assert.equal((await holder.exec('cat /tmp/idc/id')).stdout, 'old');
  } finally {
    await holder.dispose();
  }
  await writeFile(path.join(b, 'id.txt'), 'newer');
  assert.equal(await use(provider, b), 'newer');
  assert.equal((await caches()).length, 1, 'released: the next build prunes it');
});

test('over all bases, the least recently used caches go first', { skip }, async () => {
  const { provider, caches } = await setup({ keepTotal: 2 });
  const made = async (b: string): Promise<string> => {
    const before = new Set(await caches());
    await use(provider, b);
    return (await caches()).find((n) => !before.has(n))!;
  };
  const a = await base('a');
  const b = await base('b');
  const ca = await made(a);
  const cb = await made(b);
  assert.deepEqual(await caches(), [ca, cb].sort());
  // a is used again, so b is now the least recently used.
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(await use(provider, a), 'a');
  const cc = await made(await base('c'));
  assert.deepEqual(await caches(), [ca, cc].sort(), 'b\'s cache went, a\'s (used since) stayed');
});

test('caches named the former way go, unless a sandbox that does not say what it mounted is alive; half-removed ones go', { skip }, async () => {
  const { stateDir, provider, caches } = await setup({});
  const former = path.join(baseWarmDir(stateDir), `idcache-${'0'.repeat(32)}`);
  await mkdir(path.join(former, 'idc'), { recursive: true });
  // A record written by an older version: no tmpLayers.
  const oldSandbox = path.join(stateDir, 'sandboxes', 'sb-older-version');
  await mkdir(oldSandbox, { recursive: true });
  await writeFile(path.join(oldSandbox, 'sandbox.json'), JSON.stringify({ id: 'sb-older-version', base: '/x', layers: [] }));
  // What a process that died while removing a cache left.
  const half = path.join(baseWarmDir(stateDir), `idcache-${'1'.repeat(16)}-${'2'.repeat(24)}.4242.stale`);
  await mkdir(path.join(half, 'idc'), { recursive: true });
  await use(provider, await base('p'));
  assert.ok((await readdir(baseWarmDir(stateDir))).includes(path.basename(former)), 'possibly in use: kept');
  assert.ok(!(await readdir(baseWarmDir(stateDir))).includes(path.basename(half)), 'a half-removed cache is finished off');
  await cleanup(oldSandbox);
  await use(provider, await base('q'));
  assert.ok(!(await readdir(baseWarmDir(stateDir))).includes(path.basename(former)), 'no longer looked up by anyone: removed');
  assert.equal((await caches()).length, 2);
});
