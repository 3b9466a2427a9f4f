import type { Command } from 'commander';
import { InputError } from '../../errors.js';

interface LddFlags {
  root?: string;
  json?: boolean;
  libraryPath?: string;
}

/** `pagestack ldd FILE [--root DIR] [--json]`: the shared libraries ld.so would load, in ldd's format. */
export function register(program: Command): void {
  program
    .command('ldd')
    .description(
      'print the shared objects ld.so loads for FILE, as ldd does (glibc 2.36 search rules, x86-64), without running it',
    )
    .argument('<file>', 'ELF executable or shared object')
    .option('--root <dir>', 'search libraries and /etc/ld.so.cache inside DIR, as if chrooted there (default: /)')
    .option('--library-path <dirs>', 'LD_LIBRARY_PATH for the search (default: none, whatever the environment says)')
    .option('--json', 'print the objects as JSON')
    .addHelpText(
      'after',
      `
The address column of ldd is left out: the libraries are found, not mapped.

Examples:
  pagestack ldd /usr/bin/python3
  pagestack ldd --root /srv/chroot /srv/chroot/usr/bin/env
  pagestack ldd --library-path ./lib ./app --json`,
    )
    .action(async (file: string, flags: LddFlags) => {
      // Loaded when the command runs, so that other commands start without the loader's modules.
      const { resolveLibraries } = await import('../../loader/rtld/search.js');
      const { formatLdd, LDD_RTLD, lddLines } = await import('../../loader/rtld/ldd.js');
      const path = file.includes('/') ? file : `./${file}`;
      const r = await resolveLibraries(path, {
        trace: true,
        programOrigin: 'path',
        rtld: LDD_RTLD,
        ...(flags.root === undefined ? {} : { root: flags.root }),
        ...(flags.libraryPath === undefined ? {} : { libraryPath: flags.libraryPath }),
      });
      if (!r.program.dynamic) {
        throw new InputError('E_NOT_DYNAMIC', `${file}: not a dynamic executable`, { file });
      }
      if (!flags.json) {
        process.stdout.write(formatLdd(r));
        return;
      }
      const lines = lddLines(r) ?? [];
      const doc = {
        file,
        interpreter: r.interpreter ? { name: r.interpreter.name, realPath: r.interpreter.realPath } : undefined,
        libraries: lines.map((l) => ({ name: l.name, path: l.path ?? null, found: l.path !== undefined })),
        loadOrder: r.objects.map((o) => ({
          name: o.name,
          realPath: o.realPath,
          soname: o.soname ?? null,
          needed: o.needed,
        })),
        missing: r.missing.map((m) => ({ name: m.name, neededBy: m.neededBy.name })),
      };
      process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    });
}
