/**
 * How this build opens pagestack containers for the simulator, and how a
 * path is recognised as one.
 *
 * The container reader (src/container, `openContainer`) is developed on its
 * own branch. Until it is merged, `openContainerReader` is undefined and a
 * container given to `load` or named by a scenario is refused with a clear
 * message. Wiring it is one line:
 *
 *   import { openContainer } from '../container/index.js';
 *   export const openContainerReader: OpenContainer | undefined = openContainer;
 */
import * as fs from 'node:fs';
import { InputError, fsError } from '../errors.js';
import type { ContainerReader } from './container-source.js';

export type OpenContainer = (path: string) => Promise<ContainerReader>;

/** The container reader of this build, or undefined while src/container is not merged. */
export const openContainerReader: OpenContainer | undefined = undefined;

/** The first 8 bytes of every container (docs/FORMAT.md: "\x89PGSTK\n\x1a"). */
export const CONTAINER_MAGIC = Uint8Array.of(0x89, 0x50, 0x47, 0x53, 0x54, 0x4b, 0x0a, 0x1a);

/** Whether the file at `path` starts with the container magic. Errors (missing file...) become InputError. */
export function isContainerFile(path: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (err) {
    throw fsError(err, path);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) return false;
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
      `${path}: is a pagestack container, but this build has no container reader (src/container is not merged yet); give the ELF files instead`,
      { file: path },
    );
  }
  return open(path);
}
