/**
 * Asks the real kernel what a dynamically linked process looks like at its
 * entry point: `setarch -R gdb -batch` with LD_BIND_NOW=1 in an empty
 * environment, `starti`, AT_ENTRY from /proc/PID/auxv, a temporary
 * breakpoint there, `continue`, then /proc/PID/smaps and the thread
 * pointer. Used by test/rtld-kernel.test.ts.
 *
 * The breakpoint is a software one (int3), so the program's page holding
 * the entry point is a private dirty copy, as is the ld.so text page where
 * gdb plants its own shared-library breakpoint: executable VMAs' dirty
 * counts are gdb's, not ld.so's.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gdbJson } from './loader-kernel-probe.js';

export interface SmapsVma {
  start: bigint;
  end: bigint;
  perms: string;
  offset: bigint;
  path: string;
  /** Field name -> kB. */
  fields: Record<string, number>;
}

export interface EntryProbe {
  smaps: SmapsVma[];
  maps: string;
  threadPointer: bigint;
  argv: string[];
  envp: string[];
}

const PROBE = String.raw`
import gdb, json, struct
inf = gdb.selected_inferior()
pid = inf.pid
raw = open('/proc/%d/auxv' % pid, 'rb').read()
aux = dict(struct.unpack_from('<QQ', raw, i) for i in range(0, len(raw) - 15, 16))
gdb.execute('tbreak *%d' % aux[9], to_string=True)
gdb.execute('continue', to_string=True)
def rd(name):
    with open('/proc/%d/%s' % (pid, name), 'rb') as f:
        return f.read()
fs = int(gdb.parse_and_eval('(unsigned long)$fs_base'))
print('PAGESTACK-JSON:' + json.dumps({
    'smaps': rd('smaps').decode('latin1'),
    'maps': rd('maps').decode('latin1'),
    'fs': str(fs),
    'argv': [a.decode('latin1') for a in rd('cmdline').split(b'\0')[:-1]],
    'envp': [e.decode('latin1') for e in rd('environ').split(b'\0')[:-1]],
}))
`;

let probeFile: string | undefined;
function probePath(): string {
  if (!probeFile) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagestack-rtld-probe-'));
    probeFile = path.join(dir, 'probe.py');
    fs.writeFileSync(probeFile, PROBE);
  }
  return probeFile;
}

/** Removes the probe script's directory. */
export function cleanupProbe(): void {
  if (probeFile) fs.rmSync(path.dirname(probeFile), { recursive: true, force: true });
  probeFile = undefined;
}

/** Runs `binary` to AT_ENTRY under gdb (LD_BIND_NOW=1 unless `lazy`) and reads smaps there. */
export function probeEntry(binary: string, lazy = false): Promise<EntryProbe> {
  const args = [
    '-i',
    'setarch',
    '-R',
    'gdb',
    '-nx',
    '-batch',
    '-iex',
    'set debuginfod enabled off',
    '-ex',
    'set startup-with-shell off',
    '-ex',
    'unset environment',
    ...(lazy ? [] : ['-ex', 'set environment LD_BIND_NOW=1']),
    '-ex',
    'starti',
    '-ex',
    `source ${probePath()}`,
    '--args',
    binary,
  ];
  return gdbJson<{ smaps: string; maps: string; fs: string; argv: string[]; envp: string[] }>('env', args, binary).then(
    (j) => ({
      smaps: parseSmaps(j.smaps),
      maps: j.maps,
      threadPointer: BigInt(j.fs),
      argv: j.argv,
      envp: j.envp,
    }),
  );
}

/** Parses /proc/PID/smaps text into VMAs with their kB fields. */
export function parseSmaps(text: string): SmapsVma[] {
  const out: SmapsVma[] = [];
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      out.push({
        start: BigInt(`0x${head[1]}`),
        end: BigInt(`0x${head[2]}`),
        perms: head[3]!,
        offset: BigInt(`0x${head[4]}`),
        path: head[5] ?? '',
        fields: {},
      });
      continue;
    }
    const field = /^(\w+):\s+(\d+) kB$/.exec(line);
    const cur = out[out.length - 1];
    if (field && cur) cur.fields[field[1]!] = Number(field[2]);
  }
  return out;
}
