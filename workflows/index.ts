export { campaignWorkflow } from './campaign.js';
export { roundWorkflow } from './round.js';
export { pingWorkflow } from './bench.js';
export { replayWorkflow } from './replay.js';
