/**
 * Asks the real kernel what execve did: runs a program under
 * `setarch -R gdb -batch -ex starti`, which stops at the first user
 * instruction, and reads the inferior's /proc/PID/{maps,stat,auxv,limits,
 * cmdline,environ}, its registers and its stack from a gdb Python script.
 * Used by test/loader-kernel.test.ts.
 */
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface KernelExec {
  maps: string;
  /** /proc/PID/stat fields by their proc(5) number (26 startcode ... 51 env_end). */
  stat: Record<number, bigint>;
  auxv: Array<[number, bigint]>;
  rsp: bigint;
  rip: bigint;
  rlimitStack: bigint;
  argv: string[];
  envp: string[];
  /** The filename execve was given (the string at AT_EXECFN). */
  execfn: string;
  /** Stack bytes [rsp, end of the [stack] VMA). */
  stack: Uint8Array;
  stackEnd: bigint;
  /** The first and last page of every file-backed VMA; null where reading faulted (past the end of the file). */
  pages: Array<[bigint, Uint8Array | null]>;
}

const PROBE = String.raw`
import gdb, json, struct
inf = gdb.selected_inferior()
pid = inf.pid
def rd(name):
    with open('/proc/%d/%s' % (pid, name), 'rb') as f:
        return f.read()
maps = rd('maps').decode('latin1')
stat = rd('stat').decode('latin1')
fields = stat[stat.rindex(')') + 2:].split()
statmap = {}
for n in (26, 27, 28, 45, 46, 47, 48, 49, 50, 51):
    statmap[n] = fields[n - 3]
raw = rd('auxv')
auxv = [struct.unpack_from('<QQ', raw, i) for i in range(0, len(raw) - 15, 16)]
auxv = auxv[:[a for a, _ in auxv].index(0)] if 0 in [a for a, _ in auxv] else auxv
rlim = None
for line in rd('limits').decode().splitlines():
    if line.startswith('Max stack size'):
        rlim = line.split()[3]
rsp = int(gdb.parse_and_eval('(unsigned long)$rsp'))
rip = int(gdb.parse_and_eval('(unsigned long)$rip'))
stack_end = None
for line in maps.splitlines():
    if line.endswith('[stack]'):
        stack_end = int(line.split()[0].split('-')[1], 16)
mem = inf.read_memory(rsp, stack_end - rsp).tobytes()
execfn_at = dict(auxv)[31] - rsp
execfn = mem[execfn_at:mem.index(b'\0', execfn_at)]
pages = []
for line in maps.splitlines():
    parts = line.split()
    if len(parts) < 6 or not parts[5].startswith('/'):
        continue
    start, end = [int(x, 16) for x in parts[0].split('-')]
    for addr in sorted({start, end - 4096}):
        try:
            pages.append([str(addr), inf.read_memory(addr, 4096).tobytes().hex()])
        except gdb.MemoryError:
            pages.append([str(addr), None])
argv = rd('cmdline').split(b'\0')[:-1]
envp = rd('environ').split(b'\0')[:-1]
print('PAGESTACK-JSON:' + json.dumps({
    'maps': maps,
    'stat': statmap,
    'auxv': [[a, str(v)] for a, v in auxv],
    'rsp': str(rsp), 'rip': str(rip), 'rlimitStack': rlim,
    'argv': [a.decode('latin1') for a in argv],
    'envp': [e.decode('latin1') for e in envp],
    'execfn': execfn.decode('latin1'),
    'stack': mem.hex(), 'stackEnd': str(stack_end),
    'pages': pages,
}))
`;

let probeFile: string | undefined;

/** Removes the probe script's temporary directory (call from afterAll). */
export function removeProbeFile(): void {
  if (probeFile) fs.rmSync(path.dirname(probeFile), { recursive: true, force: true });
  probeFile = undefined;
}

/** Removes the probe script's temporary directory (call from afterAll). */
export function removeProbeScript(): void {
  if (probeFile) fs.rmSync(path.dirname(probeFile), { recursive: true, force: true });
  probeFile = undefined;
}

function probePath(): string {
  if (!probeFile) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-probe-'));
    probeFile = path.join(dir, 'probe.py');
    fs.writeFileSync(probeFile, PROBE);
  }
  return probeFile;
}

