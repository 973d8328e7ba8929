export { exampleRepos } from '../../src/repo/examples.js';
