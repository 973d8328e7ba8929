/** Fault localisation counts each reported test for the test site it is, also where the runner's name is no site's. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { localize } from '../../src/agents/localize.js';
import { createRuntime } from '../../src/runtime.js';
import { makeRepo } from '../fixtures/runners/helpers.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('localize', () => {
  it('scores a failing test reported under a describe title made at run time by the suite helper that declares it', async () => {
    const dir = await makeRepo({
      files: {
        'lib.js': 'exports.pick = (xs, i) => xs[i];\nexports.first = (xs) => xs[0];\n',
        'test/lib.test.js': `const { describe, it } = require('node:test');
const assert = require('node:assert');
const { pick, first } = require('../lib.js');

describe('lib', () => {
  whenIndex(5, () => {
    it('picks the last', () => {
      assert.strictEqual(pick([1, 2], 5), 2);
    });
  });
  it('first', () => {
    assert.strictEqual(first([3]), 3);
  });
});

function whenIndex(n, fn) {
  describe('when index ' + n, fn);
}
`,
      },
    }, 'ssr-localize-');
    dirs.push(dir);
    const home = mkdtempSync(path.join(tmpdir(), 'ssr-localize-home-'));
    dirs.push(home);
    const sb = await createRuntime({ home }).provider.create({ base: dir });
    try {
      const results = { 'test/lib.test.js::lib > when index 5 > picks the last': 'failed', 'test/lib.test.js::lib > first': 'passed' } as const;
      const { suspects } = await localize(sb, ['test/lib.test.js'], results, ['lib.js']);
      assert.equal(suspects.get('pick')?.ochiai, 1, [...suspects.keys()].join(', '));
      assert.equal(suspects.has('first'), false);
    } finally {
      await sb.dispose();
    }
  });
});
