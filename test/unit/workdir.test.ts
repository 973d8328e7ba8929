/** Choosing an image repository's work directory from what the probe found (no Docker needed here). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseWorkdir } from '../../src/sandbox/docker/imageRepo.js';

const probe = (lines: string[]) => lines.join('\n') + '\n';

test("the image's WorkingDir inside a git repository wins over everything", () => {
  assert.deepEqual(chooseWorkdir(probe(['wdgit /app', 'git /other/.git', 'src /other/a.py', 'src /other/b.py'])), { workdir: '/app', from: 'git' });
});

test('without one, the git repository holding most sources', () => {
  const r = chooseWorkdir(probe(['git /srv/small/.git', 'git /srv/big/.git', 'src /srv/small/a.py', 'src /srv/big/a.go', 'src /srv/big/b.go']));
  assert.deepEqual(r, { workdir: '/srv/big', from: 'git' });
});

test('without git, the project manifest with most sources under it, tests included', () => {
  const r = chooseWorkdir(probe(['manifest /opt/app/pyproject.toml', 'manifest /opt/app/vendor/x/setup.py', 'src /opt/app/pkg/a.py', 'src /opt/app/pkg/b.py', 'src /opt/app/tests/test_a.py', 'src /opt/app/vendor/x/x.py', 'src /home/u/scratch.py']));
  assert.deepEqual(r, { workdir: '/opt/app', from: 'largest-source-tree' });
});

test('without git or manifest, the deepest directory holding nearly all sources', () => {
  const srcs = Array.from({ length: 19 }, (_, i) => `src /code/proj/m${i}.js`);
  assert.deepEqual(chooseWorkdir(probe([...srcs, 'src /code/stray.js'])), { workdir: '/code/proj', from: 'largest-source-tree' });
});

test('nothing to go on: null (the caller asks for a workdir in the config)', () => {
  assert.equal(chooseWorkdir(probe(['manifest /opt/Makefile'])), null);
  assert.equal(chooseWorkdir(''), null);
});
