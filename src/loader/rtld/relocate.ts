/**
 * _dl_relocate_object for x86-64 (elf/dl-reloc.c, elf/do-rel.h,
 * sysdeps/x86_64/dl-machine.h, glibc 2.36): DT_RELR, then DT_REL and
 * DT_RELA with the PLT relocations, each written into the process with the
 * value the real ld.so stores, so the page becomes a private copy holding
 * the real bytes. Every relocation writes its target, even when the value
 * does not change (a non-PIE object's lazy JUMP_SLOT still gets `+= 0`).
 *
 * Values that depend on running code are not knowable here: an IFUNC
 * resolver's result (R_X86_64_IRELATIVE, or a symbol of type
 * STT_GNU_IFUNC), the address of _dl_runtime_resolve in GOT[2] and
 * TLSDESC's entry points. The target is still written (with the resolver's
 * or a zero address) and counted in `unknown`.
 */
import type { Relocation } from './elf-object.js';
import type { ProcessSpace } from './process-space.js';
import {
  bindsLocally,
  STB_WEAK,
  STT_GNU_IFUNC,
  symbolAddress,
  type Binding,
  type ScopeObject,
  type SymbolScope,
} from './symbols.js';

export const R_X86_64_NONE = 0;
export const R_X86_64_64 = 1;
export const R_X86_64_COPY = 5;
export const R_X86_64_GLOB_DAT = 6;
export const R_X86_64_JUMP_SLOT = 7;
export const R_X86_64_RELATIVE = 8;
export const R_X86_64_DTPMOD64 = 16;
export const R_X86_64_DTPOFF64 = 17;
export const R_X86_64_TPOFF64 = 18;
export const R_X86_64_SIZE64 = 33;
export const R_X86_64_TLSDESC = 36;
export const R_X86_64_IRELATIVE = 37;
export const R_X86_64_RELATIVE64 = 38;

/** An object being relocated: its place in the scope plus what TLS gave it. */
export interface RelocObject extends ScopeObject {
  tlsModid: number;
  tlsOffset: number;
  /** Address of the object's link_map (GOT[1] with lazy binding). */
  linkMap: number;
}

export interface RelocStats {
  relocations: number;
  /** Targets written with a value that depends on running code. */
  unknown: number;
  /** Symbols no object in the scope defines (strong references; weak ones bind to 0). */
  unresolved: string[];
}

/** Relocates `obj` in `scope`; `lazy`: PLT relocations get the base adjustment only. */
export function relocateObject(
  space: ProcessSpace,
  obj: RelocObject,
  scope: SymbolScope,
  main: ScopeObject,
  lazy: boolean,
  stats: RelocStats,
): void {
  const elf = obj.elf;
  const base = BigInt(obj.base);
  // elf_machine_runtime_setup: GOT[1] = the link map, GOT[2] = _dl_runtime_resolve, for lazy PLT.
  if (lazy && elf.jmprel.length) {
    const pltgot = elf.dynamic.find((d) => d.tag === 3n);
    if (pltgot) {
      const got = obj.base + Number(pltgot.value);
      space.writeU64(got + 8, BigInt(obj.linkMap));
      space.writeU64(got + 16, 0n);
      stats.unknown++;
    }
  }
  for (const where of elf.relr) {
    const addr = obj.base + where;
    space.writeU64(addr, space.readU64(addr) + base);
    stats.relocations++;
  }
  for (const r of elf.rel) apply(space, obj, scope, main, r, stats);
  for (const r of elf.rela) apply(space, obj, scope, main, r, stats);
  for (const r of elf.jmprel) {
    if (lazy) lazyRel(space, obj, r, stats);
    else apply(space, obj, scope, main, r, stats);
  }
}

