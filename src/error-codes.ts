/**
 * Every error and warning code pagestack uses, with the error class that
 * carries it and what it means. docs/notes/errors.md is this table in prose
 * form; test/error-codes.test.ts keeps the two equal and checks that every
 * code written in src/ is listed here.
 *
 * Exit status: 2 for UsageError, 130 for E_INTERRUPTED, 1 for the others.
 * Warnings are not thrown: they are listed in results (ELF warnings, a
 * scan's skipped files) with the same codes.
 */
export const ERROR_CODES = {
  // The command line
  E_USAGE: ['UsageError', 'a flag, argument or option value is wrong'],
  E_THRESHOLD: ['InputError', 'scan --fail-below: dedup would save less than the threshold'],
  E_NOTHING_FOUND: ['InputError', 'scan --fail-below: no ELF file was found, so there is nothing to measure'],
  E_INTERRUPTED: ['PagestackError', 'pack or unpack stopped by a signal; nothing was left behind'],
  // Files on disk
  E_NOENT: ['InputError', 'no such file or directory (or no such container member)'],
  E_ACCESS: ['InputError', 'permission denied'],
  E_ISDIR: ['InputError', 'a directory where a file was wanted'],
  E_NOTDIR: ['InputError', 'a path component is not a directory'],
  E_NOT_REGULAR: [
    'InputError',
    'not a regular file: a FIFO, socket or device, or a container member that is a directory or link',
  ],
  E_EXIST: ['InputError', 'the output exists (unpack without --force)'],
  E_NOSPC: ['InputError', 'no space left on device'],
  E_IO: ['InputError', 'another I/O error, with the system message'],
  E_LOOP: ['InputError', 'too many levels of symbolic links'],
  E_CHANGED: ['InputError', 'a file changed while it was being packed'],
  E_PSEUDO_FILE: [
    'InputError',
    'a pseudo-file (procfs, sysfs ...) whose content changes between reads, or larger than pack stores',
  ],
  E_MTIME: ['InputError', 'a file whose mtime is outside the range a container holds (-2^33 to 2^33-1 s)'],
  E_TOO_BIG: ['InputError', 'an input file larger than the command reads (a scenario over 16 MiB)'],
  E_TOO_LARGE: ['InputError', 'a file or the container exceeds a size limit (--max-size)'],
  E_LINK: ['InputError', 'a symbolic link target the container cannot store'],
  E_PATH_TOO_LONG: ['InputError', 'a path longer than the container allows'],
  E_PATH_ENCODING: ['InputError', 'a file name that is not valid UTF-8'],
  E_NO_MEMBER: ['InputError', 'cat: no such member in the container'],
  E_NOPROGRAM: ['InputError', 'a container given to load holds no ELF program'],
  E_NOT_ELF: ['InputError', 'not an ELF file (a scan skips it)'],
  E_STRICT: ['InputError', 'scan --strict: a file was skipped or warned about'],
  // ELF structure (ElfError: thrown; warning: listed in ElfFile.warnings)
  E_ELF_MAGIC: ['ElfError', 'no ELF magic'],
  E_ELF_TRUNCATED: ['ElfError', 'the ELF header or identification is cut short'],
  E_ELF_CLASS: ['ElfError', 'unknown ELF class (EI_CLASS)'],
  E_ELF_DATA: ['ElfError', 'unknown byte order (EI_DATA)'],
  E_ELF_TOO_LARGE: ['warning', 'file too large to parse its ELF structure; handled as pages only'],
  E_ELF_XNUM: ['warning', 'extended numbering (PN_XNUM, SHN_XINDEX) that cannot be resolved'],
  E_ELF_PHDRS: ['warning', 'the program header table is out of the file'],
  E_ELF_SHDRS: ['warning', 'the section header table is out of the file'],
  E_ELF_PHENTSIZE: ['warning', 'e_phentsize is wrong for the class'],
  E_ELF_SHENTSIZE: ['warning', 'e_shentsize is wrong for the class'],
  E_ELF_PHOFF: ['warning', 'e_phoff set without program headers'],
  E_ELF_SHOFF: ['warning', 'e_shoff set without section headers'],
  E_ELF_SHSTRNDX: ['warning', 'e_shstrndx is not a valid section index'],
  E_ELF_SHSTRTAB: ['warning', 'the section-name string table is empty, NOBITS or out of the file'],
  E_ELF_SHNAME: ['warning', 'a section name points past its string table'],
  E_ELF_SHLINK: ['warning', 'sh_link is not what the section type needs'],
  E_ELF_SHINFO: ['warning', 'sh_info is not what the section type needs'],
  E_ELF_SECTION_ENTSIZE: ['warning', 'sh_entsize is wrong for the section type'],
  E_ELF_SECTION_SIZE: ['warning', 'a section larger than the file'],
  E_ELF_SECTION_RANGE: ['warning', 'a section runs past the end of the file'],
  E_ELF_SEGMENT_SIZE: ['warning', 'a PT_LOAD has p_filesz above p_memsz'],
  E_ELF_SEGMENT_RANGE: ['warning', 'a segment runs past the end of the file'],
  E_ELF_TABLE_OVERLAP: ['warning', 'header tables overlap each other'],
  E_ELF_PHDR: ['warning', 'PT_PHDR after a PT_LOAD, or outside every PT_LOAD'],
  E_ELF_DYNAMIC: ['warning', 'PT_DYNAMIC repeated, without .dynamic, or out of the file'],
  E_ELF_DYNSYM: ['warning', 'a second dynamic symbol table'],
  E_ELF_DYNSTR: ['warning', 'a second dynamic string table'],
  E_ELF_INTERP: ['warning', 'PT_INTERP empty or out of the file'],
  E_READ: ['warning', 'a read failed part way; the pages after it were not scanned'],
  // What execve refuses (the loader)
  E_EXEC_TYPE: ['ElfError', 'e_type is not ET_EXEC or ET_DYN'],
  E_EXEC_ARCH: ['ElfError', 'not x86-64 ELF64 little-endian'],
  E_EXEC_PHDRS: ['ElfError', 'program header table size or entry size execve refuses'],
  E_EXEC_TRUNCATED: ['ElfError', 'program headers, PT_INTERP or segment bytes past the end of the file'],
  E_EXEC_NOLOAD: ['ElfError', 'no PT_LOAD segment, or they span no memory'],
  E_EXEC_INTERP: ['ElfError', 'PT_INTERP of a bad size or not NUL-terminated'],
  E_EXEC_SEGMENT: ['ElfError', 'a PT_LOAD segment execve refuses (sizes, alignment)'],
  E_EXEC_MAP: ['ElfError', 'a mapping outside [mmap_min_addr, TASK_SIZE) or over an existing one'],
  E_EXEC_NOMEM: ['ElfError', 'no room in the address space'],
  E_EXEC_ENTRY: ['ElfError', 'the entry point lies beyond user space'],
  E_EXEC_RANGE: ['ElfError', 'an address beyond the simulated address space'],
  E_RTLD_DYNAMIC: ['ElfError', 'a dynamic section, string table or relocation table ld.so needs lies outside the file'],
  E_RTLD_SEGMENT: ['ElfError', 'a PT_LOAD ld.so cannot map (_dl_map_segments refuses it)'],
  E_RTLD_NOT_FOUND: [
    'InputError',
    'ld.so: a DT_NEEDED library is in no search directory (cannot open shared object file)',
  ],
  E_RTLD_WRONG_CLASS: ['InputError', 'ld.so: the only candidates for a library were ELFCLASS32'],
  E_RTLD_BAD_OBJECT: [
    'InputError',
    'ld.so: a library candidate opened but is not a loadable object (invalid ELF header, file too short, ...)',
  ],
  E_RTLD_DST: ['InputError', 'ld.so: a DT_NEEDED name whose dynamic string token expands to nothing'],
  E_NOT_DYNAMIC: ['InputError', 'ldd: the file has no dynamic section (not a dynamic executable)'],
  E_ARG: ['InputError', 'an argument or environment string contains a NUL byte'],
  E_2BIG: ['InputError', 'argument list too long (E2BIG)'],
  // Containers (ContainerError)
  E_MAGIC: ['ContainerError', 'not a pagestack container (bad magic)'],
  E_VERSION: ['ContainerError', 'a format version this reader does not read'],
  E_FEATURE: ['ContainerError', 'required feature bits or sections this reader does not know'],
  E_TRUNCATED: ['ContainerError', 'the container is shorter than its header says'],
  E_TRAILING: ['ContainerError', 'bytes follow the end of the container'],
  E_CHECKSUM: ['ContainerError', 'a header, table or page checksum mismatch'],
  E_CORRUPT: ['ContainerError', 'a header field or table entry is inconsistent'],
  E_PATH: ['ContainerError', 'a member path is unsafe, repeated or has no parent directory'],
  E_LZ4: ['ContainerError', 'an LZ4 block that does not decode to exactly one page'],
  E_ZSTD: [
    'ContainerError',
    'a zstd page (tag, or stored or rebuilt frame) that does not decode to exactly one page, or is not one plain zstd frame',
  ],
  E_PAGE_LENGTH: ['ContainerError', 'a stored raw page of the wrong length'],
  // Scenarios and the simulated machine
  E_SCENARIO: ['ScenarioError', 'a scenario file that does not validate'],
  E_INVAL: ['SimulationError', 'a Machine call with bad arguments'],
  E_NOPID: ['SimulationError', 'no such process'],
  E_SEGV: ['SimulationError', 'an access outside any VMA or against its protection'],
  E_SIGBUS: ['SimulationError', 'an access to a file page beyond the end of the file'],
  E_OOM: ['SimulationError', 'the frame limit is reached and nothing can be reclaimed'],
  E_NOMEM: ['SimulationError', 'no address space left, or a range with unmapped pages (mprotect, madvise)'],
  E_BUSY: ['SimulationError', 'a KSM tunable that cannot change while KSM pages exist'],
  E_FAULT: ['SimulationError', 'the malloc model touched memory its host has not mapped'],
  E_MALLOC_OPTION: ['SimulationError', 'a malloc tunable out of range'],
  E_MALLOC_BAD_POINTER: ['SimulationError', 'free or realloc of a pointer malloc did not return (glibc aborts)'],
  E_MALLOC_CORRUPT: ['SimulationError', 'the malloc model found its heap corrupt (glibc aborts)'],
  E_MALLOC_INTERNAL: ['SimulationError', 'a broken invariant inside the malloc model (a bug)'],
  E_INTERNAL: ['InternalError', 'a bug in pagestack'],
} as const satisfies Record<string, readonly [ErrorClassName, string]>;

export type ErrorClassName =
  | 'UsageError'
  | 'InputError'
  | 'ElfError'
  | 'ContainerError'
  | 'ScenarioError'
  | 'SimulationError'
  | 'InternalError'
  | 'PagestackError'
  | 'warning';

/** Every code pagestack uses. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Process exit status the CLI uses for an error with this code. */
export function exitStatusOf(code: ErrorCode): number {
  if (ERROR_CODES[code][0] === 'UsageError') return 2;
  return code === 'E_INTERRUPTED' ? 130 : 1;
}
