import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { traceDistance, tracedLines } from '../../src/agents/traces.js';

describe('traces: code lines a failing run went through', () => {
  const code = ['pkg/money.py', 'src/range.js', 'parser/ast.go', 'ast.go', 'src/main/java/a/B.java'];

  it('reads Python tracebacks, JS stack frames, Go and Java locations, matched to repository files by path suffix', () => {
    const log = [
      'Traceback (most recent call last):',
      '  File "/sandbox/repo/pkg/money.py", line 68, in parse',
      '  File "/sandbox/repo/tests/test_money.py", line 12, in test_parse',
      '    at satisfies (file:///sandbox/repo/src/range.js:46:11)',
      '    at TestContext.<anonymous> (file:///sandbox/repo/test/range.test.js:9:3)',
      'panic: runtime error [recovered]\n\t/sandbox/repo/parser/ast.go:79 +0x1d',
      '\tat a.B.run(B.java:30)',
      'pkg/money.py:68: duplicate mention',
    ].join('\n');
    const t = tracedLines(log, code);
    assert.deepEqual(t.get('pkg/money.py'), [68]);
    assert.deepEqual(t.get('src/range.js'), [46]);
    // The longest matching path wins: parser/ast.go, not the top-level ast.go.
    assert.deepEqual(t.get('parser/ast.go'), [79]);
    assert.equal(t.has('ast.go'), false);
    // A test file is not a code file; a bare file name counts when one code file has it, not when two do.
    assert.equal([...t.keys()].some((f) => f.includes('test')), false);
    assert.deepEqual(t.get('src/main/java/a/B.java'), [30]);
    assert.equal(tracedLines('at x(B.java:3)', [...code, 'src/main/java/c/B.java']).size, 0);
    // javac's errors as Maven prints them (the maven runner makes its build copy's paths repository-relative).
    assert.deepEqual(tracedLines('[ERROR] src/main/java/a/B.java:[11,20] illegal start of expression', code).get('src/main/java/a/B.java'), [11]);
  });

  it('measures the distance to the nearest traced line of the same file, Infinity where the run never went', () => {
    const t = new Map([['a.py', [10, 40]]]);
    assert.equal(traceDistance(t, 'a.py', 12), 2);
    assert.equal(traceDistance(t, 'a.py', 38), 2);
    assert.equal(traceDistance(t, 'b.py', 12), Infinity);
    assert.equal(tracedLines('no locations here', code).size, 0);
  });
});
