/**
 * The sandbox contract (src/sandbox/types.ts) as one test suite that every backend runs: contract-local.test.ts on
 * the local bubblewrap backend, contract-docker.test.ts on the Docker backend. Real processes, real trees, no
 * mocks. Bases are host directories made with makeBase(); the Docker backend copies them into a toolchain image,
 * so commands here use only sh/bash, coreutils, ps, python3 and node.
 *
 * What only one backend has (the local backend's cgroup directories, overlay layers, deleteSnapshot, doctor, the
 * go/cargo warm caches) is tested in that backend's own files, not here.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { SandboxPathError } from '../../src/sandbox/errors.js';
import type { Sandbox, SandboxLimits, SandboxProvider } from '../../src/sandbox/types.js';
import { cleanup, hostProcsWith, makeBase, treeChecksum, uniqueMarker } from './helpers.js';

export interface ContractBackend {
  /** 'local' | 'docker': prefixes every test title, and is the `backend` of the snapshots it makes. */
  name: string;
  /** Provider with the given default limits; called once per section of the suite. */
  provider(defaults: Partial<SandboxLimits>): Promise<SandboxProvider>;
  /** Called in after(): removes whatever the backend made (state directories, images, containers). */
  teardown(): Promise<void>;
  /**
   * Whether processes of a sandbox show in the host's /proc (true for both backends here: same kernel). With a
   * remote engine they would not, and a look at the host's /proc for survivors would prove nothing: survivors are
   * then looked for only from inside the sandbox (which both backends always do as well).
   */
  processesOnHost: boolean;
  /** The work directory as commands see it: each backend mounts the tree at a path of its own ('/sandbox/repo', '/repo'). */
  workdir: string;
  /**
   * $HOME of commands. The local backend points it at the sandbox's private /tmp (the real /root holds the
   * host's read-only toolchains); a container has a /root of its own in its writable layer.
   */
  home: string;
  /**
   * Whether root inside may write outside the work directory and /tmp. The local backend's root filesystem is a
   * read-only bind of the host's, so such writes fail. In Docker, root may write /etc or /usr inside its own
   * container layer: legitimate, as long as it never reaches the host or another sandbox (asserted either way).
   */
  writableRootInside: boolean;
  /** Host paths where the backend keeps its own state (the local state dir, Docker's data root): all hidden inside. */
  statePaths(): string[];
  /**
   * Whether the free-space watchdog can see the filesystem under the writable layer (the local backend always; a
   * local Docker engine through its data root). Without it only RLIMIT_FSIZE guards the disk.
   */
  watchesHostDisk: boolean;
  /**
   * Whether commands' CPU time is measured and limited (`cpuMs`, `cpuTimeoutMs`): the local backend with a cpuacct
   * (v1) or cpu.stat (v2) group, a local Docker engine through its containers' groups on this machine.
   */
  measuresCpu: boolean;
}

const MiB = 1024 * 1024;

