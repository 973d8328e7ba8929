/** How the injector takes a broken test's assertions away, per runner. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyEdits, findTests, hasSyntaxErrors } from '../../src/agents/code/index.js';
import { assertionRemovals } from '../../src/agents/injector.js';

const AVA = `import test from 'ava';
import up from './index.js';

test('upper', (t) => {
\tt.is(up('a'), 'A');
\tt.deepEqual([up('b')], ['B']);
});

test('async', async (exec) => {
\tawait exec.throwsAsync(Promise.reject(new Error('x')));
\texec.truthy(up('c'));
});

test('node assert', () => {
\tassert.equal(up('d'), 'D');
});
`;

describe('injector: assertionRemovals', () => {
  it('ava: the first assertion of each test becomes a pass() on its own context, so the weakened test still passes', async () => {
    const sites = await findTests('javascript', AVA);
    const out = applyEdits(AVA, sites.flatMap((s) => assertionRemovals('ava', AVA, s.assertions)));
    assert.equal(await hasSyntaxErrors('javascript', out), false);
    assert.match(out, /test\('upper', \(t\) => \{\n\tt\.pass\(\);\n\}\);/);
    assert.match(out, /test\('async', async \(exec\) => \{\n\texec\.pass\(\);\n\}\);/);
    // Not ava's context: nothing to call pass() on, the assertion simply goes.
    assert.match(out, /test\('node assert', \(\) => \{\n\}\);/);
    assert.doesNotMatch(out, /\.is\(|deepEqual|throwsAsync|truthy|assert\.equal/);
  });

  it('other runners: the assertions are only removed (an empty test passes there)', async () => {
    const sites = await findTests('javascript', AVA);
    for (const runner of ['jest', 'vitest', 'mocha', 'node-test', 'tape'] as const) {
      for (const s of sites) assert.deepEqual(assertionRemovals(runner, AVA, s.assertions), s.assertions);
    }
  });
});
