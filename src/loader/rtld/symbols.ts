/**
 * Symbol lookup as elf/dl-lookup.c's do_lookup_x does it at startup: the
 * global scope (the program's l_searchlist: the program first, so it
 * interposes, then its DT_NEEDED closure breadth-first), the first matching
 * definition wins, weak definitions count as strong (LD_DYNAMIC_WEAK unset),
 * and symbol versions are matched by name and hash, with the unversioned
 * fallbacks of glibc (an unversioned definition satisfies a versioned
 * reference unless it is hidden; an unversioned reference takes the base or
 * the only non-hidden default version).
 *
 * The per-object name index is built from the dynamic symbol table itself,
 * which gives the same answer as walking DT_GNU_HASH or DT_HASH chains (both
 * index exactly the defined dynamic symbols) without rehashing each name.
 */
import type { DynSymbol, ElfObject, VersionName } from './elf-object.js';

export const STB_LOCAL = 0;
export const STB_WEAK = 2;
export const STB_GNU_UNIQUE = 10;
export const STT_TLS = 6;
export const STT_GNU_IFUNC = 10;
const SHN_UNDEF = 0;
const SHN_ABS = 0xfff1;
/** STT_NOTYPE, OBJECT, FUNC, COMMON, TLS, GNU_IFUNC (ALLOWED_STT). */
const ALLOWED_STT = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 5) | (1 << 6) | (1 << 10);

/** An object in the scope: its dynamic information and where it was mapped. */
export interface ScopeObject {
  elf: ElfObject;
  /** l_addr: load address minus link-time address. */
  base: number;
  /** True for the program (the main map). */
  isMain: boolean;
}

export interface Binding {
  object: ScopeObject;
  symbol: DynSymbol;
}

/** Looks symbols up in one global scope, remembering answers. */
export class SymbolScope {
  private readonly cache = new Map<string, Binding | null>();
  /** Called when a lookup ends at an STB_GNU_UNIQUE definition (ld.so enters it in its unique table). */
  onUnique: ((name: string) => void) | undefined;

  constructor(readonly scope: readonly ScopeObject[]) {}

  /**
   * The definition a reference binds to: `version` is the reference's needed
   * version (undefined for an unversioned reference); `skip` leaves out one
   * object (the program, for R_X86_64_COPY).
   */
  lookup(name: string, version: VersionName | undefined, skip?: ScopeObject): Binding | undefined {
    const key = `${name}\0${version?.name ?? ''}\0${skip ? 1 : 0}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) {
      if (cached && cached.symbol.bind === STB_GNU_UNIQUE) this.onUnique?.(name);
      return cached ?? undefined;
    }
    let found: Binding | undefined;
    for (const o of this.scope) {
      if (o === skip) continue;
      const sym = matchIn(o.elf, name, version);
      if (sym) {
        found = { object: o, symbol: sym };
        break;
      }
    }
    this.cache.set(key, found ?? null);
    if (found && found.symbol.bind === STB_GNU_UNIQUE) this.onUnique?.(name);
    return found;
  }
}

/** check_match over the object's definitions of `name`, then the single-default-version fallback. */
function matchIn(elf: ElfObject, name: string, version: VersionName | undefined): DynSymbol | undefined {
  const defs = elf.definitions.get(name);
  if (!defs) return undefined;
  const versioned = elf.hasVersym;
  let numVersions = 0;
  let versionedSym: DynSymbol | undefined;
  for (const sym of defs) {
    if (sym.shndx === SHN_UNDEF) continue;
    if (sym.value === 0n && sym.shndx !== SHN_ABS && sym.type !== STT_TLS) continue;
    if (((1 << sym.type) & ALLOWED_STT) === 0) continue;
    if (sym.bind === STB_LOCAL) continue;
    if (version !== undefined) {
      if (versioned) {
        const own = elf.versions.get(sym.versionIndex);
        const ownHash = sym.versionIndex >= 2 ? (own?.hash ?? 0) : 0;
        const same =
          own !== undefined && sym.versionIndex >= 2 && own.hash === version.hash && own.name === version.name;
        if (!same && (ownHash !== 0 || sym.hidden)) continue;
      }
    } else if (versioned && sym.versionIndex >= 3) {
      if (!sym.hidden && numVersions++ === 0) versionedSym = sym;
      continue;
    }
    return sym;
  }
  return numVersions === 1 ? versionedSym : undefined;
}

/** SYMBOL_ADDRESS: l_addr + st_value, except for SHN_ABS symbols. */
export function symbolAddress(b: Binding): bigint {
  return (b.symbol.shndx === SHN_ABS ? 0n : BigInt(b.object.base)) + b.symbol.value;
}

/** dl_symbol_visibility_binds_local_p, or a local symbol: the reference binds to its own object. */
export function bindsLocally(sym: DynSymbol): boolean {
  return sym.bind === STB_LOCAL || sym.visibility !== 0;
}
