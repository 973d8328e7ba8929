import { readFile, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { sha256, type Store } from '../store/store.js';
import { writeFileAtomic, writeJsonAtomic } from '../store/fsutil.js';

/** The five files of a bug artifact, exactly as in the method. */
export const ARTIFACT_FILES = ['bug_inject.diff', 'test_weaken.diff', 'test_script.sh', 'test_parser.py', 'test_files.txt'] as const;

export interface Artifact {
  bugInject: string;
  testWeaken: string;
  testScript: string;
  testParser: string;
  testFiles: string[];
}

export interface ArtifactManifest {
  hash: string;
  repo: string;
  baseCommit: string | null;
  strategy: string;
  /** For a higher-order bug: the artifact it was composed from, and its order (1 = injected). */
  parent: string | null;
  order: number;
  policyVersion: string | null;
  createdBy: string;
}

export class ArtifactError extends Error {
  constructor(message: string) { super(message); this.name = 'ArtifactError'; }
}

export function artifactHash(a: Artifact): string {
  return sha256(JSON.stringify([a.bugInject, a.testWeaken, a.testScript, a.testParser, a.testFiles]));
}

export function parseTestFiles(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

/** Reads an artifact directory written by any injector (or by hand); a missing file is a clear error. */
export async function readArtifactDir(dir: string): Promise<Artifact> {
  const get = async (name: string): Promise<string> => {
    try {
      return await readFile(path.join(dir, name), 'utf8');
    } catch {
      throw new ArtifactError(`artifact ${dir} is missing ${name} (an artifact has ${ARTIFACT_FILES.join(', ')})`);
    }
  };
  return {
    bugInject: await get('bug_inject.diff'),
    testWeaken: await get('test_weaken.diff'),
    testScript: await get('test_script.sh'),
    testParser: await get('test_parser.py'),
    testFiles: parseTestFiles(await get('test_files.txt')),
  };
}

export async function writeArtifactDir(dir: string, a: Artifact, manifest?: ArtifactManifest): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(path.join(dir, 'bug_inject.diff'), a.bugInject);
  await writeFileAtomic(path.join(dir, 'test_weaken.diff'), a.testWeaken);
  await writeFileAtomic(path.join(dir, 'test_script.sh'), a.testScript);
  await writeFileAtomic(path.join(dir, 'test_parser.py'), a.testParser);
  await writeFileAtomic(path.join(dir, 'test_files.txt'), a.testFiles.join('\n') + '\n');
  if (manifest) await writeJsonAtomic(path.join(dir, 'manifest.json'), manifest);
}

/** Stores an artifact under its content hash; the manifest is written last, so a directory with a manifest is whole. */
export async function putArtifact(store: Store, a: Artifact, meta: Omit<ArtifactManifest, 'hash'>): Promise<ArtifactManifest> {
  const hash = artifactHash(a);
  const dir = store.p('artifacts', hash);
  const manifest: ArtifactManifest = { hash, ...meta };
  try {
    await stat(path.join(dir, 'manifest.json'));
    return (await store.getJson<ArtifactManifest>(`artifacts/${hash}/manifest.json`))!;
  } catch {
    await writeArtifactDir(dir, a, manifest);
    return manifest;
  }
}

export async function getArtifact(store: Store, hash: string): Promise<{ artifact: Artifact; manifest: ArtifactManifest }> {
  const manifest = await store.getJson<ArtifactManifest>(`artifacts/${hash}/manifest.json`);
  if (!manifest) throw new ArtifactError(`artifact ${hash} not found in store ${store.root}`);
  return { artifact: await readArtifactDir(store.p('artifacts', hash)), manifest };
}
