/**
 * `npm run bench -- rtld-system [PROGRAM...]`: real programs of this machine
 * with their shared libraries, under the per-file page cache (Linux today)
 * and the content-shared one, from plain files and from one container that
 * holds the programs and every library they load (packed first).
 *
 * Prints markdown tables for docs/notes/rtld.md: frames, Pss, the pages ld.so
 * dirtied, the pages shared the ordinary way, and what the page scan says
 * relocation will write among the duplicate pages. Each program runs 2
 * processes (execve twice). Library constructors are not simulated.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pack } from '../container/index.js';
import { FileTable } from '../loader/file-backing.js';
import { HostRootFiles } from '../loader/rtld/files.js';
import { relocationWritesOf } from '../loader/rtld/relocated-pages.js';
import { hostProgram, resolveWith } from '../loader/rtld/search.js';
import { scan } from '../scan/index.js';
import { loadPrograms, type LoadResult } from '../sim/load.js';

const DEFAULT_PROGRAMS = [
  'bash',
  'dash',
  'python3',
  'perl',
  'gcc',
  'g++',
  'cpp',
  'ls',
  'cat',
  'grep',
  'sed',
  'mawk',
  'tar',
  'gzip',
  'xz',
  'zstd',
  'find',
  'sort',
  'diff',
  'make',
  'git',
  'ssh',
  'curl',
  'openssl',
  'readelf',
  'objdump',
  'as',
  'ld.bfd',
  'gdb',
  'less',
  'file',
  'vim.basic',
  'sqlite3',
  'strace',
  'node',
].map((n) => `/usr/bin/${n}`);

export async function run(args: string[]): Promise<void> {
  const programs = (args.length > 0 ? args : DEFAULT_PROGRAMS).filter((p) => fs.existsSync(p) && isDynamic(p));
  const procs = 2;
  const started = Date.now();
  const table = await FileTable.create();
  const host = new HostRootFiles('/', (p) => table.open(p));

  // The files each program maps: the program, ld.so, the libraries (by the names ld.so opens them as).
  const names = new Set<string>(['/etc/ld.so.cache']);
  const realFiles = new Set<string>();
  for (const p of programs) {
    const r = resolveWith(
      host,
      hostProgram(host, p, (h) => table.open(h)),
      {},
    );
    names.add(p);
    for (const o of [...r.objects, ...(r.interpreter ? [r.interpreter] : [])]) {
      names.add(o.kind === 'program' ? p : o.name);
      realFiles.add(o.realPath);
    }
  }

  const plainLibs = await loadPrograms(programs, { procs });
  const plainBare = await loadPrograms(programs, { procs, libs: false });

  // One container with the programs and their libraries, laid out as on disk (links included).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-rtld-system-'));
  try {
    const tree = path.join(dir, 'root');
    fs.mkdirSync(tree);
    for (const n of names) mirror(n, tree);
    const image = path.join(dir, 'system.pgs');
    const inputs = fs.readdirSync(tree).map((e) => path.join(tree, e));
    await pack(inputs, image, {});
    const inputBytes = [...realFiles].reduce((t, f) => t + fs.statSync(f).size, 0);
    const imageBytes = fs.statSync(image).size;
    const members = programs.map((p) => `${image}:${p.slice(1)}`);
    const packed = await loadPrograms(members, { procs });

    const scanned = await scan([...realFiles], { pageSize: 4096 });
    const writes = relocationWritesOf(scanned);
    const reloc = writes.reduce(
      (t, w) => ({
        pages: t.pages + (w?.pages ?? 0),
        shared: t.shared + (w?.sharedPages ?? 0),
        zero: t.zero + (w?.zeroPages ?? 0),
      }),
      { pages: 0, shared: 0, zero: 0 },
    );

    const out: string[] = [];
    out.push(
      `${programs.length} programs × ${procs} processes, ${realFiles.size} files mapped (programs, ld.so, libraries); ${new Date().toISOString().slice(0, 10)}, ${os.hostname()}, ${os.cpus().length} CPUs`,
    );
    out.push('');
    out.push(
      '| run | page cache | frames | page-cache frames | anon frames | Pss total | ld.so-dirtied pages | shared by processes (pages) |',
    );
    out.push('|---|---|---:|---:|---:|---:|---:|---:|');
    const row = (name: string, r: LoadResult, cache: 'file' | 'content') => {
      const s = r.system[cache];
      out.push(
        `| ${name} | ${cache === 'file' ? 'per-file' : 'content-shared'} | ${s.framesUsed} | ${s.pageCacheFrames} | ${s.anonFrames} | ${mib(s.pssTotal)} | ${r.sharing?.rtldDirtiedPages ?? '–'} | ${r.sharing?.ordinarySharedPages ?? '–'} |`,
      );
    };
    row('files, --no-libs (program + ld.so only)', plainBare, 'file');
    row('files, --no-libs (program + ld.so only)', plainBare, 'content');
    row('files, through ld.so', plainLibs, 'file');
    row('files, through ld.so', plainLibs, 'content');
    row('one container, through ld.so', packed, 'file');
    row('one container, through ld.so', packed, 'content');
    out.push('');
    out.push(
      `content sharing across files saves ${plainLibs.sharing!.contentSharedFrames} frames from files, ${packed.sharing!.contentSharedFrames} from the container;`,
    );
    const fromImage = packed.programs.flatMap((p) => p.libraries ?? []);
    out.push(
      `from the container: ${fromImage.filter((l) => !l.startsWith('/')).length} of ${fromImage.length} library mappings are image members;`,
    );
    out.push(
      `container ${mib(imageBytes)} for ${mib(inputBytes)} of files (${((imageBytes / inputBytes) * 100).toFixed(1)}%).`,
    );
    out.push(
      `page scan of the ${realFiles.size} files: ${scanned.totals.pages} pages, ${scanned.totals.zeroPages} zero, ${scanned.totals.duplicatePages} duplicate; relocation writes ${reloc.pages} file pages, ${reloc.shared} of them shared on disk and ${reloc.zero} zero.`,
    );
    out.push(
      `(${((Date.now() - started) / 1000).toFixed(0)} s; library constructors and their heap are not simulated)`,
    );
    process.stdout.write(`${out.join('\n')}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Copies the host file at `hostPath` into `tree`, recreating every symbolic link met on the way. */
function mirror(hostPath: string, tree: string, depth = 0): void {
  if (depth > 40) return;
  const parts = hostPath.split('/').filter((p) => p !== '');
  let at = '/';
  for (let i = 0; i < parts.length; i++) {
    const next = path.join(at, parts[i]!);
    const dest = path.join(tree, next);
    const st = fs.lstatSync(next);
    if (st.isSymbolicLink()) {
      const target = fs.readlinkSync(next);
      if (!fs.existsSync(dest) && !isLink(dest)) fs.symlinkSync(target, dest);
      const resolved = target.startsWith('/') ? target : path.join(at, target);
      mirror(path.join(resolved, ...parts.slice(i + 1)), tree, depth + 1);
      return;
    }
    if (st.isDirectory()) {
      fs.mkdirSync(dest, { recursive: true });
    } else if (!fs.existsSync(dest)) {
      fs.copyFileSync(next, dest);
    }
    at = next;
  }
}

function isLink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

function isDynamic(p: string): boolean {
  try {
    const b = fs.readFileSync(p).subarray(0, 4);
    return b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
  } catch {
    return false;
  }
}

const mib = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;
