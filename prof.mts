import fs from 'node:fs';
import { findMutations, findRemovals } from './src/agents/code/index.js';
const src = fs.readFileSync('/usr/local/go/src/net/http/server.go', 'utf8');
for (let i = 0; i < 3; i++) { await findMutations('go', src + '//' + i); await findRemovals('go', src + '//' + i); }
