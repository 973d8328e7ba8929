import type { Store } from '../store/store.js';
import { initialParams, type PolicyParams } from './policy.js';

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

const file = (v: string) => { const { campaign, step } = parseVersion(v); return `policies/${campaign}/${step}.json`; };

export async function loadPolicy(store: Store, version: string): Promise<PolicyParams> {
  const p = await store.getJson<PolicyParams>(file(version));
  if (p) return p;
  if (parseVersion(version).step === 0) return initialParams(version);
  throw new PolicyVersionError(`policy version ${version} not found at ${store.p(file(version))}`);
}

export async function hasPolicy(store: Store, version: string): Promise<boolean> {
  return (await store.getJson(file(version))) !== null;
}

export async function savePolicy(store: Store, p: PolicyParams): Promise<void> {
  await store.putJson(file(p.version), p);
}
