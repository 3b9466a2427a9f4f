/**
 * pagestack's public API. See README.md, section "API".
 */
export * from './errors.js';
export * from './elf/index.js';
export * from './scan/index.js';
export * from './mm/index.js';
export * from './sim/index.js';
