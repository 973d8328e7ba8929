export { campaignWorkflow } from './campaign.js';
export { roundWorkflow } from './round.js';