/** elf_machine_lazy_rel. */
function lazyRel(space: ProcessSpace, obj: RelocObject, r: Relocation, stats: RelocStats): void {
  const addr = obj.base + r.offset;
  stats.relocations++;
  if (r.type === R_X86_64_JUMP_SLOT) {
    space.writeU64(addr, space.readU64(addr) + BigInt(obj.base));
  } else if (r.type === R_X86_64_IRELATIVE) {
    space.writeU64(addr, BigInt(obj.base) + addendOf(space, addr, r));
    stats.unknown++;
  } else if (r.type === R_X86_64_TLSDESC) {
    space.writeU64(addr, 0n);
    stats.unknown++;
  }
}

/** elf_machine_rela / elf_machine_rel. */
function apply(
  space: ProcessSpace,
  obj: RelocObject,
  scope: SymbolScope,
  main: ScopeObject,
  r: Relocation,
  stats: RelocStats,
): void {
  const addr = obj.base + r.offset;
  const base = BigInt(obj.base);
  const addend = addendOf(space, addr, r);
  stats.relocations++;
  switch (r.type) {
    case R_X86_64_NONE:
      return;
    case R_X86_64_RELATIVE:
    case R_X86_64_RELATIVE64:
      space.writeU64(addr, base + addend);
      return;
    case R_X86_64_IRELATIVE:
      space.writeU64(addr, base + addend);
      stats.unknown++;
      return;
  }
  const ref = obj.elf.symbols[r.symbol];
  let binding: Binding | undefined;
  if (ref === undefined || r.symbol === 0 || bindsLocally(ref)) {
    if (ref) binding = { object: obj, symbol: ref };
  } else {
    const version = obj.elf.hasVersym && ref.versionIndex >= 2 ? obj.elf.versions.get(ref.versionIndex) : undefined;
    binding = scope.lookup(ref.name, version, r.type === R_X86_64_COPY ? main : undefined);
    if (!binding && ref.bind !== STB_WEAK) stats.unresolved.push(ref.name);
  }
  const sym = binding?.symbol;
  let value = binding ? symbolAddress(binding) : 0n;
  if (sym && sym.type === STT_GNU_IFUNC && sym.shndx !== 0 && r.type !== R_X86_64_COPY) stats.unknown++;
  switch (r.type) {
    case R_X86_64_GLOB_DAT:
    case R_X86_64_JUMP_SLOT:
      space.writeU64(addr, value);
      return;
    case R_X86_64_64:
      space.writeU64(addr, value + addend);
      return;
    case R_X86_64_SIZE64:
      space.writeU64(addr, (sym?.size ?? 0n) + addend);
      return;
    case R_X86_64_COPY: {
      if (!binding || !ref) return;
      // biome-ignore lint/complexity/useMathMinMax: the sizes are bigints, which Math.min does not take.
      const n = Number(ref.size < binding.symbol.size ? ref.size : binding.symbol.size);
      if (n > 0) {
        space.fault(Number(value), n);
        space.write(addr, space.read(Number(value), n));
      }
      return;
    }
    case R_X86_64_DTPMOD64:
      if (binding) space.writeU64(addr, BigInt((binding.object as RelocObject).tlsModid));
      return;
    case R_X86_64_DTPOFF64:
      if (sym) space.writeU64(addr, sym.value + addend);
      return;
    case R_X86_64_TPOFF64:
      if (sym && binding) space.writeU64(addr, sym.value + addend - BigInt((binding.object as RelocObject).tlsOffset));
      return;
    case R_X86_64_TLSDESC:
      space.writeU64(addr, 0n);
      space.writeU64(
        addr + 8,
        sym && binding ? sym.value - BigInt((binding.object as RelocObject).tlsOffset) + addend : addend,
      );
      stats.unknown++;
      return;
    default:
      // Other types (R_X86_64_32, PC32 in text relocations) write 4 or 8 bytes; the page is written either way.
      value += addend;
      space.writeU64(addr, value);
  }
}

function addendOf(space: ProcessSpace, addr: number, r: Relocation): bigint {
  return r.implicitAddend ? BigInt.asIntN(64, space.readU64(addr)) : r.addend;
}
