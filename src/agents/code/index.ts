/**
 * Parser-backed program analysis and transformation for the embedded (non-LLM) agents: syntax
 * checks, bug-injecting mutations, code removals with compatible stubs, test discovery with
 * assertion removal, and name extraction. Built on tree-sitter grammars (web-tree-sitter + wasm).
 */
export { type Lang, LANGS, langOfPath } from './lang.js';
export { type Edit, applyEdits } from './edits.js';
export { addsSyntaxErrors, hasSyntaxErrors } from './parser.js';
export { type Mutation, type MutationKind, findMutations } from './mutations.js';
export { type Removal, findRemovals, removalEdits } from './removals.js';
export { type TestSite, findTests, pyClassTests, pyImportedBases, sitesForTest, testCodeRanges } from './testsites.js';
export { type DefinedFunction, definedFunctions, referencedNames } from './names.js';
