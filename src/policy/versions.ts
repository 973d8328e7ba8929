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

