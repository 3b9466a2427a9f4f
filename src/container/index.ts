/**
 * The container (docs/FORMAT.md): pack, unpack, verify, ls, cat, and the
 * reader API the loader uses (openContainer, pageRef, readPage, backing).
 */
export { pack, type PackOptions, type PackSummary } from './pack.js';
export { unpack, type UnpackOptions, type UnpackSummary } from './unpack.js';
export { verify, type VerifyOptions, type VerifyResult, type Damage } from './verify.js';
export { list, type ListResult, type ListedFile } from './list.js';
export { catMember } from './cat.js';
export { openContainer, Container, type ContainerEntry, type StoredPageInfo } from './reader.js';
export { FORMAT_VERSION, type FileKind } from './format.js';
export type { PageLayout } from './page-store.js';