function gdbArgs(binary: string): string[] {
  return [
    '-R',
    'gdb',
    '-nx',
    '-batch',
    '-iex',
    'set debuginfod enabled off',
    '-ex',
    'set startup-with-shell off',
    '-ex',
    'starti',
    '-ex',
    `source ${probePath()}`,
    '--args',
    binary,
  ];
}

/** Why the kernel cannot be asked here, or undefined when `setarch -R gdb ... starti` works. */
export function kernelProbeUnavailable(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return `not Linux x86-64 (${process.platform}/${process.arch})`;
  try {
    const out = execFileSync('setarch', ['-R', 'gdb', '-nx', '-batch', '-ex', 'starti', '/bin/true'], {
      timeout: 30_000,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (!/Program stopped|in _start|0x[0-9a-f]+ in/.test(out))
      return `gdb starti printed no stop: ${out.trim().split('\n').pop()}`;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') return 'setarch or gdb is not installed';
    return `setarch -R gdb -batch -ex starti /bin/true failed (ptrace unavailable?): ${(e.stderr ?? e.message).toString().trim().split('\n').pop()}`;
  }
  return undefined;
}

export interface ProbeOptions {
  /** The environment gdb (and so the program) runs with. */
  env?: NodeJS.ProcessEnv;
  /** A stack limit in KiB for `ulimit -s` before exec, or 'unlimited'. */
  stackLimitKiB?: number | 'unlimited';
}

/** Runs `binary` to its first instruction under gdb and reads what the kernel set up. */
export function probeKernel(binary: string, options: ProbeOptions = {}): Promise<KernelExec> {
  let file = 'setarch';
  let args = gdbArgs(binary);
  if (options.stackLimitKiB !== undefined) {
    file = 'sh';
    args = ['-c', `ulimit -s ${options.stackLimitKiB} && exec setarch "$@"`, 'sh', ...args];
  }
  return gdbJson<{
    maps: string;
    stat: Record<string, string>;
    auxv: Array<[number, string]>;
    rsp: string;
    rip: string;
    rlimitStack: string;
    argv: string[];
    envp: string[];
    execfn: string;
    stack: string;
    stackEnd: string;
    pages: Array<[string, string | null]>;
  }>(file, args, binary, options.env ?? process.env).then((j) => {
    const stat: Record<number, bigint> = {};
    for (const [k, v] of Object.entries(j.stat)) stat[Number(k)] = BigInt(v);
    return {
      maps: j.maps,
      stat,
      auxv: j.auxv.map(([t, v]): [number, bigint] => [t, BigInt(v)]),
      rsp: BigInt(j.rsp),
      rip: BigInt(j.rip),
      rlimitStack: j.rlimitStack === 'unlimited' ? (1n << 64n) - 1n : BigInt(j.rlimitStack),
      argv: j.argv.map(utf8),
      envp: j.envp.map(utf8),
      execfn: utf8(j.execfn),
      stack: Uint8Array.from(Buffer.from(j.stack, 'hex')),
      stackEnd: BigInt(j.stackEnd),
      pages: j.pages.map(([a, h]): [bigint, Uint8Array | null] => [
        BigInt(a),
        h === null ? null : Uint8Array.from(Buffer.from(h, 'hex')),
      ]),
    };
  });
}

/**
 * Runs a gdb probe (`file args`) and returns the JSON its script printed
 * after `PAGESTACK-JSON:`; rejects naming `binary` and gdb's last words
 * when there is none.
 */
export function gdbJson<T>(
  file: string,
  args: string[],
  binary: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 60_000, maxBuffer: 64 << 20, encoding: 'utf8', env }, (err, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('PAGESTACK-JSON:'));
      if (!line) {
        const last = stderr.trim().split('\n').slice(-2).join(' / ');
        reject(new Error(`gdb gave no result for ${binary}: ${err?.message ?? ''} ${last}`));
        return;
      }
      resolve(JSON.parse(line.slice('PAGESTACK-JSON:'.length)) as T);
    });
  });
}

/** The Python side sends raw bytes as latin1; the loader takes strings and encodes them as UTF-8. */
function utf8(latin1: string): string {
  return Buffer.from(latin1, 'latin1').toString('utf8');
}
