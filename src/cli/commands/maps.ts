import type { Command } from 'commander';
import { jsonDocument, SCHEMAS } from '../json.js';

interface MapsFlags {
  root?: string;
  json?: boolean;
  special: boolean;
  quiet?: boolean;
}

/** `pagestack maps FILE [--root DIR] [--json]`: /proc/PID/maps right after execve. */
export function register(program: Command): void {
  program
    .command('maps')
    .description('print /proc/PID/maps of FILE right after execve (Linux 6.18, x86-64, ASLR off)')
    .argument('<file>', 'ELF executable')
    .option('--root <dir>', 'resolve the interpreter (PT_INTERP) inside DIR, as if chrooted there (default: /)')
    .option('--json', 'print the mappings and the process layout as JSON (schema pagestack.maps/1)')
    .option('--no-special', 'leave out [vvar], [vvar_vclock], [vdso] and [vsyscall]')
    .addHelpText(
      'after',
      `
Examples:
  pagestack maps samples/bin/hello
  pagestack maps --root /srv/chroot /srv/chroot/usr/bin/env   # interpreter found inside the root
  pagestack maps --json --no-special samples/bin/static | jq '.mappings[].start'

Compare with the real kernel: setarch -R gdb -batch -ex starti -ex 'info proc mappings' FILE`,
    )
    .action(async (file: string, flags: MapsFlags) => {
      const { planExec } = await import('../../loader/execve.js');
      const { formatMaps, mapsLines } = await import('../../loader/maps.js');
      const plan = await planExec(file, flags.root === undefined ? {} : { root: flags.root });
      if (!flags.json) {
        if (!flags.quiet) process.stdout.write(formatMaps(plan, { special: flags.special }));
        return;
      }
      const hex = (v: number | bigint | undefined) => (v === undefined ? undefined : `0x${v.toString(16)}`);
      const result = {
        file,
        interpreter: plan.interpreter,
        entry: hex(plan.entry),
        loadBias: hex(plan.loadBias),
        interpBase: hex(plan.interpBase),
        startBrk: hex(plan.startBrk),
        stackPointer: hex(plan.stackPointer),
        mappings: mapsLines(plan, { special: flags.special }).map((l) => ({
          start: hex(l.start),
          end: hex(l.end),
          perms: l.perms,
          offset: hex(l.offset),
          dev: l.dev,
          inode: Number(l.inode),
          pathname: l.pathname,
        })),
      };
      process.stdout.write(jsonDocument(SCHEMAS.maps, result));
    });
}
