/** Policy versions are immutable and named by (campaign, step): `<campaign>@<step>`; step 0 is the initial policy. */
export const versionName = (campaign: string, step: number) => `${campaign}@${step}`;

export function parseVersion(v: string): { campaign: string; step: number } {
  const i = v.lastIndexOf('@');
  const step = Number(v.slice(i + 1));
  if (i <= 0 || !Number.isInteger(step) || step < 0) throw new PolicyVersionError(`'${v}' is not a policy version (expected <campaign>@<step>)`);
  return { campaign: v.slice(0, i), step };
}

export class PolicyVersionError extends Error {
  constructor(message: string) { super(message); this.name = 'PolicyVersionError'; }
}

/**
 * A campaign-scoped name (an episode `<campaign>/<step>/<round>`, a version `<campaign>@<step>`, a known bug
 * `<campaign>/<step>/<round>#<line>`) without its campaign: what a campaign's random streams are seeded by. Two
 * campaigns with one seed then draw the same numbers at the same place (common random numbers), so they differ by
 * what they learned and not by their dice; the learning bench compares its modes that way. Names of another
 * campaign, or none, are returned whole.
 */
export function withoutCampaign(campaignId: string, name: string): string {
  const sep = name[campaignId.length];
  return name.startsWith(campaignId) && (sep === '/' || sep === '@') ? name.slice(campaignId.length) : name;
}
