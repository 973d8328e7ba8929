/**
 * From a config's repo entry to the RepoInfo every activity gets: a directory is described in place; an image is
 * mirrored to the host first (parsing only; everything that runs, runs in its containers).
 */
import path from 'node:path';
import { isImageRepo, type RepoSpec } from '../config/schema.js';
import { defaultRepoName } from '../config/load.js';
import { prepareImageRepo } from '../sandbox/docker/imageRepo.js';
import { sha256 } from '../store/store.js';
import { describeRepo, RepoError, type RepoInfo } from './describe.js';

export async function prepareRepo(home: string, spec: RepoSpec & { name?: string }): Promise<RepoInfo> {
  if (!isImageRepo(spec)) return describeRepo(spec.path, spec.name);
  const { mirror, marker } = await prepareImageRepo(home, spec);
  const info = await describeRepo(mirror, spec.name ?? defaultRepoName(spec));
  // The image id, not the mirror's path, identifies the tree: the same image is the same repo on every worker.
  return {
    ...info,
    key: sha256(`${marker.imageId}\n${marker.workdir}`).slice(0, 16),
    image: { ref: spec.image, id: marker.imageId, workdir: marker.workdir, workdirFrom: marker.workdirFrom },
  };
}

/** Makes sure this worker has the image repo's mirror (another worker may have prepared it on its own machine). */
export async function ensureRepo(home: string, repo: RepoInfo): Promise<void> {
  if (!repo.image) return;
  const { mirror } = await prepareImageRepo(home, { image: repo.image.id, workdir: repo.image.workdir });
  if (path.resolve(mirror) !== path.resolve(repo.path)) {
    throw new RepoError(`image repo ${repo.name} is mirrored at ${mirror} on this worker but the campaign expects ${repo.path}: give every worker the same SSR_HOME path`);
  }
}
