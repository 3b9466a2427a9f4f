export * from './types.js';
export { parseElf, isElf } from './parse.js';
export { sectionTypeName, segmentTypeName, sectionFlagsString, segmentFlagsString } from './names.js';
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
