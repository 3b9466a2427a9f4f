/**
 * Named regions of a running process, resolved to addresses: ELF sections
 * and PT_LOAD segments of the program (plus the load bias) or of its
 * interpreter (`interp:` prefix, plus AT_BASE), `[heap]` (start_brk up to
 * the break), `[stack]` (the stack VMA), and the names a scenario gave to
 * mmaps and allocations. A Target (region or address, offset, length or
 * fraction, stride) becomes the list of byte ranges a step accesses.
 */
import type { ExecPlan } from '../abi/exec-plan.js';
import type { Machine } from '../mm/machine.js';
import { interpBias, type ElfLayout, type Program } from './programs.js';
import type { Target } from './scenario/types.js';

export interface Range {
  addr: number;
  length: number;
}

/** What region resolution needs to know about one simulated process. */
export interface RegionSource {
  pid: number;
  program: Program;
  plan: ExecPlan;
  /** mmap and allocation names. */
  regions: Map<string, Range>;
}

export class RegionError extends Error {}

export function resolveRegion(machine: Machine, proc: RegionSource, name: string): Range {
  const named = proc.regions.get(name);
  if (named !== undefined) return named;
  if (name === '[heap]') {
    const { startBrk, brk } = machine.getBrk(proc.pid);
    if (brk <= startBrk) throw new RegionError('[heap] is empty (the program break has not moved)');
    return { addr: startBrk, length: brk - startBrk };
  }
  if (name === '[stack]') {
    const stack = machine.maps(proc.pid).find((v) => v.path === '[stack]');
    if (stack === undefined) throw new RegionError('the process has no [stack] mapping');
    return { addr: stack.start, length: stack.end - stack.start };
  }
  if (name.startsWith('interp:')) {
    const interp = proc.program.interp;
    const bias = interp === undefined ? undefined : interpBias(proc.plan, interp.layout);
    if (interp === undefined || bias === undefined) throw new RegionError(`"${proc.program.name}" has no interpreter`);
    return elfRegion(interp.layout, name.slice('interp:'.length), bias);
  }
  return elfRegion(proc.program.layout, name, proc.plan.loadBias);
}

function elfRegion(layout: ElfLayout, name: string, bias: number): Range {
  if (name.startsWith('load:')) {
    const load = layout.loads[Number(name.slice(5))];
    if (load === undefined) throw new RegionError(`no PT_LOAD ${name}`);
    return { addr: load.vaddr + bias, length: load.memsz };
  }
  const section = layout.sections.get(name);
  if (section === undefined) throw new RegionError(`no allocated section ${name}`);
  return { addr: section.addr + bias, length: section.size };
}

/** The whole span a target covers: [addr, addr + length). */
export function targetSpan(machine: Machine, proc: RegionSource, target: Target): Range {
  if (target.addr !== undefined) return { addr: target.addr + target.offset, length: target.length! };
  const region = resolveRegion(machine, proc, target.region!);
  if (target.offset > region.length) {
    throw new RegionError(`offset ${target.offset} is past the end of ${target.region} (${region.length} bytes)`);
  }
  const rest = region.length - target.offset;
  let length = rest;
  if (target.length !== undefined) {
    if (target.length > rest) {
      throw new RegionError(
        `${target.length} bytes from offset ${target.offset} run past the end of ${target.region} (${region.length} bytes)`,
      );
    }
    length = target.length;
  } else if (target.fraction !== undefined) {
    length = Math.ceil(target.fraction * rest);
  }
  return { addr: region.addr + target.offset, length };
}

/** The ranges a target accesses: its span, or `chunk` bytes every `stride` bytes of it. */
export function targetRanges(span: Range, target: Target): Range[] {
  if (span.length === 0) return [];
  if (target.stride === undefined) return [span];
  const chunk = target.chunk!;
  const out: Range[] = [];
  for (let off = 0; off < span.length; off += target.stride) {
    out.push({ addr: span.addr + off, length: Math.min(chunk, span.length - off) });
  }
  return out;
}
