/** Entry point of the gpu worker process: `tsx workers/gpu.ts`. */
import { QUEUES } from '../workflows/queues.js';
import { runEntry } from './main.js';

runEntry([QUEUES.gpu]);
