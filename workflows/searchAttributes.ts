import { defineSearchAttributeKey } from '@temporalio/common';

/** Registered from temporal-config/search-attributes.json; episodes are listed and filtered by these. */
export const SA = {
  campaign: defineSearchAttributeKey('SsrCampaign', 'KEYWORD'),
  step: defineSearchAttributeKey('SsrStep', 'INT'),
  repo: defineSearchAttributeKey('SsrRepo', 'KEYWORD'),
  strategy: defineSearchAttributeKey('SsrStrategy', 'KEYWORD'),
  outcome: defineSearchAttributeKey('SsrOutcome', 'KEYWORD'),
  solveRate: defineSearchAttributeKey('SsrSolveRate', 'DOUBLE'),
  kind: defineSearchAttributeKey('SsrKind', 'KEYWORD'),
};
