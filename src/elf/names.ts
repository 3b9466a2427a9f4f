/** Names for ELF numbers as readelf prints them: section-names.ts (sh_type, sh_flags) and segment-names.ts (p_type, p_flags). */
export { sectionFlagsString, sectionTypeName } from './section-names.js';
export { segmentFlagsString, segmentTypeName } from './segment-names.js';
