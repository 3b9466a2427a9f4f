/** Runs the CLI's main() in this process with stdout and stderr captured. */
import { vi } from 'vitest';
import { main } from '../src/cli/main.js';

export interface Captured {
  status: number;
  stdout: string;
  stderr: string;
}

export async function runCli(...args: string[]): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const capture = (sink: (s: string) => void) => (chunk: string | Uint8Array) => {
    sink(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture((s) => (stdout += s)));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture((s) => (stderr += s)));
  const exitCode = process.exitCode;
  try {
    const status = await main(['node', 'pagestack', ...args]);
    return { status, stdout, stderr };
  } finally {
    process.exitCode = exitCode;
    out.mockRestore();
    err.mockRestore();
  }
}
