/**
 * The dev server's start: its gRPC port opens before its UI's, and it dies when the UI port is taken, which any
 * process can do between the choice of a port and the start (an outgoing connection's ephemeral port will do).
 * A CI soak lost its server that way after a kill; a start must notice and take another UI port.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureDevServer, findTemporalCli, freePort, portOpen } from '../../src/temporal/server.js';
import { temporalTarget } from '../../src/temporal/config.js';

test('a dev server whose UI port is taken starts on another UI port, and is alive after it says so', async () => {
  const home = mkdtempSync(path.join(tmpdir(), 'ssr-devserver-'));
  const squatter = net.createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
  const uiPort = (squatter.address() as net.AddressInfo).port;
  const port = await freePort();
  let pid: number | null = null;
  try {
    const srv = await ensureDevServer(home, { port, uiPort });
    pid = srv.pid;
    assert.equal(srv.reused, false);
    assert.ok(pid, 'the server has a pid');
    // Alive well after the UI's bind would have killed it.
    await new Promise((r) => setTimeout(r, 2000));
    assert.doesNotThrow(() => process.kill(pid!, 0), 'the server process is alive');
    assert.equal(await portOpen(port), true);
  } finally {
    if (pid) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    squatter.close();
    rmSync(home, { recursive: true, force: true });
  }
});

test('a dev server that dies at start because a port it picked itself was taken is started again', async () => {
  // Seen in CI: the server picks its HTTP API port itself, free when picked, and picked the gRPC port the caller had
  // just found free; it died at start with "bind: address already in use". A CLI that dies that way once (as the real
  // one does, in its own words) stands in for that race, which no test can bring about at will.
  const home = mkdtempSync(path.join(tmpdir(), 'ssr-devserver-'));
  const real = findTemporalCli();
  const marker = path.join(home, 'died-once');
  const wrapper = path.join(home, 'temporal-once');
  writeFileSync(wrapper, [
    '#!/bin/sh',
    `if [ ! -e '${marker}' ]; then : > '${marker}'; echo 'failed listening for HTTP API on 127.0.0.1:1: listen tcp 127.0.0.1:1: bind: address already in use'; exit 1; fi`,
    `exec '${real}' "$@"`,
  ].join('\n'), { mode: 0o755 });
  const saved = process.env.TEMPORAL_CLI;
  process.env.TEMPORAL_CLI = wrapper;
  const port = await freePort();
  let pid: number | null = null;
  try {
    const srv = await ensureDevServer(home, { port });
    pid = srv.pid;
    assert.equal(existsSync(marker), true, 'the first start died');
    assert.equal(srv.reused, false);
    assert.equal(await portOpen(port), true, 'the second start listens');
    // Anything else that kills a start is not retried: it says where its log is.
    const other = mkdtempSync(path.join(tmpdir(), 'ssr-devserver-'));
    writeFileSync(wrapper, '#!/bin/sh\necho "some other failure"; exit 1\n', { mode: 0o755 });
    try {
      await assert.rejects(ensureDevServer(other, { port: await freePort() }), /exited \(1\) at start; see .*temporal-\d+\.log/);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  } finally {
    if (saved === undefined) delete process.env.TEMPORAL_CLI; else process.env.TEMPORAL_CLI = saved;
    if (pid) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(home, { recursive: true, force: true });
  }
});

test('processes that find the port dark at once start one server between them; a lock left by a dead process is taken over; another home is told the server is not its own', async () => {
  const home = mkdtempSync(path.join(tmpdir(), 'ssr-devserver-'));
  const port = await freePort();
  const pids = new Set<number>();
  try {
    // A start lock as a crashed starter leaves it: its pid is gone.
    const dead = spawnSync('true').pid;
    mkdirSync(path.join(home, 'temporal'), { recursive: true });
    writeFileSync(path.join(home, 'temporal', `server-${port}.starting`), String(dead));
    const all = await Promise.all([1, 2, 3].map(() => ensureDevServer(home, { port })));
    for (const s of all) if (s.pid) pids.add(s.pid);
    assert.equal(all.filter((s) => !s.reused).length, 1, `exactly one call started a server: ${JSON.stringify(all)}`);
    assert.equal(pids.size, 1, `every call reports the same server: ${[...pids].join(', ')}`);
    assert.equal(existsSync(path.join(home, 'temporal', `server-${port}.starting`)), false, 'the lock is released');
    assert.equal(await portOpen(port), true);
    assert.equal((await ensureDevServer(home, { port })).foreignDb, undefined, 'its own home reuses it as its own');
    // Another state directory finds it on the same port: it is told whose it is, not shown its own database path.
    const other = mkdtempSync(path.join(tmpdir(), 'ssr-devserver-other-'));
    try {
      const s = await ensureDevServer(other, { port });
      assert.equal(s.reused, true);
      assert.equal(s.foreignDb, path.join(home, 'temporal', `temporal-${port}.db`));
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  } finally {
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(home, { recursive: true, force: true });
  }
});

test('a new state directory gets a dev server of its own when another home holds the default port', async () => {
  // Found by two people's campaigns on one machine: both homes' workers polled one server's queues, and each took
  // the other's activities, which failed on blobs of a store they did not have.
  const homeA = mkdtempSync(path.join(tmpdir(), 'ssr-devserver-a-'));
  const homeB = mkdtempSync(path.join(tmpdir(), 'ssr-devserver-b-'));
  const homeC = mkdtempSync(path.join(tmpdir(), 'ssr-devserver-c-'));
  const pids = new Set<number>();
  try {
    const def = await freePort();
    const a = await ensureDevServer(homeA, { port: def });
    if (a.pid) pids.add(a.pid);
    const b = await ensureDevServer(homeB, { defaultPort: def });
    if (b.pid) pids.add(b.pid);
    assert.notEqual(b.port, def, 'home B does not share home A\'s server');
    assert.equal(b.reused, false);
    assert.equal(b.foreignDb, undefined);
    assert.equal(b.dbFile, path.join(homeB, 'temporal', `temporal-${b.port}.db`));
    assert.equal(await portOpen(b.port), true);
    // Every later process of home B (workers, CLI commands) finds that port, through the record and the target.
    assert.equal(Number(readFileSync(path.join(homeB, 'temporal', 'port'), 'utf8')), b.port);
    assert.equal(temporalTarget({ SSR_HOME: homeB }).address, `127.0.0.1:${b.port}`);
    const again = await ensureDevServer(homeB, { defaultPort: def });
    assert.deepEqual([again.port, again.reused], [b.port, true]);
    // A home whose database is on the default port keeps it (its workflows are there): reused, and said whose it is.
    mkdirSync(path.join(homeC, 'temporal'), { recursive: true });
    writeFileSync(path.join(homeC, 'temporal', `temporal-${def}.db`), '');
    const c = await ensureDevServer(homeC, { defaultPort: def });
    assert.deepEqual([c.port, c.reused, c.foreignDb], [def, true, a.dbFile]);
  } finally {
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    for (const h of [homeA, homeB, homeC]) rmSync(h, { recursive: true, force: true });
  }
});
