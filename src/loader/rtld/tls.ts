/**
 * The static TLS block of the initial thread, as glibc 2.36 lays it out on
 * x86-64 (elf/dl-tls.c, TLS_TCB_AT_TP): every module with PT_TLS loaded at
 * startup gets an offset below the thread pointer (_dl_determine_tlsoffset,
 * reusing alignment padding where it fits), the block is followed by the
 * surplus for later dlopen (1664 bytes with the default rtld.nns and
 * rtld.optional_static_tls tunables) and by the thread descriptor (struct
 * pthread, 2368 bytes in this glibc, 64-byte aligned). ld.so allocates it
 * with its minimal malloc: size + alignment + a pointer.
 */

/** TLS_STATIC_SURPLUS with the default tunables: (4-1)*144 + 4*144 + 512 + LEGACY_TLS (144). */
export const TLS_STATIC_SURPLUS = 1664;
/** TLS_TCB_SIZE: sizeof (struct pthread) in glibc 2.36 on x86-64 (measured: thread pointer to the DTV allocation). */
export const TLS_TCB_SIZE = 2368;
/** TCB_ALIGNMENT. */
export const TCB_ALIGNMENT = 64;
/** TLS_SLOTINFO_SURPLUS and DTV_SURPLUS (elf/dl-tls.c, sysdeps/generic/ldsodefs.h). */
export const TLS_SLOTINFO_SURPLUS = 62;
export const DTV_SURPLUS = 14;

export interface TlsModule {
  /** p_memsz, p_align, and the offset of p_vaddr inside its alignment (l_tls_firstbyte_offset). */
  blocksize: number;
  align: number;
  firstbyteOffset: number;
  /** Set here: l_tls_offset (the block starts at tp - offset). */
  offset?: number;
}

export interface StaticTlsLayout {
  /** dl_tls_static_size: the bytes from the start of the block to the end of the TCB. */
  staticSize: number;
  staticAlign: number;
  /** dl_tls_static_used. */
  used: number;
}

/** _dl_determine_tlsoffset for TLS_TCB_AT_TP: sets each module's offset and returns the block size. */
export function determineTlsOffsets(modules: TlsModule[]): StaticTlsLayout {
  let maxAlign = TCB_ALIGNMENT;
  let offset = 0;
  let freetop = 0;
  let freebottom = 0;
  for (const m of modules) {
    const align = Math.max(1, m.align);
    const firstbyte = -m.firstbyteOffset & (align - 1);
    maxAlign = Math.max(maxAlign, align);
    if (freebottom - freetop >= m.blocksize) {
      const off = roundUp(freetop + m.blocksize - firstbyte, align) + firstbyte;
      if (off <= freebottom) {
        freetop = off;
        m.offset = off;
        continue;
      }
    }
    const off = roundUp(offset + m.blocksize - firstbyte, align) + firstbyte;
    if (off > offset + m.blocksize + (freebottom - freetop)) {
      freetop = offset;
      freebottom = off - m.blocksize;
    }
    offset = off;
    m.offset = off;
  }
  return {
    staticSize: roundUp(offset + TLS_STATIC_SURPLUS, maxAlign) + TLS_TCB_SIZE,
    staticAlign: maxAlign,
    used: offset,
  };
}

const roundUp = (v: number, a: number): number => Math.ceil(v / a) * a;
