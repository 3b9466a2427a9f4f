/**
 * What exists at each point of a scenario, followed while its steps are
 * checked: live processes (and the program each runs), their named regions
 * (mmaps and allocations), and whether they may use the heap. A step that
 * names something not there is refused with its JSON path before anything
 * runs, e.g. `steps[3].proc: unknown process "web9"`.
 */
import type { ElfLayout, Program } from '../programs.js';
import type { JsonPath } from './check.js';

interface ProcScope {
  program: string;
  /** mmap and allocation names. */
  regions: Set<string>;
  /** Allocation names (a subset of regions): what realloc and free accept. */
  pointers: Set<string>;
}

export class NameScope {
  private readonly procs = new Map<string, ProcScope>();

  constructor(readonly programs: ReadonlyMap<string, Program>) {}

  liveNames(): string[] {
    return [...this.procs.keys()];
  }

  has(proc: string): boolean {
    return this.procs.has(proc);
  }

  /** The process `proc`, or an error naming the field and the live processes. */
  proc(proc: string, at: JsonPath): ProcScope {
    const p = this.procs.get(proc);
    if (p === undefined) {
      const live = this.liveNames();
      throw at.error(
        `unknown process "${proc}" (${live.length === 0 ? 'no process is running here' : `running here: ${live.join(', ')}`})`,
      );
    }
    return p;
  }

  program(name: string, at: JsonPath): Program {
    const p = this.programs.get(name);
    if (p === undefined)
      throw at.error(`unknown program "${name}" (known: ${[...this.programs.keys()].join(', ') || 'none'})`);
    return p;
  }

  /** execve: a new process, or a new image for a live one (its regions are gone). */
  exec(proc: string, program: string): void {
    this.procs.set(proc, { program, regions: new Set(), pointers: new Set() });
  }

  fork(parent: string, child: string, at: JsonPath): void {
    const p = this.proc(parent, at);
    this.procs.set(child, { program: p.program, regions: new Set(p.regions), pointers: new Set(p.pointers) });
  }

  exit(proc: string): void {
    this.procs.delete(proc);
  }

  addRegion(proc: string, name: string, at: JsonPath, pointer: boolean): void {
    const p = this.proc(proc, at.key('proc'));
    if (p.regions.has(name)) throw at.error(`process "${proc}" already has a region named "${name}"`);
    if (isBuiltinRegion(name)) throw at.error(`"${name}" is the name of a built-in region; choose another`);
    p.regions.add(name);
    if (pointer) p.pointers.add(name);
  }

  removeRegion(proc: string, name: string): void {
    const p = this.procs.get(proc);
    p?.regions.delete(name);
    p?.pointers.delete(name);
  }

  /** An allocation name of `proc` (for realloc and free). */
  pointer(proc: string, name: string, at: JsonPath): void {
    const p = this.proc(proc, at);
    if (!p.pointers.has(name)) {
      const known = [...p.pointers];
      throw at.error(
        `process "${proc}" has no allocation named "${name}" (${known.length === 0 ? 'none' : `it has: ${known.join(', ')}`})`,
      );
    }
  }

  /** Checks that `region` can name memory of `proc` here (sections against the ELF file). */
  region(proc: string, region: string, procAt: JsonPath, at: JsonPath): void {
    const p = this.proc(proc, procAt);
    if (p.regions.has(region) || region === '[heap]' || region === '[stack]') return;
    const program = this.programs.get(p.program)!;
    if (region.startsWith('interp:')) {
      if (program.interp === undefined)
        throw at.error(`program "${p.program}" has no interpreter (PT_INTERP), so "${region}" names nothing`);
      checkElfRegion(region.slice('interp:'.length), program.interp.layout, `the interpreter of "${p.program}"`, at);
      return;
    }
    if (region.startsWith('.') || region.startsWith('load:')) {
      checkElfRegion(region, program.layout, `program "${p.program}"`, at);
      return;
    }
    const named = [...p.regions];
    throw at.error(
      `process "${proc}" has no region "${region}" (regions: an ELF section such as ".data", "load:N", "interp:.data", "[heap]", "[stack]"${named.length ? `, ${named.map((n) => `"${n}"`).join(', ')}` : ''})`,
    );
  }
}

export function isBuiltinRegion(name: string): boolean {
  return (
    name === '[heap]' ||
    name === '[stack]' ||
    name.startsWith('.') ||
    name.startsWith('load:') ||
    name.startsWith('interp:')
  );
}

function checkElfRegion(region: string, layout: ElfLayout, who: string, at: JsonPath): void {
  if (region.startsWith('load:')) {
    const n = region.slice(5);
    if (!/^\d+$/.test(n) || Number(n) >= layout.loads.length) {
      throw at.error(
        `${who} has ${layout.loads.length} PT_LOAD segments: "${region}" must be load:0 to load:${layout.loads.length - 1}`,
      );
    }
    return;
  }
  if (!layout.sections.has(region)) {
    throw at.error(`${who} has no allocated section "${region}" (it has: ${[...layout.sections.keys()].join(' ')})`);
  }
}
