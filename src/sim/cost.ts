/**
 * The cost model lives in src/mm/cost.ts (the memory model and its swap back
 * ends charge it, and src/mm must not import from src/sim). This module
 * re-exports it for the simulator layer and older imports.
 */
export * from '../mm/cost.js';
