#!/usr/bin/env node
// `npm start`: the main job on the bundled samples — scan samples/bin, pack it
// into a container in a fresh temporary directory, verify it, load it — then
// remove the directory, whatever happened.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'bin', 'pagestack.js');
const dir = mkdtempSync(join(tmpdir(), 'pagestack-start-'));
const image = join(dir, 'samples.pgs');
let status = 0;
try {
  for (const args of [
    ['scan', 'samples/bin'],
    ['pack', 'samples/bin', '-o', image],
    ['verify', image],
    ['load', image, '--procs', '4'],
  ]) {
    process.stdout.write(`\n$ pagestack ${args.join(' ')}\n`);
    const r = spawnSync(process.execPath, [cli, ...args], { cwd: root, stdio: 'inherit' });
    status = r.status ?? 1;
    if (status !== 0) break;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = status;
