/**
 * The programs of one simulation: where execve finds them (plain ELF files
 * through one FileTable, container members through a ContainerFileSource)
 * and their ELF layout, so that steps can name regions such as `.data`,
 * `load:1` or `interp:.bss`.
 *
 * Every program of a load shares one FileTable (content ids of plain files
 * come from one page index) and one source per container, and every Machine
 * of a run maps the same FileBacking objects: a page cache is per Machine,
 * the backings are only where bytes come from.
 */
import * as fs from 'node:fs';
import { PT_GNU_RELRO, PT_LOAD, type ElfFile } from '../elf/index.js';
import { fsError } from '../errors.js';
import { readExecImage } from '../loader/elf-image.js';
import { planExecWith, type ExecOptions } from '../loader/execve.js';
import { FileTable, type ExecFileSource } from '../loader/file-backing.js';
import type { ExecPlan } from '../abi/exec-plan.js';
import type { FileBacking } from '../abi/file-backing.js';
import { ContainerFileSource, type ContainerReader } from './container-source.js';
import { openContainerChecked, type OpenContainer } from './container-reader.js';

/** SHF_ALLOC: the section occupies memory while the program runs. */
const SHF_ALLOC = 2n;

/** Where an ELF file's parts are in memory, before the load bias is added. */
export interface ElfLayout {
  /** ET_EXEC or ET_DYN. */
  type: number;
  /** SHF_ALLOC sections by name (first of a name wins): unbiased address and size. */
  sections: Map<string, { addr: number; size: number }>;
  /** PT_LOADs in program-header order: unbiased vaddr, memsz and p_flags. */
  loads: Array<{ vaddr: number; memsz: number; flags: number }>;
  /** PT_GNU_RELRO, if any: the range the dynamic linker relocates and then makes read-only. */
  relro?: { vaddr: number; memsz: number };
}

export interface Program {
  /** The name steps use (a scenario's program name, or the path given to load). */
  name: string;
  /** The path given to execve. */
  execPath: string;
  source: ExecFileSource;
  backing: FileBacking;
  layout: ElfLayout;
  /** The interpreter's file and layout (PT_INTERP), resolved when the program was opened. */
  interp?: { backing: FileBacking; layout: ElfLayout };
}

export function elfLayout(elf: ElfFile): ElfLayout {
  const sections = new Map<string, { addr: number; size: number }>();
  for (const s of elf.sections) {
    if ((s.flags & SHF_ALLOC) === 0n || s.name === '' || sections.has(s.name)) continue;
    sections.set(s.name, { addr: Number(s.addr), size: Number(s.size) });
  }
  const loads = elf.programHeaders
    .filter((p) => p.type === PT_LOAD)
    .map((p) => ({ vaddr: Number(p.vaddr), memsz: Number(p.memsz), flags: p.flags }));
  const relroHeader = elf.programHeaders.find((p) => p.type === PT_GNU_RELRO);
  const layout: ElfLayout = { type: elf.header.type, sections, loads };
  if (relroHeader) layout.relro = { vaddr: Number(relroHeader.vaddr), memsz: Number(relroHeader.memsz) };
  return layout;
}

/**
 * The programs of one simulation and the sources they come from. Open
 * programs with `elf()` or `member()`; close() releases containers.
 */
export class ProgramSet {
  readonly files: FileTable;
  private readonly containers = new Map<string, ContainerFileSource>();
  private readonly plans = new Map<string, ExecPlan>();
  /** Programs by file identity (inode, or a container's regular entry): hard links are one file. */
  private readonly byIdentity = new Map<string, Program>();

  private constructor(
    files: FileTable,
    private readonly root: string | undefined,
    private readonly openContainer: OpenContainer | undefined,
  ) {
    this.files = files;
  }

  /** `root`: where PT_INTERP is resolved (undefined: '/'). `openContainer`: a reader to use instead of this build's. */
  static async create(options: { root?: string; openContainer?: OpenContainer } = {}): Promise<ProgramSet> {
    return new ProgramSet(await FileTable.create(), options.root, options.openContainer);
  }

  /** A plain ELF file on disk. */
  elf(name: string, path: string): Program {
    let identity: string;
    try {
      const st = fs.statSync(path, { bigint: true });
      identity = `inode ${st.dev}:${st.ino}`;
    } catch (err) {
      throw fsError(err, path);
    }
    return this.open(name, path, this.files, identity);
  }

  /** The member `member` of the container at `containerPath`. */
  async member(name: string, containerPath: string, member: string): Promise<Program> {
    const source = await this.container(containerPath);
    const index = source.resolve(member, member);
    const entry = index === undefined ? undefined : source.container.files[index];
    const identity =
      entry === undefined
        ? `member ${containerPath}:${member}`
        : `member ${containerPath}#${entry.linkIndex ?? entry.index}`;
    return this.open(name, member, source, identity);
  }

  /** The source reading the container at `path` (opened once per set). */
  async container(path: string): Promise<ContainerFileSource> {
    let source = this.containers.get(path);
    if (source === undefined) {
      const reader: ContainerReader = await openContainerChecked(path, this.openContainer);
      source = new ContainerFileSource(reader, this.files);
      this.containers.set(path, source);
    }
    return source;
  }

  /**
   * execve's plan for `program` with these arguments, made once per set
   * (plans are plain data; every Machine of a run maps the same one).
   */
  plan(program: Program, argv?: string[], envp?: string[]): ExecPlan {
    const key = JSON.stringify([program.name, argv ?? null, envp ?? null]);
    let plan = this.plans.get(key);
    if (plan === undefined) {
      const options: ExecOptions = {};
      if (this.root !== undefined) options.root = this.root;
      if (argv !== undefined) options.argv = argv;
      if (envp !== undefined) options.envp = envp;
      plan = planExecWith(program.source, program.execPath, options);
      this.plans.set(key, plan);
    }
    return plan;
  }

  close(): void {
    for (const source of this.containers.values()) source.container.close();
    this.containers.clear();
  }

  /**
   * Opens a program once per file: a second name of the same file (a hard
   * link) gets the first one's backing, so both map one page cache, as one
   * inode has one in Linux. (The loader's FileTable keeps one backing per
   * name, for /proc/PID/maps; the memory model keys page caches by backing.)
   */
  private open(name: string, execPath: string, source: ExecFileSource, identity: string): Program {
    const same = this.byIdentity.get(identity);
    if (same !== undefined) return { ...same, name };
    const program = this.openNew(name, execPath, source);
    this.byIdentity.set(identity, program);
    return program;
  }

  private openNew(name: string, execPath: string, source: ExecFileSource): Program {
    const backing = source.program(execPath);
    const image = readExecImage(backing, 'program');
    const program: Program = { name, execPath, source, backing, layout: elfLayout(image.elf) };
    if (image.interpreter !== undefined) {
      const interpBacking = source.interpreter(image.interpreter, this.root, backing.path);
      program.interp = { backing: interpBacking, layout: elfLayout(readExecImage(interpBacking, 'interpreter').elf) };
    }
    // Plan once now, so that a program execve would refuse is reported before anything runs.
    this.plan(program);
    return program;
  }
}

/** The load bias of the interpreter in `plan` (AT_BASE minus its first page), or undefined without one. */
export function interpBias(plan: ExecPlan, layout: ElfLayout): number | undefined {
  if (plan.interpBase === undefined) return undefined;
  if (layout.type !== 3 /* ET_DYN */) return 0;
  const first = layout.loads[0];
  return first === undefined ? plan.interpBase : plan.interpBase - Math.floor(first.vaddr / 4096) * 4096;
}
