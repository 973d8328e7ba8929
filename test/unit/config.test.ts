import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfigFile, parseConfig } from '../../src/config/load.js';

test('defaults come from the method', () => {
  const c = parseConfig({ repos: [{ path: '/x' }] });
  assert.equal(c.alpha, 0.8);
  assert.equal(c.minPassingTests, 5);
  assert.equal(c.minChangedFiles, 1);
  assert.equal(c.higherOrder.maxOrder, 2);
});

test('bad fields are named', () => {
  assert.throws(() => parseConfig({ repos: [], steps: 0 }), (e: unknown) => e instanceof ConfigError && /repos/.test(e.message) && /steps/.test(e.message));
  const dir = mkdtempSync(path.join(tmpdir(), 'cfg-'));
  writeFileSync(path.join(dir, 'bad.yaml'), 'repos: [\n');
  return assert.rejects(loadConfigFile(path.join(dir, 'bad.yaml')), /not valid YAML/);
});

test('repos get distinct names, from the parent of a folder called repo', () => {
  const c = parseConfig({ repos: [{ path: '/a/lib/repo' }, { path: '/b/lib/repo' }, { path: '/c/other', name: 'x' }] });
  assert.deepEqual(c.repos.map((r) => r.name), ['lib', 'lib-2', 'x']);
});

test('image repos: named after the image, workdir optional but absolute, mixed with directories, never path-resolved', async () => {
  const c = parseConfig({ repos: [{ image: 'registry:5000/team/proj:abc123' }, { image: 'proj@sha256:00ff', workdir: '/src' }, { path: '/a/lib' }] });
  assert.deepEqual(c.repos.map((r) => r.name), ['proj', 'proj-2', 'lib']);
  assert.throws(() => parseConfig({ repos: [{ image: 'x:1', workdir: 'src' }] }), ConfigError);
  // An entry is a directory or an image, never both and never neither.
  assert.throws(() => parseConfig({ repos: [{ image: 'x:1', path: '/a' }] }), ConfigError);
  assert.throws(() => parseConfig({ repos: [{ name: 'x' }] }), ConfigError);
  const dir = mkdtempSync(path.join(tmpdir(), 'cfg-'));
  writeFileSync(path.join(dir, 'c.yaml'), 'repos:\n  - image: myorg/app:1\n  - path: ./here\n');
  const { resolveRepoPaths } = await import('../../src/config/load.js');
  const r = resolveRepoPaths(await loadConfigFile(path.join(dir, 'c.yaml')), dir);
  assert.deepEqual(r.repos, [{ image: 'myorg/app:1', name: 'app' }, { path: path.join(dir, 'here'), name: 'here' }]);
});

test('a config file with a key no setting has is refused, each such key named with its nearest setting', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cfg-'));
  // A slip at the top, one inside a nested setting, one inside a repository entry; the known keys stay quiet.
  writeFileSync(path.join(dir, 'typo.yaml'), 'repos:\n  - path: /a\n    nmae: x\nstpes: 3\nrounds: 2\nsolverGradient:\n  learningrate: 3\n  picks: 4\nzzzzzzzz: 1\n');
  await assert.rejects(loadConfigFile(path.join(dir, 'typo.yaml')), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    const lines = e.message.split('\n').slice(1).map((l) => l.trim());
    assert.deepEqual(lines.sort(), [
      "repos.0.nmae: unknown (did you mean 'name'?)",
      "solverGradient.learningrate: unknown (did you mean 'learningRate'?)",
      "stpes: unknown (did you mean 'steps'?)",
      'zzzzzzzz: unknown',
    ]);
    return true;
  });
  // The same settings spelt right load.
  writeFileSync(path.join(dir, 'ok.yaml'), 'repos:\n  - path: /a\n    name: x\nsteps: 3\nsolverGradient:\n  learningRate: 3\n');
  const c = await loadConfigFile(path.join(dir, 'ok.yaml'));
  assert.equal(c.steps, 3);
  assert.equal(c.solverGradient.learningRate, 3);
});
