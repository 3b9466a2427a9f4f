/**
 * A progress bar on stderr for work that takes longer than about a second.
 *
 * Shown only when stderr is a terminal and --quiet is not given; nothing at
 * all is written otherwise, so piped output and --json stay clean. The bar
 * appears after `delayMs` (1 s), redraws at most ten times a second, and
 * shows percent, bytes done, MB/s and the ETA. The rate is measured from
 * the first update that reports progress (not from the start, which may
 * have spent its first second walking directories) and shown, with the
 * ETA, only once it has been measured over RATE_WINDOW_MS. `done()` erases it.
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

/** How long progress must have been moving before a rate (and an ETA) is shown. */
export const RATE_WINDOW_MS = 500;

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
  /** The first update with done > 0: where the rate is measured from. */
  private moved: { t: number; done: number } | undefined;

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
    if (this.moved === undefined && done > 0) this.moved = { t, done };
    const elapsed = t - this.started;
    if (elapsed < this.delayMs || t - this.lastDraw < 100) return;
    this.lastDraw = t;
    this.drawn = true;
    const window = this.moved === undefined ? 0 : t - this.moved.t;
    const rate =
      this.moved !== undefined && window >= RATE_WINDOW_MS ? (done - this.moved.done) / (window / 1000) : null;
    this.stream.write(
      `\r${formatProgressLine(this.label, done, total, elapsed, this.stream.columns ?? 80, this.unit, rate)}\x1b[K`,
    );
  }

  /** Erases the bar (if one was drawn). */
  done(): void {
    if (this.drawn) this.stream.write('\r\x1b[K');
    this.drawn = false;
  }
}

/**
 * One line: `scan [#####.....]  42%  120.0 MB/276.0 MB  310 MB/s  ETA 0:01`.
 * `rate` (per second): measured by the caller, null while unknown (then
 * neither rate nor ETA is shown); when omitted, done / elapsed.
 */
export function formatProgressLine(
  label: string,
  done: number,
  total: number,
  elapsedMs: number,
  columns: number,
  unit?: string,
  rate?: number | null,
): string {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const perSecond = rate !== undefined ? rate : elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const known = perSecond !== null && perSecond > 0;
  const eta = known && total > done ? (total - done) / perSecond : 0;
  const counts =
    unit === undefined ? `${mb(done)}/${mb(total)}${known ? `  ${mb(perSecond)}/s` : ''}` : `${done}/${total} ${unit}`;
  const tail = ` ${String(Math.floor(fraction * 100)).padStart(3)}%  ${counts}${known ? `  ETA ${clock(eta)}` : ''}`;
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
