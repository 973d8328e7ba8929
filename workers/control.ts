/** Entry point of the control worker process: `tsx workers/control.ts`. */
import { QUEUES } from '../workflows/queues.js';
import { runEntry } from './main.js';

runEntry([QUEUES.control]);
