export * from './types.js';
export { parseElf, isElf } from './parse.js';
