import type { Command } from 'commander';
import { register as scan } from './scan.js';
import { register as pack } from './pack.js';
import { register as unpack } from './unpack.js';
import { register as verify } from './verify.js';
import { register as ls } from './ls.js';
import { register as cat } from './cat.js';
import { register as maps } from './maps.js';
import { register as ldd } from './ldd.js';
import { register as load } from './load.js';
import { register as run } from './run.js';
import { register as report } from './report.js';

/** Every command, in the order `pagestack --help` lists them. */
export const commands: Array<(program: Command) => void> = [
  scan,
  pack,
  unpack,
  verify,
  ls,
  cat,
  maps,
  ldd,
  load,
  run,
  report,
];
