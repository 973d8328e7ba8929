/** Entry point of the all worker processes (every queue in one process: the embedded default): `tsx workers/all.ts`. */
import { QUEUES } from '../workflows/queues.js';
import { runEntry } from './main.js';

runEntry(Object.values(QUEUES));
