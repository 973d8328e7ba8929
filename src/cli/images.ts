/** `npm run images`: builds (or finds) ssr's Docker images locally, with no registry, and says what it did. */
import { builtHere, ensureBaseImage, ensureExampleImages, ensureToolchainImage } from '../sandbox/docker/images.js';

const verbose = process.argv.includes('--verbose');
const log = (l: string) => { if (verbose) process.stderr.write(`  ${l}\n`); };
const step = async (what: string, fn: () => Promise<string | { ref: string }[]>) => {
  const t = Date.now();
  const r = await fn();
  const refs = Array.isArray(r) ? r.map((x) => x.ref) : [r];
  const how = refs.every((ref) => !builtHere().has(ref)) ? 'cached' : 'built';
  process.stdout.write(`${what.padEnd(12)} ${how.padEnd(7)} ${((Date.now() - t) / 1000).toFixed(1).padStart(6)} s  ${refs.join(', ')}\n`);
};
try {
  await step('base', () => ensureBaseImage(log));
  await step('toolchains', () => ensureToolchainImage(log));
  await step('examples', () => ensureExampleImages(log));
} catch (e) {
  process.stderr.write(`images: ${(e as Error).message}\n`);
  process.exit(1);
}
