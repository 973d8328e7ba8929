/** The pure parts of `ssr episodes` and `ssr campaign list`: visibility queries, outcome classes, log summaries. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  episodesQuery, parseOutcome, outcomeMatches, matchesFilter, summarizeTestLog, compactEvidence, formatEpisodeTable, UsageError,
  type EpisodeRow,
} from '../../src/cli/episodes.js';
import { quoteValue, table } from '../../src/cli/ops.js';
import { CAMPAIGNS_QUERY } from '../../src/cli/campaigns.js';

test('quoteValue doubles single quotes and refuses what the server cannot match reliably', () => {
  assert.equal(quoteValue('c-1'), `'c-1'`);
  assert.equal(quoteValue("it's"), `'it''s'`);
  assert.equal(quoteValue("'; DROP"), `'''; DROP'`);
  assert.equal(quoteValue('a\\b'), null);
  assert.equal(quoteValue('say "hi"'), null);
  assert.equal(quoteValue('line\nbreak'), null);
});

test('episodesQuery: round workflows, each filter as a condition, values quoted', () => {
  assert.equal(episodesQuery({}), `WorkflowType = 'roundWorkflow'`);
  assert.equal(
    episodesQuery({ campaign: "c'1", step: 2, repo: 'verspec' }),
    `WorkflowType = 'roundWorkflow' AND SsrCampaign = 'c''1' AND SsrStep = 2 AND SsrRepo = 'verspec'`,
  );
  // A value the server cannot match is left to the client-side filter; the query never breaks.
  assert.equal(episodesQuery({ campaign: 'a\\b', repo: 'r' }), `WorkflowType = 'roundWorkflow' AND SsrRepo = 'r'`);
  assert.throws(() => episodesQuery({ step: -1 }), UsageError);
  assert.throws(() => episodesQuery({ step: 1.5 }), UsageError);
});

test('episodesQuery: outcome classes are prefixes, exact outcomes are equalities, running is a workflow status', () => {
  const q = (outcome: string) => episodesQuery({ outcome }).replace(`WorkflowType = 'roundWorkflow' AND `, '');
  assert.equal(q('solved'), `SsrOutcome STARTS_WITH 'solved-'`);
  assert.equal(q('invalid'), `SsrOutcome STARTS_WITH 'invalid:'`);
  assert.equal(q('inject-failed'), `SsrOutcome STARTS_WITH 'inject-failed:'`);
  assert.equal(q('infra-error'), `SsrOutcome = 'infra-error'`);
  assert.equal(q('solved-some'), `SsrOutcome = 'solved-some'`);
  assert.equal(q('invalid:bug-validity:bug-breaks-nothing'), `SsrOutcome = 'invalid:bug-validity:bug-breaks-nothing'`);
  assert.equal(q('invalid:weakening:'), `SsrOutcome STARTS_WITH 'invalid:weakening:'`);
  assert.equal(q('inject-failed*'), `SsrOutcome STARTS_WITH 'inject-failed'`);
  assert.equal(q('running'), `ExecutionStatus = 'Running'`);
  assert.match(q('round-failed'), /^ExecutionStatus IN \('Failed', 'Terminated', 'TimedOut', 'Canceled'\)$/);
  assert.equal(q("invalid:x:it's"), `SsrOutcome = 'invalid:x:it''s'`);
});

test('parseOutcome rejects what is no outcome, naming the accepted forms', () => {
  for (const bad of ['bogus', 'solved-maybe-not*x', '', 'inv', 'invalid*x']) {
    assert.throws(() => parseOutcome(bad), (e: Error) => e instanceof UsageError && /one of solved, invalid/.test(e.message), bad);
  }
  assert.deepEqual(parseOutcome('invalid:'), { kind: 'prefix', value: 'invalid:' });
  assert.deepEqual(parseOutcome('invalid*'), { kind: 'prefix', value: 'invalid' });
});

test('outcomeMatches: each class takes exactly its outcomes', () => {
  const outcomes = ['solved-some', 'solved-all', 'solved-none', 'invalid:weakening:weakening-hides-nothing', 'invalid:parser:parser-empty',
    'inject-failed:no-bug-found', 'infra-error', 'running', 'round-failed'];
  const take = (o: string) => outcomes.filter((x) => outcomeMatches(x, parseOutcome(o)));
  assert.deepEqual(take('solved'), ['solved-some', 'solved-all', 'solved-none']);
  assert.deepEqual(take('invalid'), ['invalid:weakening:weakening-hides-nothing', 'invalid:parser:parser-empty']);
  assert.deepEqual(take('inject-failed'), ['inject-failed:no-bug-found']);
  assert.deepEqual(take('infra-error'), ['infra-error']);
  assert.deepEqual(take('running'), ['running']);
  assert.deepEqual(take('round-failed'), ['round-failed']);
  assert.deepEqual(take('invalid:parser:parser-empty'), ['invalid:parser:parser-empty']);
  assert.deepEqual(take('solved-none'), ['solved-none']);
});

const row = (over: Partial<EpisodeRow>): EpisodeRow => ({
  id: 'c/0/0', campaign: 'c', step: 0, round: 0, repo: 'r', strategy: 'direct', order: 1, outcome: 'solved-some', reason: null,
  status: 'COMPLETED', solveRate: 0.5, injectorReward: 0.5, solverRewards: [1, -1], policyVersion: 'c@0', startedAt: null, finishedAt: null,
  attempts: [{ attempt: 0, success: true, stop: 'all-tests-pass', failure: null, reward: 1 }, { attempt: 1, success: false, stop: 'budget-exhausted', failure: 'tests-fail', reward: -1 }],
  source: 'temporal+store', ...over,
});

test('matchesFilter applies every filter to joined rows', () => {
  const r = row({});
  assert.ok(matchesFilter(r, {}));
  assert.ok(matchesFilter(r, { campaign: 'c', step: 0, repo: 'r', outcome: 'solved' }));
  assert.ok(!matchesFilter(r, { campaign: 'd' }));
  assert.ok(!matchesFilter(r, { step: 1 }));
  assert.ok(!matchesFilter(r, { repo: 'x' }));
  assert.ok(!matchesFilter(r, { outcome: 'invalid' }));
});

test('the episode table is aligned and shows each attempt\'s failure code', () => {
  const lines = formatEpisodeTable([row({}), row({ id: 'campaign-long/12/3', step: 12, outcome: 'invalid:weakening:weakening-hides-nothing', attempts: [], solveRate: null })]);
  assert.equal(lines.length, 3);
  assert.equal(lines[1].indexOf('solved-some'), lines[0].indexOf('OUTCOME'));
  assert.equal(lines[2].indexOf('invalid:weakening'), lines[0].indexOf('OUTCOME'));
  assert.match(lines[1], /ok,tests-fail$/);
  assert.match(lines[2], /\s-$/);
  assert.deepEqual(table(['A', 'B'], [['xx', 'y']]), ['A   B', 'xx  y']);
});

test('summarizeTestLog reads the runners\' summary lines and the per-file exit markers', () => {
  const pytest = summarizeTestLog('@@ssr-file tests/test_a.py\n...\n======================== 28 failed, 39 passed in 0.24s =========================\n\n@@ssr-exit 1\n');
  assert.equal(pytest.passed, 39);
  assert.equal(pytest.failed, 28);
  assert.deepEqual(pytest.exits, [1]);
  assert.equal(pytest.summary.length, 1);
  const tap = summarizeTestLog('@@ssr-file a.test.js\n# tests 3\n# pass 2\n# fail 1\n@@ssr-exit 1\n@@ssr-file b.test.js\n# pass 4\n# fail 0\n@@ssr-exit 0\n');
  assert.deepEqual([tap.passed, tap.failed, tap.exits], [6, 1, [1, 0]]);
  const go = summarizeTestLog('=== RUN   TestA\n--- PASS: TestA (0.00s)\n=== RUN   TestB\n--- FAIL: TestB (0.00s)\nFAIL\nFAIL\texample.com/x\t0.004s\nok  \texample.com/x/y\t0.002s\n@@ssr-exit 1\n');
  assert.deepEqual([go.passed, go.failed], [1, 1]);
  assert.equal(go.summary.length, 2);
  const jest = summarizeTestLog('Tests:       1 failed, 5 passed, 6 total\n');
  assert.deepEqual([jest.passed, jest.failed], [5, 1]);
  const cargo = summarizeTestLog('test result: FAILED. 3 passed; 2 failed; 0 ignored\n');
  assert.deepEqual([cargo.passed, cargo.failed], [3, 2]);
  const maven = summarizeTestLog('@@ssr-run maven\n@@xml-begin target/surefire-reports/TEST-a.B.xml\n@@xml <?xml version="1.0"?>\n@@xml <testsuite tests="166" failures="1" name="a.B" time="0.1" errors="37" skipped="2">\n@@xml </testsuite>\n@@xml-end\n@@xml-begin x\n@@xml <testsuite name="a.C" tests="4" failures="0" errors="0" skipped="0">\n@@ssr-exit 0\n');
  assert.deepEqual([maven.passed, maven.failed, maven.exits], [130, 38, [0]]);
  assert.deepEqual(maven.summary, ['a.B: 166 tests, 38 failed, 2 skipped', 'a.C: 4 tests, 0 failed, 0 skipped']);
  // Mocha and tape print no summary under ssr's reporter: its per-test lines are counted.
  const mocha = summarizeTestLog('@@ssr-file t.js\n@@ssr-test passed {"titles":["a"]}\n@@ssr-test failed {"titles":["b"]}\n@@ssr-test passed {"titles":["c"]}\n@@ssr-exit 1\n');
  assert.deepEqual([mocha.passed, mocha.failed, mocha.summary.length], [2, 1, 1]);
  const ctest = summarizeTestLog('81% tests passed, 3 tests failed out of 16\n\nTotal Test time (real) =   0.11 sec\n@@ssr-exit 0\n');
  assert.deepEqual([ctest.passed, ctest.failed], [13, 3]);
  // ctest's tests plus the Catch2/doctest programs' cases, which the runner reports one by one.
  const cases = summarizeTestLog('100% tests passed, 0 tests failed out of 2\nssr: Catch2/doctest test cases: 9 passed, 1 failed\n@@ssr-exit 0\n');
  assert.deepEqual([cases.passed, cases.failed], [11, 1]);
  const none = summarizeTestLog('something else\n');
  assert.deepEqual([none.passed, none.failed, none.exits], [null, null, []]);
});

test('compactEvidence keeps the first items of long lists', () => {
  assert.deepEqual(compactEvidence({ a: [1, 2, 3, 4, 5, 6, 7], b: { c: [1] }, n: 3 }, 5), { a: [1, 2, 3, 4, 5, '... 2 more'], b: { c: [1] }, n: 3 });
});

test('campaigns are found by their workflow type', () => {
  assert.equal(CAMPAIGNS_QUERY, `WorkflowType = 'campaignWorkflow'`);
});
