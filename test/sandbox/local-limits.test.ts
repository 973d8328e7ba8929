/**
 * The local backend's own side of the limits: every command gets cgroups under /sys/fs/cgroup/<ctrl>/ssr, and a
 * killed command leaves none behind. The limits themselves are part of the contract (contract-local.test.ts).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { LocalSandboxProvider } from '../../src/sandbox/local.js';
import type { Sandbox } from '../../src/sandbox/types.js';
import { cleanup, hostProcsWith, isolatedSkipReason, makeBase, tempDir, uniqueMarker } from './helpers.js';

const skip = await isolatedSkipReason();
let stateDir = '';
let base = '';
let sb: Sandbox;

before(async () => {
  if (skip) return;
  stateDir = await tempDir('state');
  base = await makeBase({ 'a.txt': 'alpha\n' });
  const provider = new LocalSandboxProvider({
    stateDir,
    isolation: 'bwrap',
    defaults: { timeoutMs: 20_000, maxPids: 64, memoryBytes: 256 * 1024 ** 2, maxOutputBytes: 1024 * 1024 },
  });
  sb = await provider.create({ base });
});
after(async () => {
  if (skip) return;
  await sb.dispose();
  await cleanup(stateDir, path.dirname(base));
});

function sandboxCgroups(id: string): string[] {
  const left: string[] = [];
  for (const ctrl of ['pids', 'memory', 'freezer', 'cpuacct']) {
    const dir = `/sys/fs/cgroup/${ctrl}/ssr`;
    if (!existsSync(dir)) continue;
    left.push(...readdirSync(dir).filter((n) => n.startsWith(`${id}.`)).map((n) => `${ctrl}/ssr/${n}`));
  }
  return left;
}

test('commands killed at the time or the pids limit leave no cgroups behind', { skip }, async () => {
  const m = uniqueMarker();
  // While a command runs its cgroups exist, so their absence afterwards means removal, not a missing feature.
  const running = sb.exec('sleep 2');
  const want = ['freezer', 'memory', 'pids', ...(existsSync('/sys/fs/cgroup/cpuacct') ? ['cpuacct'] : [])].sort();
  let seen: string[] = [];
  for (let i = 0; i < 100 && seen.length < want.length; i++) {
    await new Promise((r) => setTimeout(r, 20));
    seen = sandboxCgroups(sb.id);
  }
  assert.deepEqual(seen.map((c) => c.split('/')[0]).sort(), want);
  assert.equal((await running).exitCode, 0);
  assert.deepEqual(sandboxCgroups(sb.id), []);

  const r = await sb.exec(`sleep ${m} & sleep ${m}`, { timeoutMs: 1500 });
  assert.equal(r.killed, 'timeout');
  assert.deepEqual(await hostProcsWith(`sleep ${m}`), []);
  assert.deepEqual(sandboxCgroups(sb.id), []);

  const bomb = await sb.exec(`bomb() { bomb | bomb & }; bomb; sleep ${m} # ${m}`, { timeoutMs: 5000 });
  assert.equal(bomb.killed, 'pids');
  assert.deepEqual(await hostProcsWith(m), []);
  assert.deepEqual(sandboxCgroups(sb.id), []);
});

test('a CPU-time limit stops a command that computes past it, counting every process of its tree, and not one that waits', { skip }, async () => {
  // Two busy loops: the tree's CPU time grows about twice as fast as the wall clock on this machine's 2 cores.
  const busy = await sb.exec('(while :; do :; done) & while :; do :; done', { timeoutMs: 30_000, cpuTimeoutMs: 1_500 });
  assert.equal(busy.killed, 'cpu', JSON.stringify(busy));
  assert.ok(busy.cpuMs !== undefined && busy.cpuMs >= 1_500, `CPU time ${busy.cpuMs} ms`);
  assert.ok(busy.durationMs < 30_000, `${busy.durationMs} ms`);
  assert.deepEqual(sandboxCgroups(sb.id), []);
  // Waiting costs no CPU: a command that sleeps past the CPU limit's length ends on its own.
  const idle = await sb.exec('sleep 2; echo done', { timeoutMs: 30_000, cpuTimeoutMs: 1_000 });
  assert.equal(idle.killed, null);
  assert.equal(idle.stdout, 'done\n');
  assert.ok(idle.cpuMs !== undefined && idle.cpuMs < 1_000, `CPU time ${idle.cpuMs} ms`);
  // The wall-clock limit still holds beside it.
  const slept = await sb.exec('sleep 20', { timeoutMs: 1_000, cpuTimeoutMs: 60_000 });
  assert.equal(slept.killed, 'timeout');
});
