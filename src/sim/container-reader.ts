/**
 * How the simulator opens pagestack containers, and how a path is
 * recognised as one. The reader is src/container's `openContainer` (it
 * checks the header and every table when the container is opened, and every
 * page as it is read); tests may pass another OpenContainer.
 */
import * as fs from 'node:fs';
import { MAGIC } from '../container/format.js';
import { openContainer } from '../container/index.js';
import { fsError } from '../errors.js';
import type { ContainerReader } from './container-source.js';
import { openRegular } from '../util/open-regular.js';

export type OpenContainer = (path: string) => Promise<ContainerReader>;

/** The first 8 bytes of every container (docs/FORMAT.md: "\x89PGSTK\n\x1a"). */
export const CONTAINER_MAGIC: Uint8Array = MAGIC;

/** Whether the file at `path` starts with the container magic. Errors (missing file...) become InputError. */
export function isContainerFile(path: string): boolean {
  // Anything but a regular file is refused here, with what it is (a FIFO must not block the open).
  const { fd } = openRegular(path);
  try {
    const head = new Uint8Array(CONTAINER_MAGIC.length);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    return n === head.length && head.every((b, i) => b === CONTAINER_MAGIC[i]);
  } catch (err) {
    throw fsError(err, path);
  } finally {
    fs.closeSync(fd);
  }
}

/** Opens a container with `open` (default: src/container's openContainer). */
export async function openContainerChecked(
  path: string,
  open: OpenContainer = openContainer,
): Promise<ContainerReader> {
  return open(path);
}
