import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { LocalSandboxProvider } from '../../src/sandbox/local.js';
import type { Sandbox } from '../../src/sandbox/types.js';
import { cleanup, isolatedSkipReason, makeBase, tempDir, treeChecksum } from './helpers.js';

const skip = await isolatedSkipReason();
let stateDir = '';
let base = '';
let sb: Sandbox;

before(async () => {
  if (skip) return;
  stateDir = await tempDir('state');
  base = await makeBase({ 'a.txt': 'alpha\n', 'secret-original.py': 'ORIGINAL = True\n' });
  const provider = new LocalSandboxProvider({ stateDir, isolation: 'bwrap', defaults: { timeoutMs: 20_000 } });
  sb = await provider.create({ base });
});
after(async () => {
  if (skip) return;
  await sb.dispose();
  await cleanup(stateDir, path.dirname(base));
});

test('nothing outside the work directory and /tmp is writable, and the host never changes', { skip }, async () => {
  const before = await treeChecksum(base);
  const attempts: Record<string, string> = {
    '/etc/ssr-test': 'echo x > /etc/ssr-test',
    [path.join(base, 'file')]: `mkdir -p ${base} 2>/dev/null; echo x > ${base}/file`,
    '/root/ssr-test': 'touch /root/ssr-test',
    '/usr/ssr-test': 'touch /usr/ssr-test',
    '/ssr-test': 'touch /ssr-test',
    '/root/.pyenv/ssr-test': 'touch /root/.pyenv/ssr-test',
  };
  for (const [hostFile, cmd] of Object.entries(attempts)) {
    const r = await sb.exec(cmd);
    if (hostFile.startsWith(base)) {
      // The base's host path is not visible inside (it sits under the host's /tmp, which is private there):
      // whatever the command managed lands in the sandbox's own /tmp, never in the base.
      assert.equal(existsSync(hostFile), false, hostFile);
    } else {
      assert.notEqual(r.exitCode, 0, `${cmd} should fail`);
      assert.equal(existsSync(hostFile), false, hostFile);
    }
  }
  // The repository's tree and /tmp are writable.
  assert.equal((await sb.exec('echo x > in-repo && echo y > /tmp/t && cat in-repo /tmp/t')).stdout, 'x\ny\n');
  assert.equal(await treeChecksum(base), before);
});

test('the host is mostly hidden: no state dir, no base path, no credentials, no host processes', { skip }, async () => {
  const seen = await sb.exec(`test -e ${stateDir} && echo state; test -e ${base}/secret-original.py && echo base; test -e /work && echo work; test -e /run/docker.sock && echo docker; true`);
  assert.equal(seen.stdout, '');
  const root = (await sb.exec('ls -A /root')).stdout.trim().split('\n');
  for (const e of root) assert.ok(['.pyenv', '.cargo', '.rustup', 'go'].includes(e), `unexpected /root entry ${e}`);
  // Only the sandbox's own processes (bwrap's reaper, bash, ps) are visible.
  const ps = (await sb.exec('ps -e -o pid=')).stdout.trim().split('\n');
  assert.ok(ps.length <= 4, `sees ${ps.length} processes`);
  const caps = (await sb.exec('grep CapEff /proc/self/status')).stdout;
  assert.equal(caps, 'CapEff:\t0000000000000000\n');
  // Mounting (even a tmpfs) is denied: no capabilities, no new user namespaces.
  assert.notEqual((await sb.exec('mkdir -p /tmp/m && mount -t tmpfs none /tmp/m')).exitCode, 0);
  assert.notEqual((await sb.exec('unshare -U true')).exitCode, 0);
});

test('no network: the internet and the host loopback are unreachable', { skip }, async () => {
  const server = net.createServer((s) => s.end('hello from host\n'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const ext = await sb.exec(`python3 -c "import socket; socket.create_connection(('1.1.1.1', 53), timeout=3); print('connected')"`);
    assert.notEqual(ext.exitCode, 0);
    assert.equal(ext.stdout.includes('connected'), false);
    const local = await sb.exec(`python3 -c "import socket; s = socket.create_connection(('127.0.0.1', ${port}), timeout=3); print(s.recv(100))"`);
    assert.notEqual(local.exitCode, 0);
    assert.equal(local.stdout.includes('hello'), false);
    const dns = await sb.exec(`python3 -c "import socket; print(socket.gethostbyname('example.com'))"`);
    assert.notEqual(dns.exitCode, 0);
    // Loopback inside works, so test suites that start local servers still run.
    const lo = await sb.exec(`python3 -c "
import socket
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)
c = socket.create_connection(s.getsockname()); a, _ = s.accept(); a.sendall(b'ok'); print(c.recv(2).decode())"`);
    assert.equal(lo.stdout, 'ok\n');
  } finally {
    server.close();
  }
});
