/** Entry point of the sandbox worker process: `tsx workers/sandbox.ts`. */
import { QUEUES } from '../workflows/queues.js';
import { runEntry } from './main.js';

runEntry([QUEUES.sandbox]);
