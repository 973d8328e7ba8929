/**
 * The locally built images on a real Docker engine: every example image holds its repository at the recorded
 * HEAD and runs the repository's own tests with no network at all (the caches the build warmed are all it has).
 * No engine is a failure with requireEngine's message, never a skip: these images are what the Docker sandbox runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { docker, managedLabels, requireEngine } from '../../src/sandbox/docker/engine.js';
import { ensureExampleImages } from '../../src/sandbox/docker/images.js';

const ROOT = process.cwd();
/** Each example's own test command, as its README gives it. */
const TESTS: Record<string, { cmd: string; ok: RegExp }> = {
  tallybook: { cmd: 'python3 -m pytest -q -p no:cacheprovider', ok: /\d+ passed/ },
  verspec: { cmd: 'node --test test/', ok: /# fail 0/ },
  exprel: { cmd: 'go test ./...', ok: /^ok\s+example\.com\/exprel/m },
};

let ready: Promise<Awaited<ReturnType<typeof ensureExampleImages>>> | undefined;
const images = () => (ready ??= requireEngine().then(() => ensureExampleImages()));

/** Runs `cmd` in a fresh container of `image` with networking off; returns exit code and combined output. */
async function runOffline(image: string, cmd: string): Promise<{ code: number; out: string }> {
  const d = docker();
  const c = await d.createContainer({
    Image: image, Cmd: ['bash', '-c', cmd], WorkingDir: '/src', NetworkDisabled: true,
    HostConfig: { NetworkMode: 'none' }, Labels: managedLabels('probe'),
  });
  try {
    await c.start();
    const { StatusCode } = await c.wait();
    const raw = (await c.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    return { code: StatusCode, out: demux(raw) };
  } finally {
    await c.remove({ force: true });
  }
}

/** The engine frames non-tty output: 8-byte headers (stream, 0, 0, 0, big-endian length) before each chunk. */
function demux(b: Buffer): string {
  let out = '';
  for (let i = 0; i + 8 <= b.length;) {
    const n = b.readUInt32BE(i + 4);
    out += b.subarray(i + 8, i + 8 + n).toString();
    i += 8 + n;
  }
  return out;
}

test('one image per example, tagged by its HEAD, and a second call is cached', async () => {
  const first = await images();
  assert.deepEqual(first.map((i) => i.name).sort(), Object.keys(TESTS).sort());
  for (const i of first) {
    const head = readFileSync(path.join(ROOT, 'examples', i.name, 'HEAD'), 'utf8').trim();
    assert.equal(i.ref, `ssr-example/${i.name}:${head.slice(0, 12)}`);
    assert.equal(i.workdir, '/src');
  }
  const t = performance.now();
  assert.deepEqual(await ensureExampleImages(), first);
  assert.ok(performance.now() - t < 5_000, 'a cached call builds nothing');
});

for (const [name, { cmd, ok }] of Object.entries(TESTS)) {
  test(`${name}: the repository at its HEAD, its tests pass offline`, async () => {
    const img = (await images()).find((i) => i.name === name);
    assert.ok(img, `an image for ${name}`);
    const head = readFileSync(path.join(ROOT, 'examples', name, 'HEAD'), 'utf8').trim();
    const rev = await runOffline(img.ref, 'git -C /src rev-parse HEAD && git -C /src status --porcelain && ls /sys/class/net');
    assert.equal(rev.code, 0, rev.out);
    // HEAD, a clean tree (status prints nothing), and no network interface but loopback.
    assert.equal(rev.out, `${head}\nlo\n`);
    const r = await runOffline(img.ref, `${cmd} 2>&1`);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, ok);
  });
}
