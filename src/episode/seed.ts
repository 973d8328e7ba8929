import { withoutCampaign } from '../policy/versions.js';

/**
 * The seed of an episode's random choices (the embedded agents' draws, the fault injections): the campaign's seed,
 * the episode's place in its campaign (step, round) and the step of the policy that plays it. Not the campaign's
 * name: campaigns with one seed and config make the same choices until their policies differ (give them different
 * seeds for independent draws).
 */
export function episodeSeed(seed: number, campaignId: string, episodeId: string, policyVersion: string): string {
  return `${seed}${withoutCampaign(campaignId, episodeId)}/${withoutCampaign(campaignId, policyVersion)}`;
}
