import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changedLines, LineModel } from '../../src/agents/naturalness.js';

describe('naturalness: does an edit make its line read like the rest of the code', () => {
  // Every loop of this code says `i < n`; one (the injected bug) says `i <= n`.
  const code = [
    'def total(xs):\n    s = 0\n    for i in range(0, len(xs)):\n        if i < len(xs):\n            s += xs[i]\n    return s\n',
    'def count(xs, n):\n    c = 0\n    while c < n:\n        if c < len(xs):\n            c += 1\n    return c\n',
    'def first(xs, n):\n    i = 0\n    while i <= n:\n        i += 1\n    return i\n',
    'def last(xs, n):\n    i = 0\n    while i < n:\n        i += 1\n    return i\n',
  ];
  const model = new LineModel(code);

  it('the edit that undoes an odd comparison gains on both measures; the edit that makes one loses', () => {
    const [dp, dc] = model.editGain('    while i <= n:', '    while i < n:');
    assert.ok(dp > 0, `log-probability rises: ${dp}`);
    assert.ok(dc > 0, `the repaired line has a copy elsewhere: ${dc}`);
    // `i += 1` has a copy in another function; `i -= 1` has none.
    const [bp, bc] = model.editGain('        i += 1', '        i -= 1');
    assert.ok(bp < 0, `log-probability falls: ${bp}`);
    assert.ok(bc < 0, `the line loses its copies: ${bc}`);
  });

  it('a line never vouches for itself: a unique line scores like any unseen line', () => {
    // `while i <= n:` occurs once (itself): with itself left out, it has no copies, like an unseen comparison.
    const [, dc] = model.editGain('    while i <= n:', '    while i >= n:');
    assert.equal(dc, 0);
    // The model is unchanged by the query (it restores what it left out).
    assert.deepEqual(model.editGain('    while i <= n:', '    while i < n:'), model.editGain('    while i <= n:', '    while i < n:'));
  });

  it('changedLines pairs the lines an edit changes; an edit that adds or removes lines has none', () => {
    assert.deepEqual(changedLines('a\nb\nc', 'a\nB\nc'), [{ before: 'b', after: 'B' }]);
    assert.deepEqual(changedLines('a\nb', 'a\nb\nc'), []);
  });
});
