/**
 * How this build opens pagestack containers for the simulator, and how a
 * path is recognised as one.
 *
 * The reader is src/container's `openContainer` (it checks the header and
 * every table when the container is opened, and every page as it is read).
 * A build without it would set `openContainerReader` to undefined, and a
 * container given to `load` or named by a scenario would be refused with a
 * clear message.
 */
import * as fs from 'node:fs';
import { MAGIC } from '../container/format.js';
import { openContainer } from '../container/index.js';
import { InputError, fsError } from '../errors.js';
import type { ContainerReader } from './container-source.js';
import { openRegular } from '../util/open-regular.js';

export type OpenContainer = (path: string) => Promise<ContainerReader>;

/** The container reader of this build. */
export const openContainerReader: OpenContainer | undefined = openContainer;

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

/** Opens a container with this build's reader, or refuses clearly when there is none. */
export async function openContainerChecked(path: string, open: OpenContainer | undefined = openContainerReader): Promise<ContainerReader> {
  if (open === undefined) {
    throw new InputError(
      'E_UNAVAILABLE',
      `${path}: is a pagestack container, but this build has no container reader; give the ELF files instead`,
      { file: path },
    );
  }
  return open(path);
}
