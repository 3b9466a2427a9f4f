/**
 * Shared set-up of the loader tests: a temporary root whose
 * /lib64/ld-linux-x86-64.so.2 is a synthetic ld.so behind an absolute and a
 * relative symlink, so no test depends on the machine's interpreter.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { planExecWith, type ExecOptions } from '../src/loader/execve.js';
import { FileTable } from '../src/loader/file-backing.js';
import type { ExecPlan } from '../src/abi/exec-plan.js';
import { loadPageHasher } from '../src/scan/hash.js';
import { buildElf, R, W, X, type ElfSpec } from './loader-elf-builder.js';

export const SAMPLES = path.resolve(__dirname, '../samples/bin');
export const sample = (name: string) => path.join(SAMPLES, name);

/** A small ld.so: three segments, 0x5800 bytes of span, entry at +0x1000. */
export const FAKE_LDSO: ElfSpec = {
  type: 3,
  entry: 0x1000,
  phdrs: [
    { flags: R, offset: 0, vaddr: 0, filesz: 0x800 },
    { flags: R | X, offset: 0x1000, vaddr: 0x1000, filesz: 0x2000 },
    { flags: R | W, offset: 0x3800, vaddr: 0x4800, filesz: 0x200, memsz: 0x1000 },
  ],
};

export interface LoaderFixture {
  tmp: string;
  root: string;
  ldso: string;
  files: FileTable;
  plan(file: string, options?: ExecOptions): ExecPlan;
  /** Writes an ELF (from a spec or bytes) into the temporary directory, executable. */
  synthetic(name: string, spec: ElfSpec | Uint8Array): string;
  cleanup(): void;
}

export async function loaderFixture(): Promise<LoaderFixture> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-loader-'));
  // root/lib64 -> /usr/lib (absolute: must stay inside root); root/usr/lib/ld-linux-x86-64.so.2 -> ld-2.36.so
  const root = path.join(tmp, 'root');
  fs.mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
  const ldso = path.join(root, 'usr/lib/ld-2.36.so');
  fs.writeFileSync(ldso, buildElf(FAKE_LDSO), { mode: 0o755 });
  fs.symlinkSync('ld-2.36.so', path.join(root, 'usr/lib/ld-linux-x86-64.so.2'));
  fs.symlinkSync('/usr/lib', path.join(root, 'lib64'));
  const files = new FileTable(await loadPageHasher(), { thpAligned: false });
  return {
    tmp,
    root,
    ldso,
    files,
    plan: (file, options = {}) => planExecWith(files, file, { root, ...options }),
    synthetic(name, spec) {
      const file = path.join(tmp, name);
      fs.writeFileSync(file, spec instanceof Uint8Array ? spec : buildElf(spec), { mode: 0o755 });
      return file;
    },
    cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }),
  };
}
