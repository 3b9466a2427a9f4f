/**
 * Worker thread for unpack: opens the container itself (all tables checked
 * again) and writes the regular files it is sent (restore-file.ts). Replies
 * with the bytes written, or with the error as plain data.
 */
import type { ErrorCode } from '../error-codes.js';
import { parentPort } from 'node:worker_threads';
import { PagestackError } from '../errors.js';
import { openContainer, type Container } from './reader.js';
import { writeRegular } from './restore-file.js';

export interface RestoreJob {
  container: string;
  files: Array<{ index: number; to: string; replace: boolean }>;
}

export type RestoreReply =
  | { ok: true; bytes: number }
  | { ok: false; code: ErrorCode; message: string; data: Record<string, unknown>; exitCode: number };

const port = parentPort;
if (port) {
  let container: Promise<Container> | undefined;
  const buffer = new Uint8Array(1 << 20);
  port.on('message', (job: RestoreJob) => {
    void (async (): Promise<RestoreReply> => {
      try {
        const c = await (container ??= openContainer(job.container));
        let bytes = 0;
        for (const f of job.files) {
          const e = c.files[f.index]!;
          writeRegular(c, e, f.to, buffer, f.replace);
          bytes += e.size;
        }
        return { ok: true, bytes };
      } catch (err) {
        if (err instanceof PagestackError)
          return { ok: false, code: err.code, message: err.message, data: err.data, exitCode: err.exitCode };
        return {
          ok: false,
          code: 'E_INTERNAL',
          message: String((err as Error)?.message ?? err),
          data: {},
          exitCode: 1,
        };
      }
    })().then((reply) => port.postMessage(reply));
  });
}
