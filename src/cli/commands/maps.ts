import { Option, type Command } from 'commander';
import type { ExecPlan } from '../../abi/exec-plan.js';
import { jsonDocument, SCHEMAS } from '../json.js';

interface MapsFlags {
  root?: string;
  json?: boolean;
  special: boolean;
  at: 'exec' | 'entry';
  smaps?: boolean;
  bindNow?: boolean;
  fileCache: string;
  quiet?: boolean;
}

/** Frames for the one-process machine `maps --at entry` runs (metadata is allocated per frame used). */
const MAPS_FRAMES = 1 << 22;

/** `pagestack maps FILE [--root DIR] [--json] [--at exec|entry] [--smaps] [--bind-now]`. */
export function register(program: Command): void {
  program
    .command('maps')
    .description(
      'print /proc/PID/maps of FILE right after execve, or at its entry point after ld.so (Linux 6.18, glibc 2.36, x86-64, ASLR off)',
    )
    .argument('<file>', 'ELF executable')
    .option('--root <dir>', 'resolve the interpreter and the libraries inside DIR, as if chrooted there (default: /)')
    .option('--json', 'print the mappings and the process layout as JSON (schema pagestack.maps/1)')
    .option('--no-special', 'leave out [vvar], [vvar_vclock], [vdso] and [vsyscall]')
    .addOption(
      new Option(
        '--at <point>',
        'exec: right after execve; entry: at AT_ENTRY, after ld.so mapped and relocated the libraries',
      )
        .choices(['exec', 'entry'])
        .default('exec'),
    )
    .option('--smaps', "print /proc/PID/smaps (the memory model's counters) instead of maps")
    .option('--bind-now', 'with --at entry: LD_BIND_NOW=1 (every PLT slot resolved); default lazy binding')
    .option(
      '--file-cache <state>',
      'with --smaps or --at entry: how the mapped files sit in the page cache: faulted (only pages faults read, 4 KiB), pages (all cached, 4 KiB folios), write or write:BYTES (all cached, in the large folios write() calls of that size leave)',
      'faulted',
    )
    .addHelpText(
      'after',
      `
Examples:
  pagestack maps samples/bin/hello
  pagestack maps --at entry /usr/bin/python3          # after ld.so: libraries, TLS, RELRO
  pagestack maps --at entry --smaps --bind-now /usr/bin/ls
  pagestack maps --at entry --smaps --file-cache write ./a.out   # just built: large page-cache folios
  pagestack maps --root /srv/chroot /srv/chroot/usr/bin/env   # interpreter found inside the root
  pagestack maps --json --no-special samples/bin/static | jq '.mappings[].start'

At the entry point, library constructors have not been simulated (nor the
heap their malloc calls make): a real process may also show a [heap] line.

Compare with the real kernel: setarch -R gdb -batch -ex starti -ex 'info proc mappings' FILE`,
    )
    .action(async (file: string, flags: MapsFlags) => {
      const { planExec } = await import('../../loader/execve.js');
      const { formatMaps, mapsLines } = await import('../../loader/maps.js');
      const options = flags.root === undefined ? {} : { root: flags.root };
      let plan: ExecPlan;
      let smapsText: (() => string) | undefined;
      const { fileCacheOption, fillsPageCache } = await import('../../loader/file-cache.js');
      const fileCache = fileCacheOption('--file-cache', flags.fileCache);
      if (flags.at === 'entry' || flags.smaps) {
        const { FileTable } = await import('../../loader/file-backing.js');
        const { entryExecPlan, entrySmaps, planEntry, runEntry } = await import('../../loader/rtld/entry.js');
        const { Machine } = await import('../../mm/machine.js');
        const files = await FileTable.create();
        const entry =
          flags.at === 'entry'
            ? planEntry(files, file, { ...options, bindNow: flags.bindNow === true })
            : planEntry(files, file, { ...options, libraries: false });
        const machine = new Machine({ frames: MAPS_FRAMES, keepPageCache: fillsPageCache(fileCache) });
        const pid = runEntry(machine, entry, fileCache);
        plan = entryExecPlan(machine, pid, entry);
        smapsText = () => entrySmaps(machine, pid, entry);
        if (flags.at === 'entry' && entry.objects.length > 0 && !flags.quiet) {
          process.stderr.write(
            '# pagestack: at AT_ENTRY after ld.so; library constructors and their heap are not simulated\n',
          );
        }
      } else {
        plan = await planExec(file, options);
      }
      if (flags.smaps && smapsText) {
        if (!flags.quiet) process.stdout.write(smapsText());
        return;
      }
      if (!flags.json) {
        if (!flags.quiet) process.stdout.write(formatMaps(plan, { special: flags.special }));
        return;
      }
      const hex = (v: number | bigint | undefined) => (v === undefined ? undefined : `0x${v.toString(16)}`);
      const result = {
        file,
        at: flags.at,
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
