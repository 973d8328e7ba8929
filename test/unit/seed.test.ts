import { test } from 'node:test';
import assert from 'node:assert/strict';
import { episodeSeed } from '../../src/episode/seed.js';
import { withoutCampaign } from '../../src/policy/versions.js';

test("an episode's seed is the campaign's seed and the episode's place in it, never the campaign's name", () => {
  const a = episodeSeed(2, 'learn-self-play-s2', 'learn-self-play-s2/1/0', 'learn-self-play-s2@1');
  assert.equal(a, '2/1/0/@1');
  assert.equal(episodeSeed(2, 'learn-repair-only-s2', 'learn-repair-only-s2/1/0', 'learn-repair-only-s2@1'), a);
  // Another seed, round, step or policy step draws other numbers.
  for (const other of [
    episodeSeed(3, 'learn-self-play-s2', 'learn-self-play-s2/1/0', 'learn-self-play-s2@1'),
    episodeSeed(2, 'learn-self-play-s2', 'learn-self-play-s2/1/1', 'learn-self-play-s2@1'),
    episodeSeed(2, 'learn-self-play-s2', 'learn-self-play-s2/2/0', 'learn-self-play-s2@1'),
    episodeSeed(2, 'learn-self-play-s2', 'learn-self-play-s2/1/0', 'learn-self-play-s2@0'),
  ]) assert.notEqual(other, a);
  // A policy of another campaign (a replay under someone else's version) keeps its whole name.
  assert.equal(episodeSeed(1, 'c', 'c/0/0', 'base@3'), '1/0/0/base@3');
});

test('only a whole campaign name is taken off a name: a campaign whose name starts the same is another campaign', () => {
  assert.equal(withoutCampaign('c', 'c/0/1#2'), '/0/1#2');
  assert.equal(withoutCampaign('c', 'c@4'), '@4');
  assert.equal(withoutCampaign('c', 'c2/0/1'), 'c2/0/1');
  assert.equal(withoutCampaign('c', 'c-x@1'), 'c-x@1');
  assert.equal(withoutCampaign('c', 'c'), 'c');
});
