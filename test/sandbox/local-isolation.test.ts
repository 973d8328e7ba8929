/**
 * What only the local backend shows inside: its root is the host's, bound read-only, so /root holds just the
 * toolchains, and each command gets a pid namespace of its own. The shared isolation contract (host unchanged,
 * host paths hidden, no capabilities, no network) runs in contract-local.test.ts.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { LocalSandboxProvider } from '../../src/sandbox/local.js';
import type { Sandbox } from '../../src/sandbox/types.js';
import { cleanup, isolatedSkipReason, makeBase, tempDir } from './helpers.js';

const skip = await isolatedSkipReason();
let stateDir = '';
let base = '';
let sb: Sandbox;

before(async () => {
  if (skip) return;
  stateDir = await tempDir('state');
  base = await makeBase({ 'a.txt': 'alpha\n' });
  const provider = new LocalSandboxProvider({ stateDir, isolation: 'bwrap', defaults: { timeoutMs: 20_000 } });
  sb = await provider.create({ base });
});
after(async () => {
  if (skip) return;
  await sb.dispose();
  await cleanup(stateDir, path.dirname(base));
});

test('/root shows only the toolchains, and a command sees only its own processes', { skip }, async () => {
  const root = (await sb.exec('ls -A /root')).stdout.trim().split('\n');
  for (const e of root) assert.ok(['.pyenv', '.cargo', '.rustup', 'go', '.m2'].includes(e), `unexpected /root entry ${e}`);
  // Of ~/.m2 only Maven's local repository: settings.xml and settings-security.xml hold credentials.
  if (root.includes('.m2')) assert.deepEqual((await sb.exec('ls -A /root/.m2')).stdout.trim().split('\n'), ['repository']);
  // Only the command's own processes (bwrap's reaper, bash, ps) are visible: a fresh pid namespace per command.
  const ps = (await sb.exec('ps -e -o pid=')).stdout.trim().split('\n');
  assert.ok(ps.length <= 4, `sees ${ps.length} processes`);
});
