/**
 * A progress bar on stderr for work that takes longer than about a second.
 *
 * Shown only when stderr is a terminal and --quiet is not given; nothing at
 * all is written otherwise, so piped output and --json stay clean. The bar
 * appears after `delayMs` (1 s), redraws at most ten times a second, and
 * shows percent, bytes done, MB/s and the ETA. `done()` erases it.
 */

export interface ProgressOptions {
  /** Label before the bar, e.g. 'scan'. */
  label: string;
  /** Suppress output (--quiet). */
  quiet?: boolean;
  /** Output stream; defaults to process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Milliseconds before the bar first appears (default 1000). */
  delayMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** What (done, total) count: bytes (shown in MB with MB/s, the default) or items named by this word, e.g. 'policies'. */
  unit?: string;
}

export type ProgressCallback = (done: number, total: number) => void;

export class Progress {
  private readonly stream: NodeJS.WriteStream;
  private readonly enabled: boolean;
  private readonly label: string;
  private readonly delayMs: number;
  private readonly now: () => number;
  private readonly unit: string | undefined;
  private readonly started: number;
  private lastDraw = 0;
  private drawn = false;

  constructor(options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.enabled = !options.quiet && this.stream.isTTY === true;
    this.label = options.label;
    this.delayMs = options.delayMs ?? 1000;
    this.now = options.now ?? (() => performance.now());
    this.unit = options.unit;
    this.started = this.now();
  }

  /** A callback to hand to library functions that report (done, total) in bytes. */
  get callback(): ProgressCallback {
    return (done, total) => this.update(done, total);
  }

  update(done: number, total: number): void {
    if (!this.enabled) return;
    const t = this.now();
    const elapsed = t - this.started;
    if (elapsed < this.delayMs || t - this.lastDraw < 100) return;
    this.lastDraw = t;
    this.drawn = true;
    this.stream.write(
      `\r${formatProgressLine(this.label, done, total, elapsed, this.stream.columns ?? 80, this.unit)}\x1b[K`,
    );
  }

  /** Erases the bar (if one was drawn). */
  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}

/** One line: `scan [#####.....]  42%  120.0 MB/276.0 MB  310 MB/s  ETA 0:01`. */
export function formatProgressLine(
  label: string,
  done: number,
  total: number,
  elapsedMs: number,
  columns: number,
  unit?: string,
): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const eta = rate > 0 && total > done ? (total - done) / rate : 0;
  const counts = unit === undefined ? `${mb(done)}/${mb(total)}  ${mb(rate)}/s` : `${done}/${total} ${unit}`;
  const tail = ` ${String(Math.floor(fraction * 100)).padStart(3)}%  ${counts}  ETA ${clock(eta)}`;
  const width = Math.max(10, Math.min(40, columns - label.length - tail.length - 4));
  const filled = Math.round(fraction * width);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}]${tail}`;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function clock(seconds: number): string {
  const s = Math.ceil(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
