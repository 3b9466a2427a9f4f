export * from './types.js';
export { parseElf, isElf } from './parse.js';
export { sectionFlagsString, sectionTypeName } from './section-names.js';
export { segmentFlagsString, segmentTypeName } from './segment-names.js';
export {
  pageOwners,
  sectionFileRange,
  sectionsOfPage,
  sectionsOverlapping,
  segmentFileRange,
  segmentsOfPage,
  segmentsOverlapping,
  type FileRange,
  type PageOwners,
} from './layout.js';
