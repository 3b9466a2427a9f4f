/**
 * A simulated process: its mm (VMAs, page-table directory, brk) and its
 * own fault counters (/proc/PID/stat minflt, majflt).
 */
import type { PageDirectory } from './page-table.js';
import type { Vma } from './vma.js';

export class Process {
  readonly pid: number;
  /** Parent pid (0 for a process made by exec without a parent). */
  readonly ppid: number;
  /** The program last exec'd (ExecPlan.path), for reports. */
  path: string;
  vmas: Vma[] = [];
  readonly dir: PageDirectory = new Map();
  startBrk = 0;
  brk = 0;
  stackTop = 0;
  entry = 0;
  /** Faults resolved from the page cache or without I/O (minflt). */
  minorFaults = 0;
  /** Faults that read a file page (majflt). */
  majorFaults = 0;

  constructor(pid: number, ppid: number, path: string) {
    this.pid = pid;
    this.ppid = ppid;
    this.path = path;
  }
}
