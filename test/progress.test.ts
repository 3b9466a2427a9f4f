import { describe, expect, it } from 'vitest';
import { Progress, formatProgressLine } from '../src/cli/progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  const stream = { isTTY, columns: 100, write: (s: string) => (writes.push(s), true) } as unknown as NodeJS.WriteStream;
  return { stream, writes };
}

describe('progress bar', () => {
  it('formats percent, sizes, rate and ETA', () => {
    const line = formatProgressLine('scan', 50e6, 100e6, 1000, 100);
    expect(line).toMatch(/^scan \[#+\.+\] {2}50% {2}50\.0 MB\/100\.0 MB {2}50\.0 MB\/s {2}ETA 0:01$/);
  });

  it('writes nothing when stderr is not a terminal', () => {
    let t = 0;
    const { stream, writes } = fakeStream(false);
    const p = new Progress({ label: 'scan', stream, now: () => t });
    t = 5000;
    p.update(1, 2);
    p.done();
    expect(writes).toEqual([]);
  });

  it('writes nothing with --quiet, and nothing before the first second', () => {
    let t = 0;
    const quiet = fakeStream(true);
    new Progress({ label: 'x', stream: quiet.stream, quiet: true, now: () => t }).update(1, 2);
    expect(quiet.writes).toEqual([]);
    const tty = fakeStream(true);
    const p = new Progress({ label: 'x', stream: tty.stream, now: () => t });
    t = 500;
    p.update(1, 2);
    expect(tty.writes).toEqual([]);
    t = 1500;
    p.update(1, 2);
    expect(tty.writes.length).toBe(1);
    p.done();
    expect(tty.writes[1]).toBe('\r\x1b[K');
  });
});

describe('progress line in items', () => {
  it('counts items instead of bytes when given a unit', () => {
    expect(formatProgressLine('run', 3, 9, 3000, 100, 'policies')).toMatch(
      /^run \[#+\.+\] {2}33% {2}3\/9 policies {2}ETA 0:06$/,
    );
  });
});
