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
let provider: LocalSandboxProvider;
let sb: Sandbox;

before(async () => {
  if (skip) return;
  stateDir = await tempDir('state');
  base = await makeBase({ 'a.txt': 'alpha\n' });
  provider = new LocalSandboxProvider({
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

function noSandboxCgroupsLeft(id: string): void {
  for (const ctrl of ['pids', 'memory', 'freezer']) {
    const dir = `/sys/fs/cgroup/${ctrl}/ssr`;
    if (!existsSync(dir)) continue;
    assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith(`${id}.`)), [], `${ctrl} cgroups left`);
  }
}

test('a command past its time limit is killed with everything it started', { skip }, async () => {
  const m = uniqueMarker();
  const r = await sb.exec(`sleep ${m} & sleep ${m}`, { timeoutMs: 1500 });
  assert.equal(r.killed, 'timeout');
  assert.equal(r.exitCode, null);
  assert.equal(r.signal, 'SIGKILL');
  assert.ok(r.durationMs >= 1400 && r.durationMs < 10_000, `took ${r.durationMs} ms`);
  assert.deepEqual(await hostProcsWith(`sleep ${m}`), []);
  noSandboxCgroupsLeft(sb.id);
});

test('background processes do not outlive the command that started them', { skip }, async () => {
  const m = uniqueMarker();
  const r = await sb.exec(`(setsid sleep ${m} &) ; nohup sleep ${m} >/dev/null 2>&1 & echo started`);
  assert.equal(r.stdout, 'started\n');
  assert.equal(r.exitCode, 0);
  assert.equal(r.killed, null);
  assert.deepEqual(await hostProcsWith(`sleep ${m}`), []);
});

test('a fork bomb is stopped by the pids limit and leaves no process', { skip }, async () => {
  const m = uniqueMarker();
  // The marker rides along in every forked copy's command line, so survivors would show up in /proc.
  const r = await sb.exec(`bomb() { bomb | bomb & }; bomb; sleep ${m} # ${m}`, { timeoutMs: 5000 });
  assert.equal(r.killed, 'pids');
  assert.deepEqual(await hostProcsWith(m), []);
  noSandboxCgroupsLeft(sb.id);
  // A spawning loop that never stops ends at the time limit, still reported as the pids limit it hit.
  const loop = await sb.exec(`while true; do sleep ${m} & done # ${m}`, { timeoutMs: 3000 });
  assert.equal(loop.killed, 'pids');
  assert.deepEqual(await hostProcsWith(m), []);
  // The sandbox still works afterwards.
  assert.equal((await sb.exec('echo ok')).stdout, 'ok\n');
});

test('a memory hog is killed by the memory limit', { skip }, async () => {
  const r = await sb.exec(`python3 -c "a = ' ' * (2 * 1024**3); print(len(a))"`, { timeoutMs: 30_000 });
  assert.equal(r.killed, 'memory');
  assert.notEqual(r.exitCode, 0);
  assert.equal(r.stdout, '');
  assert.equal((await sb.exec('echo ok')).stdout, 'ok\n');
});

test('huge output is cut at the cap, flagged, and the command stopped', { skip }, async () => {
  const r = await sb.exec('yes | head -c 100000000; echo done >&2');
  assert.equal(r.truncated, true);
  assert.equal(r.killed, 'output');
  assert.equal(r.stdout.length, 1024 * 1024);
  assert.ok(r.stdout.startsWith('y\ny\n'));
  // Each stream has its own cap; a small stderr next to a huge stdout is kept whole.
  const both = await sb.exec('echo small >&2; head -c 1500000 /dev/zero | tr "\\0" x');
  assert.equal(both.truncated, true);
  assert.equal(both.killed, null);
  assert.equal(both.stderr, 'small\n');
  assert.equal(both.stdout.length, 1024 * 1024);
  assert.equal(both.exitCode, 0);
});

test('limits given at create time override the provider defaults', { skip }, async () => {
  const small = await provider.create({ base }, { maxPids: 8, timeoutMs: 1000 });
  try {
    const r = await small.exec('for i in $(seq 20); do sleep 5 & done; wait');
    assert.equal(r.killed, 'pids');
    const t = await small.exec('sleep 30');
    assert.equal(t.killed, 'timeout');
  } finally {
    await small.dispose();
  }
});