/** Registers the contract's tests for one backend. */
export function sandboxContract(backend: ContractBackend): void {
  const t = (title: string) => `[${backend.name}] ${title}`;
  after(() => backend.teardown());

  /**
   * Nothing whose command line holds `marker` runs, seen from the host (where it can look) and from inside. A process
   * sent SIGKILL dies when it is next scheduled, which on a loaded machine can be a moment after the command returned
   * (a CI run beside a demo saw one): a survivor is one still there after a few seconds, not one caught dying.
   */
  async function assertNoSurvivors(sb: Sandbox, marker: string): Promise<void> {
    if (backend.processesOnHost) {
      let seen = await hostProcsWith(marker);
      for (let i = 0; i < 50 && seen.length > 0; i++) {
        await new Promise((r) => setTimeout(r, 100));
        seen = await hostProcsWith(marker);
      }
      assert.deepEqual(seen, [], `host sees survivors of ${marker}`);
    }
    const ps = await sb.exec('ps -e -o args=');
    assert.equal(ps.exitCode, 0, ps.stderr);
    assert.deepEqual(ps.stdout.split('\n').filter((l) => l.includes(marker)), [], `sandbox sees survivors of ${marker}`);
  }

  describe(t('exec, files, snapshots'), () => {
    let provider: SandboxProvider;
    let base = '';

    before(async () => {
      base = await makeBase({ 'a.txt': 'alpha\n', 'src/lib.py': 'X = 1\n', '.git/HEAD': 'ref: refs/heads/main\n', 'keep/k.txt': 'k\n' });
      provider = await backend.provider({ timeoutMs: 30_000 });
    });
    after(() => cleanup(path.dirname(base)));

    test(t('exec: stdout and stderr apart, exit codes, stdin, env, cwd'), async () => {
      const sb = await provider.create({ base });
      try {
        assert.equal(sb.workdir, backend.workdir);
        const r = await sb.exec('echo out; echo err >&2; exit 7');
        assert.equal(r.stdout, 'out\n');
        assert.equal(r.stderr, 'err\n');
        assert.equal(r.exitCode, 7);
        assert.equal(r.signal, null);
        assert.equal(r.killed, null);
        assert.equal(r.truncated, false);
        assert.ok(r.durationMs >= 0);

        assert.equal((await sb.exec('pwd')).stdout, `${backend.workdir}\n`);
        assert.equal((await sb.exec('cat a.txt')).stdout, 'alpha\n');
        assert.equal((await sb.exec('tr a-z A-Z', { stdin: 'hello' })).stdout, 'HELLO');
        // Without stdin a command reads end of input at once instead of hanging.
        assert.equal((await sb.exec('cat; echo eof')).stdout, 'eof\n');
        // The environment is fixed: nothing of the host's leaks in, options.env is added.
        process.env.SSR_SECRET_TEST = 'leak';
        try {
          const env = await sb.exec('echo "$FOO|$HOME|$LANG|${SSR_SECRET_TEST:-none}"', { env: { FOO: 'bar' } });
          assert.equal(env.stdout, `bar|${backend.home}|C.UTF-8|none\n`);
        } finally {
          delete process.env.SSR_SECRET_TEST;
        }
        assert.equal((await sb.exec('test -d "$HOME" && test -w "$HOME" && echo home-ok')).stdout, 'home-ok\n');
        assert.equal((await sb.exec('pwd', { cwd: 'src' })).stdout, `${backend.workdir}/src\n`);
        assert.equal((await sb.exec('pwd', { cwd: `${backend.workdir}/keep` })).stdout, `${backend.workdir}/keep\n`);
        const missing = await sb.exec('pwd', { cwd: 'nope' });
        assert.notEqual(missing.exitCode, 0);
        assert.equal(missing.stdout, '');
        await assert.rejects(sb.exec('pwd', { cwd: '../..' }), SandboxPathError);
        await assert.rejects(sb.exec('pwd', { cwd: '/etc' }), SandboxPathError);
        // A signal-killed command reports the shell convention (128 + signal), the same in every backend.
        const term = await sb.exec('kill -TERM $$');
        assert.deepEqual([term.exitCode, term.signal, term.killed], [143, null, null]);
      } finally {
        await sb.dispose();
      }
    });

    test(t('writes persist across execs; sandboxes over one base are independent; the base never changes'), async () => {
      const sum = await treeChecksum(base);
      const a = await provider.create({ base });
      const b = await provider.create({ base });
      try {
        assert.notEqual(a.id, b.id);
        assert.equal((await a.exec('echo one > new.txt && echo changed > a.txt && rm src/lib.py && mkdir -p d/e && echo z > d/e/z')).exitCode, 0);
        assert.equal((await a.exec('cat new.txt a.txt d/e/z; test -e src/lib.py || echo gone')).stdout, 'one\nchanged\nz\ngone\n');
        const inB = await b.exec('test -e new.txt && echo yes || echo no; cat a.txt src/lib.py');
        assert.equal(inB.stdout, 'no\nalpha\nX = 1\n');
        assert.equal((await b.exec('echo b > b-only.txt')).exitCode, 0);
        assert.notEqual((await a.exec('cat b-only.txt')).exitCode, 0);
      } finally {
        await a.dispose();
        await b.dispose();
      }
      assert.equal(await treeChecksum(base), sum);
      // A sandbox made after all that starts from the base again.
      const c = await provider.create({ base });
      try {
        assert.equal((await c.exec('cat a.txt src/lib.py; ls -A')).stdout, 'alpha\nX = 1\n.git\na.txt\nkeep\nsrc\n');
      } finally {
        await c.dispose();
      }
    });

    test(t('readFile and writeFile stay inside the work directory'), async () => {
      const sb = await provider.create({ base });
      try {
        assert.equal((await sb.readFile('a.txt')).toString(), 'alpha\n');
        assert.equal((await sb.readFile(`${backend.workdir}/src/lib.py`)).toString(), 'X = 1\n');
        const bin = Buffer.from([0, 1, 2, 255, 254, 10, 13, 0]);
        await sb.writeFile('deep/er/bin.dat', bin);
        assert.deepEqual(await sb.readFile('deep/er/bin.dat'), bin);
        assert.equal((await sb.exec('wc -c < deep/er/bin.dat')).stdout.trim(), '8');
        await sb.writeFile('a.txt', 'overwritten');
        assert.equal((await sb.exec('cat a.txt')).stdout, 'overwritten');

        await assert.rejects(sb.readFile('../../etc/passwd'), SandboxPathError);
        await assert.rejects(sb.readFile('/etc/passwd'), SandboxPathError);
        await assert.rejects(sb.writeFile('../x', 'x'), SandboxPathError);
        await assert.rejects(sb.writeFile('/tmp/x', 'x'), SandboxPathError);
        await assert.rejects(sb.readFile('missing.txt'), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
        await assert.rejects(sb.readFile('src'), (e: NodeJS.ErrnoException) => e.code === 'EISDIR');
        await assert.rejects(sb.writeFile('src', 'x'), (e: NodeJS.ErrnoException) => e.code === 'EISDIR');
        // Symlinks that lead out are refused both ways, even though the outside is itself sandboxed.
        assert.equal((await sb.exec('ln -s /etc/passwd pw && ln -s /tmp out && ln -s a.txt inside')).exitCode, 0);
        await assert.rejects(sb.readFile('pw'), SandboxPathError);
        await assert.rejects(sb.writeFile('out/x', 'x'), SandboxPathError);
        assert.equal((await sb.exec('test -e /tmp/x && echo written; true')).stdout, '');
        assert.equal((await sb.readFile('inside')).toString(), 'overwritten');
      } finally {
        await sb.dispose();
      }
    });

    test(t('snapshot: later sandboxes see the frozen changes and deletions, and stay independent'), async () => {
      const baseSum = await treeChecksum(base);
      const a = await provider.create({ base });
      let snap;
      try {
        assert.equal((await a.exec('echo buggy > src/lib.py && echo n > n.txt && rm a.txt && rm -rf .git keep')).exitCode, 0);
        snap = await a.snapshot();
        assert.equal(snap.backend, backend.name);
        assert.ok(snap.layers.length >= 1);
        // The sandbox goes on after the snapshot; its later changes are not part of the snapshot.
        assert.equal((await a.exec('cat src/lib.py && echo after > after.txt')).stdout, 'buggy\n');
      } finally {
        await a.dispose();
      }

      // The snapshot outlives the sandbox it was taken from.
      const b = await provider.create(snap);
      const c = await provider.create(snap);
      try {
        for (const sb of [b, c]) {
          const r = await sb.exec('cat src/lib.py n.txt; for f in a.txt .git keep after.txt; do test -e $f && echo "has $f"; done; true');
          assert.equal(r.stdout, 'buggy\nn\n');
        }
        assert.equal((await b.exec('echo b > src/lib.py && echo again > a.txt && rm n.txt')).exitCode, 0);
        assert.equal((await c.exec('cat src/lib.py n.txt; test -e a.txt || echo no-a')).stdout, 'buggy\nn\nno-a\n');

        // A snapshot of a sandbox started from a snapshot holds both sets of changes.
        const snap2 = await b.snapshot();
        assert.equal(snap2.backend, backend.name);
        const d = await provider.create(snap2);
        try {
          assert.equal((await d.exec('cat src/lib.py a.txt; test -e n.txt || echo no-n; test -e keep || echo no-keep')).stdout, 'b\nagain\nno-n\nno-keep\n');
        } finally {
          await d.dispose();
        }
        // The first snapshot is unchanged by the second.
        const e = await provider.create(snap);
        try {
          assert.equal((await e.exec('cat src/lib.py n.txt; test -e a.txt || echo no-a')).stdout, 'buggy\nn\nno-a\n');
        } finally {
          await e.dispose();
        }
      } finally {
        await b.dispose();
        await c.dispose();
      }
      assert.equal(await treeChecksum(base), baseSum);
    });

    test(t('dispose: a disposed sandbox refuses work, and disposing twice is harmless'), async () => {
      const sb = await provider.create({ base });
      assert.equal((await sb.exec('echo x > x')).exitCode, 0);
      await sb.dispose();
      await assert.rejects(sb.exec('true'), /disposed/);
      await assert.rejects(sb.readFile('a.txt'), /disposed/);
      await assert.rejects(sb.writeFile('y', 'y'), /disposed/);
      await assert.rejects(sb.snapshot(), /disposed/);
      await sb.dispose();
    });
  });

  describe(t('limits'), () => {
    let provider: SandboxProvider;
    let base = '';
    let sb: Sandbox;

    before(async () => {
      base = await makeBase({ 'a.txt': 'alpha\n' });
      provider = await backend.provider({ timeoutMs: 20_000, maxPids: 64, memoryBytes: 256 * MiB, maxOutputBytes: MiB });
      sb = await provider.create({ base });
    });
    after(async () => {
      await sb?.dispose();
      await cleanup(path.dirname(base));
    });

    test(t('a command past its time limit is killed with everything it started'), async () => {
      const m = uniqueMarker();
      const r = await sb.exec(`sleep ${m} & sleep ${m}`, { timeoutMs: 1500 });
      assert.equal(r.killed, 'timeout');
      assert.equal(r.exitCode, null);
      assert.equal(r.signal, 'SIGKILL');
      assert.ok(r.durationMs >= 1400 && r.durationMs < 10_000, `took ${r.durationMs} ms`);
      await assertNoSurvivors(sb, `sleep ${m}`);
      // Output written before the kill is kept.
      const partial = await sb.exec(`echo before; sleep ${m}`, { timeoutMs: 1000 });
      assert.deepEqual([partial.killed, partial.stdout], ['timeout', 'before\n']);
      await assertNoSurvivors(sb, `sleep ${m}`);
    });

    test(t('a CPU-time limit stops a command that computes past it, counting every process it started, and not one that waits'), { skip: !backend.measuresCpu && 'this backend measures no CPU time here' }, async () => {
      const m = uniqueMarker();
      const busy = await sb.exec(`(while :; do :; done) & while :; do :; done # ${m}`, { timeoutMs: 30_000, cpuTimeoutMs: 1_500 });
      assert.equal(busy.killed, 'cpu', JSON.stringify(busy));
      assert.equal(busy.exitCode, null);
      assert.ok(busy.cpuMs !== undefined && busy.cpuMs >= 1_500, `CPU time ${busy.cpuMs} ms`);
      assert.ok(busy.durationMs < 30_000, `${busy.durationMs} ms`);
      await assertNoSurvivors(sb, m);
      // Waiting costs no CPU: a command that sleeps past the CPU limit's length ends on its own, and says what it used.
      const idle = await sb.exec('sleep 2; echo done', { timeoutMs: 30_000, cpuTimeoutMs: 1_000 });
      assert.deepEqual([idle.killed, idle.stdout], [null, 'done\n']);
      assert.ok(idle.cpuMs !== undefined && idle.cpuMs < 1_000, `CPU time ${idle.cpuMs} ms`);
      // The wall-clock limit still holds beside it.
      const slept = await sb.exec(`sleep ${m}`, { timeoutMs: 1_000, cpuTimeoutMs: 60_000 });
      assert.equal(slept.killed, 'timeout');
      await assertNoSurvivors(sb, `sleep ${m}`);
    });

    test(t('background processes do not outlive the command that started them'), async () => {
      const m = uniqueMarker();
      const r = await sb.exec(`(setsid sleep ${m} &) ; nohup sleep ${m} >/dev/null 2>&1 & echo started`);
      assert.equal(r.stdout, 'started\n');
      assert.equal(r.exitCode, 0);
      assert.equal(r.killed, null);
      await assertNoSurvivors(sb, `sleep ${m}`);
    });

    test(t('a fork bomb is stopped by the pids limit and leaves no process'), async () => {
      const m = uniqueMarker();
      // The marker rides along in every forked copy's command line, so survivors would show up in /proc.
      const r = await sb.exec(`bomb() { bomb | bomb & }; bomb; sleep ${m} # ${m}`, { timeoutMs: 5000 });
      assert.equal(r.killed, 'pids');
      await assertNoSurvivors(sb, m);
      // A spawning loop that never stops ends at the time limit, still reported as the pids limit it hit.
      const loop = await sb.exec(`while true; do sleep ${m} & done # ${m}`, { timeoutMs: 3000 });
      assert.equal(loop.killed, 'pids');
      await assertNoSurvivors(sb, m);
      // The sandbox still works afterwards, with its files.
      const ok = await sb.exec('echo ok; cat a.txt');
      assert.deepEqual([ok.stdout, ok.killed, ok.exitCode], ['ok\nalpha\n', null, 0]);
    });

    test(t('a memory hog is killed by the memory limit'), async () => {
      const r = await sb.exec(`python3 -c "a = ' ' * (2 * 1024**3); print(len(a))"`, { timeoutMs: 30_000 });
      assert.equal(r.killed, 'memory');
      assert.notEqual(r.exitCode, 0);
      assert.equal(r.stdout, '');
      const ok = await sb.exec('echo ok');
      assert.deepEqual([ok.stdout, ok.killed], ['ok\n', null]);
    });

    test(t('huge output is cut at the cap, flagged, and the command stopped'), async () => {
      const r = await sb.exec('yes | head -c 100000000; echo done >&2');
      assert.equal(r.truncated, true);
      assert.equal(r.killed, 'output');
      assert.equal(r.stdout.length, MiB);
      assert.ok(r.stdout.startsWith('y\ny\n'));
      assert.ok(r.durationMs < 20_000, `took ${r.durationMs} ms`);
      // Each stream has its own cap; a small stderr next to a huge stdout is kept whole.
      const both = await sb.exec('echo small >&2; head -c 1500000 /dev/zero | tr "\\0" x');
      assert.equal(both.truncated, true);
      assert.equal(both.killed, null);
      assert.equal(both.stderr, 'small\n');
      assert.equal(both.stdout.length, MiB);
      assert.equal(both.exitCode, 0);
      // And the other way round.
      const err = await sb.exec('echo small; head -c 1500000 /dev/zero | tr "\\0" x >&2');
      assert.deepEqual([err.truncated, err.killed, err.stdout, err.stderr.length, err.exitCode], [true, null, 'small\n', MiB, 0]);
      // Under the cap nothing is flagged.
      const fits = await sb.exec('head -c 1000000 /dev/zero | tr "\\0" x');
      assert.deepEqual([fits.truncated, fits.killed, fits.stdout.length], [false, null, 1_000_000]);
    });

    test(t('limits given at create time override the provider defaults'), async () => {
      const small = await provider.create({ base }, { maxPids: 8, timeoutMs: 1000 });
      try {
        const r = await small.exec('for i in $(seq 20); do sleep 5 & done; wait');
        assert.equal(r.killed, 'pids');
        const tm = await small.exec('sleep 30');
        assert.equal(tm.killed, 'timeout');
        assert.ok(tm.durationMs < 10_000, `took ${tm.durationMs} ms`);
        // A per-command timeout overrides the sandbox's.
        const longer = await small.exec('sleep 1.5; echo slept', { timeoutMs: 10_000 });
        assert.deepEqual([longer.stdout, longer.killed], ['slept\n', null]);
      } finally {
        await small.dispose();
      }
      // The defaults still hold for other sandboxes of the provider: 20 sleeps fit under 64 pids.
      const r = await sb.exec('for i in $(seq 20); do sleep 0.2 & done; wait; echo done');
      assert.deepEqual([r.stdout, r.killed], ['done\n', null]);
    });
  });

  describe(t('disk'), () => {
    const cap = 16 * MiB;
    let provider: SandboxProvider;
    let base = '';
    let sb: Sandbox;

    before(async () => {
      base = await makeBase({ 'a.txt': 'alpha\n' });
      provider = await backend.provider({ timeoutMs: 30_000, maxFileBytes: cap });
      sb = await provider.create({ base });
    });
    after(async () => {
      await sb?.dispose();
      await cleanup(path.dirname(base));
    });

    test(t('a file growing past maxFileBytes stops its writer, reported as disk; the host keeps its space'), async () => {
      const sum = await treeChecksum(base);
      const before = await statfs(path.dirname(base));
      // 4 GiB asked for: without the limit this would take minutes and gigabytes of the host's disk.
      for (const target of ['big.bin', '/tmp/big.bin']) {
        const r = await sb.exec(`head -c 4G /dev/zero > ${target}`);
        assert.equal(r.killed, 'disk', `${target}: ${JSON.stringify(r)}`);
        const size = await sb.exec(`stat -c %s ${target}`);
        assert.ok(Number(size.stdout) <= cap, `${target} grew to ${size.stdout.trim()} bytes past the ${cap} cap`);
      }
      // The sandbox goes on with small files, and the base never saw any of it.
      const ok = await sb.exec('rm -f big.bin /tmp/big.bin && head -c 1M /dev/zero > small.bin && stat -c %s small.bin && cat a.txt');
      assert.deepEqual([ok.stdout, ok.killed, ok.exitCode], [`${MiB}\nalpha\n`, null, 0]);
      assert.equal(await treeChecksum(base), sum);
      // Other writers share this machine's disk, so only a loss near the 4 GiB asked for would prove harm.
      const after = await statfs(path.dirname(base));
      assert.ok(before.bavail * before.bsize - after.bavail * after.bsize < 1024 * MiB, 'the host lost a gigabyte or more');
    });

    test(t('a script\'s own exit 153 (128 + SIGXFSZ) is its exit status, not a disk kill'), async () => {
      const r = await sb.exec('head -c 1M /dev/zero > small.bin; exit 153');
      assert.deepEqual([r.exitCode, r.killed], [153, null], JSON.stringify(r));
      await sb.exec('rm -f small.bin');
    });

    test(t('below the free-space floor a command writing many small files is killed, reported as disk'), async () => {
      // A floor above the filesystem's size: free space is below it from the start, so the watchdog must fire on
      // its first poll, with no need to fill a disk other work on this machine shares.
      const total = await statfs(path.dirname(base));
      const low = await provider.create({ base }, { minFreeDiskBytes: total.blocks * total.bsize + 1 });
      try {
        if (backend.watchesHostDisk) {
          const r = await low.exec('i=0; while :; do head -c 64K /dev/zero > f$i; i=$((i+1)); done');
          assert.equal(r.killed, 'disk', JSON.stringify(r));
          assert.equal(r.exitCode, null);
        } else {
          // A remote engine's disk is out of sight: the floor cannot apply, and nothing is killed for it.
          const r = await low.exec('for i in 1 2 3; do head -c 64K /dev/zero > f$i; done; sleep 1; echo done');
          assert.deepEqual([r.stdout, r.killed], ['done\n', null]);
        }
      } finally {
        await low.dispose();
      }
      // The default floor leaves ordinary commands alone.
      const ok = await sb.exec('echo fine');
      assert.deepEqual([ok.stdout, ok.killed], ['fine\n', null]);
    });
  });

  describe(t('isolation'), () => {
    let provider: SandboxProvider;
    let base = '';
    let sb: Sandbox;

    before(async () => {
      base = await makeBase({ 'a.txt': 'alpha\n', 'secret-original.py': 'ORIGINAL = True\n' });
      provider = await backend.provider({ timeoutMs: 20_000 });
      sb = await provider.create({ base });
    });
    after(async () => {
      await sb?.dispose();
      await cleanup(path.dirname(base));
    });

    test(t('nothing outside the work directory and /tmp reaches the host, and the base never changes'), async () => {
      const sum = await treeChecksum(base);
      const m = uniqueMarker();
      const outside = [`/etc/ssr-test-${m}`, `/root/ssr-test-${m}`, `/usr/ssr-test-${m}`, `/ssr-test-${m}`, `/root/.pyenv/ssr-test-${m}`];
      for (const p of outside) {
        const r = await sb.exec(`touch ${p}`);
        if (!backend.writableRootInside) assert.notEqual(r.exitCode, 0, `touch ${p} should fail`);
        assert.equal(existsSync(p), false, `${p} reached the host`);
      }
      // The base's host path is not visible inside: whatever a command manages there never lands in the base.
      await sb.exec(`mkdir -p ${base} 2>/dev/null; echo x > ${base}/file; echo x > ${base}/a.txt`);
      assert.equal(existsSync(path.join(base, 'file')), false);
      // The repository's tree and /tmp are writable.
      assert.equal((await sb.exec('echo x > in-repo && echo y > /tmp/t && cat in-repo /tmp/t')).stdout, 'x\ny\n');
      assert.equal(await treeChecksum(base), sum);
      // Nor does any of it reach another sandbox over the same base.
      const other = await provider.create({ base });
      try {
        const seen = await other.exec(`for f in ${outside.join(' ')} /tmp/t in-repo; do test -e $f && echo "sees $f"; done; cat a.txt`);
        assert.equal(seen.stdout, 'alpha\n');
      } finally {
        await other.dispose();
      }
    });

    test(t('the host is hidden: no state, no base path, no /work, no docker socket, no host processes'), async () => {
      // A fresh sandbox: the one above may have made these paths inside itself, in its own /tmp or layer.
      const fresh = await provider.create({ base });
      try {
        const hidden = [...backend.statePaths(), base, `${base}/secret-original.py`, '/work', '/run/docker.sock', '/var/run/docker.sock'];
        // Each of these exists on the host (the test runs from /work), so not seeing it means it is hidden.
        for (const p of [...backend.statePaths(), base, '/work']) assert.ok(existsSync(p), `${p} should exist on the host`);
        const seen = await fresh.exec(`for p in ${hidden.join(' ')}; do test -e "$p" && echo "sees $p"; done; true`);
        assert.equal(seen.exitCode, 0);
        assert.equal(seen.stdout, '');
        // A host process is invisible inside, though the host sees it.
        const m = uniqueMarker();
        const host: ChildProcess = spawn('sleep', [m], { stdio: 'ignore' });
        try {
          await new Promise<void>((resolve, reject) => host.once('spawn', resolve).once('error', reject));
          assert.equal((await hostProcsWith(`sleep ${m}`)).length, 1);
          const ps = await fresh.exec('ps -e -o args=');
          assert.equal(ps.exitCode, 0, ps.stderr);
          const procs = ps.stdout.trim().split('\n');
          assert.equal(procs.some((l) => l.includes(m)), false, 'a host process is visible');
          // Only the sandbox's own processes (an init, the command's shells, ps) are there.
          assert.ok(procs.length <= 6, `sees ${procs.length} processes:\n${ps.stdout}`);
        } finally {
          host.kill('SIGKILL');
        }
      } finally {
        await fresh.dispose();
      }
    });

    test(t('no capabilities, no mounts, no new user namespaces'), async () => {
      assert.equal((await sb.exec('grep CapEff /proc/self/status')).stdout, 'CapEff:\t0000000000000000\n');
      // Mounting (even a tmpfs) is denied.
      const mnt = await sb.exec('mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mounted');
      assert.notEqual(mnt.exitCode, 0);
      assert.equal(mnt.stdout, '');
      const userns = await sb.exec('unshare -U true && echo unshared');
      assert.notEqual(userns.exitCode, 0);
      assert.equal(userns.stdout, '');
    });

    test(t('no network: the internet, the host loopback and DNS are unreachable'), async () => {
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
        assert.equal(lo.stdout, 'ok\n', lo.stderr);
      } finally {
        server.close();
      }
    });
  });

  describe(t('toolchains'), () => {
    let base = '';
    let sb: Sandbox;

    before(async () => {
      base = await makeBase({
        'pkg/calc.py': 'def add(a, b):\n    return a + b\n',
        'run.py': 'import sys\nfrom pkg.calc import add\nprint(add(1, 2), sys.version_info[0])\n',
        'js/t.mjs': 'import assert from "node:assert"; assert.equal(1 + 1, 2); console.log("node ok");\n',
      });
      sb = await (await backend.provider({ timeoutMs: 60_000 })).create({ base });
    });
    after(async () => {
      await sb?.dispose();
      await cleanup(path.dirname(base));
    });

    test(t('python3 runs the repository\'s code'), async () => {
      const r = await sb.exec('python3 run.py');
      assert.equal(r.stdout, '3 3\n', r.stderr);
      assert.equal(r.exitCode, 0);
    });

    test(t('node runs'), async () => {
      const r = await sb.exec('node js/t.mjs');
      assert.equal(r.stdout, 'node ok\n', r.stderr);
      assert.equal(r.exitCode, 0);
    });
  });
}
