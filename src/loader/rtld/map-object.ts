/**
 * How ld.so maps a shared object (glibc 2.36 elf/dl-load.c
 * _dl_map_object_from_fd and elf/dl-map-segments.h _dl_map_segments):
 *
 * - one load command per PT_LOAD: mapstart = p_vaddr rounded down to the
 *   page, mapend = p_vaddr + p_filesz rounded up, mapoff = p_offset rounded
 *   down; all aligned to the largest power-of-two p_align;
 * - the first command maps the whole span (up to the last p_vaddr +
 *   p_memsz) from the file with its protection, where the kernel puts it
 *   (top-down; 2 MiB-aligned on ext4/XFS when the span is large). With
 *   p_align above the page size, an anonymous PROT_NONE reservation of
 *   span + p_align comes first and the file is mapped MAP_FIXED at the
 *   aligned address inside it, the excess unmapped;
 * - holes between segments: the span past the first segment is made
 *   PROT_NONE (file-backed `---p` lines where no segment covers it);
 * - every further segment MAP_FIXED from its offset;
 * - bss: the rest of the last file page is zeroed (a write: the page
 *   becomes a private copy; a read-only segment is made writable for it and
 *   back), and whole pages beyond become an anonymous MAP_FIXED mapping.
 */
import { ElfError } from '../../errors.js';
import type { FileBacking } from '../../abi/file-backing.js';
import { makeProt } from '../elf-image.js';
import { PROT_WRITE } from '../../abi/exec-plan.js';
import type { ElfObject } from './elf-object.js';
import { pageDown, pageUp, type ProcessSpace } from './process-space.js';

const PAGE = 4096;

interface LoadCmd {
  mapstart: number;
  mapend: number;
  dataend: number;
  allocend: number;
  mapoff: number;
  prot: number;
}

export interface MappedObject {
  /** l_addr. */
  base: number;
  mapStart: number;
  mapEnd: number;
}

export function mapObject(
  space: ProcessSpace,
  elf: ElfObject,
  backing: FileBacking,
  thpAligned: boolean,
): MappedObject {
  const cmds: LoadCmd[] = [];
  let alignMax = 0;
  let hasHoles = false;
  for (const s of elf.image.loads) {
    const vaddr = Number(s.vaddr);
    const offset = Number(s.offset);
    if ((vaddr - offset) % PAGE !== 0)
      throw new ElfError('E_RTLD_SEGMENT', `${elf.path}: ELF load command address/offset not page-aligned`, {
        file: elf.path,
      });
    const c: LoadCmd = {
      mapstart: pageDown(vaddr),
      mapend: pageUp(vaddr + Number(s.filesz)),
      dataend: vaddr + Number(s.filesz),
      allocend: vaddr + Number(s.memsz),
      mapoff: pageDown(offset),
      prot: makeProt(s.flags),
    };
    const align = Number(s.align);
    if (align > 0 && (align & (align - 1)) === 0 && align > alignMax) alignMax = align;
    const prev = cmds[cmds.length - 1];
    if (prev && prev.mapend !== c.mapstart) hasHoles = true;
    cmds.push(c);
  }
  const first = cmds[0];
  const last = cmds[cmds.length - 1];
  if (!first || !last)
    throw new ElfError('E_RTLD_SEGMENT', `${elf.path}: object file has no loadable segments`, { file: elf.path });
  const maplength = last.allocend - first.mapstart;
  const what = `map ${elf.path}`;

  // _dl_map_segment: the whole span at an address the kernel picks.
  let mapStart: number;
  if (alignMax <= PAGE) {
    mapStart = space.findArea(maplength, { thpAligned, offset: first.mapoff });
    space.mmapFixed(mapStart, maplength, first.prot, what, { backing, offset: first.mapoff });
  } else {
    const maplen = maplength >= alignMax ? maplength + alignMax : 2 * alignMax;
    const reserve = space.findArea(maplen);
    space.mmapFixed(reserve, maplen, 0, `${what} (alignment reservation)`);
    mapStart = Math.ceil(reserve / alignMax) * alignMax;
    space.mmapFixed(mapStart, maplength, first.prot, what, { backing, offset: first.mapoff });
    if (mapStart > reserve) space.munmap(reserve, mapStart - reserve, `${what} (alignment excess)`);
    const mapEnd = pageUp(mapStart + maplength);
    if (reserve + pageUp(maplen) > mapEnd)
      space.munmap(mapEnd, reserve + pageUp(maplen) - mapEnd, `${what} (alignment excess)`);
  }
  const base = mapStart - first.mapstart;
  if (hasHoles && last.mapstart > first.mapend)
    space.mprotect(base + first.mapend, last.mapstart - first.mapend, 0, `${what} (holes)`);

  cmds.forEach((c, i) => {
    if (i > 0 && c.mapend > c.mapstart)
      space.mmapFixed(base + c.mapstart, c.mapend - c.mapstart, c.prot, what, { backing, offset: c.mapoff });
    if (c.allocend <= c.dataend) return;
    const zero = base + c.dataend;
    const zeroend = base + c.allocend;
    let zeropage = pageUp(zero);
    if (zeroend < zeropage) zeropage = zeroend;
    if (zeropage > zero) {
      const writable = (c.prot & PROT_WRITE) !== 0;
      if (!writable) space.mprotect(pageDown(zero), PAGE, c.prot | PROT_WRITE, `${what} (zero the bss page)`);
      space.write(zero, new Uint8Array(zeropage - zero));
      if (!writable) space.mprotect(pageDown(zero), PAGE, c.prot, `${what} (zero the bss page)`);
    }
    if (zeroend > zeropage) space.mmapFixed(zeropage, zeroend - zeropage, c.prot, `${what} (bss)`);
  });
  return { base, mapStart, mapEnd: mapStart + maplength };
}
