/**
 * The one place ssr connects to a Docker engine, and the labels every container and image it makes carries:
 * the reaper finds leftovers by these labels, so nothing ssr creates is unlabelled.
 */
import Docker from 'dockerode';
import { hostname } from 'node:os';
import { SandboxUnavailableError } from '../errors.js';

export const LABEL = {
  managed: 'ssr.managed',
  kind: 'ssr.kind',
  owner: 'ssr.owner',
  campaign: 'ssr.campaign',
  episode: 'ssr.episode',
  attempt: 'ssr.attempt',
  created: 'ssr.created',
  source: 'ssr.source',
} as const;

/** What a labelled object is: an attempt's container, a frozen snapshot image, an image made from a host directory, a short-lived probe. */
export type ManagedKind = 'attempt' | 'snapshot' | 'dir-image' | 'probe' | 'build';

/** Identity of this process: a container whose owner process is gone is a leftover (see reaper.ts). */
export const OWNER = `${hostname()}:${process.pid}`;

export function managedLabels(kind: ManagedKind, extra: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = { [LABEL.managed]: '1', [LABEL.kind]: kind, [LABEL.owner]: OWNER, [LABEL.created]: String(Date.now()) };
  for (const [k, v] of Object.entries(extra)) {
    const key = k.startsWith('ssr.') ? k : `ssr.${k}`;
    out[key] = v;
  }
  return out;
}

let shared: Docker | undefined;

/** The engine named by DOCKER_HOST (as the docker CLI reads it), else the local socket. */
export function docker(): Docker {
  shared ??= new Docker();
  return shared;
}

export class DockerUnavailableError extends SandboxUnavailableError {
  override readonly name: string = 'DockerUnavailableError';
  constructor(detail: string) {
    super(
      `no usable Docker engine (${detail}). Install and start one: as root, \`apt-get install -y docker.io\` then ` +
      '`dockerd >/var/log/dockerd.log 2>&1 &` (or `bash .ci/dockerd.sh`); set DOCKER_HOST for a remote engine. ' +
      '`npx ssr sandbox doctor` checks again.',
    );
  }
}

/** Fails with a message saying how to get an engine when none answers. */
export async function requireEngine(d: Docker = docker()): Promise<{ version: string; apiVersion: string }> {
  try {
    const v = await d.version();
    return { version: v.Version, apiVersion: v.ApiVersion };
  } catch (e) {
    throw new DockerUnavailableError((e as Error).message);
  }
}

/** Whether an image is present locally (there is no registry to pull from). */
export async function imageExists(ref: string, d: Docker = docker()): Promise<boolean> {
  try {
    await d.getImage(ref).inspect();
    return true;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode === 404) return false;
    throw e;
  }
}
