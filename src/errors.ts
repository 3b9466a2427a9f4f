/**
 * Typed errors with stable codes.
 *
 * Three kinds, as users meet them:
 * - UsageError: the command line is wrong (exit 2).
 * - InputError and its subclasses: a file is missing, unreadable, damaged or
 *   not what it should be (exit 1). ElfError and ContainerError name the
 *   structure, the field and the offset.
 * - InternalError: a bug in pagestack (exit 1, and worth a report).
 *
 * Every error carries `code` (one of ErrorCode, src/error-codes.ts; the
 * table with meanings and exit statuses is docs/notes/errors.md) and `data`
 * (structured: file, offset, field, expected, actual) so a library user can
 * branch on it without parsing messages.
 */
import { exitStatusOf, type ErrorCode } from './error-codes.js';

export { ERROR_CODES, exitStatusOf, type ErrorCode } from './error-codes.js';

export interface ErrorData {
  file?: string;
  offset?: number | bigint;
  field?: string;
  expected?: unknown;
  actual?: unknown;
  [key: string]: unknown;
}

export class PagestackError extends Error {
  readonly code: ErrorCode;
  readonly data: ErrorData;
  /** Process exit status the CLI uses for this error. */
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, data: ErrorData = {}, exitCode = exitStatusOf(code)) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.data = data;
    this.exitCode = exitCode;
  }
}

/** The command line is wrong: a bad flag value, a missing argument. Exit 2. */
export class UsageError extends PagestackError {
  constructor(message: string, data: ErrorData = {}) {
    super('E_USAGE', message, data);
  }
}

/** A file cannot be used: missing, unreadable, a directory where a file was wanted, and so on. */
export class InputError extends PagestackError {
  constructor(code: ErrorCode, message: string, data: ErrorData = {}) {
    super(code, message, data);
  }
}

/** Damaged or unsupported ELF structure. The message names the field and the offset. */
export class ElfError extends InputError {
  constructor(code: ErrorCode, message: string, data: ErrorData = {}) {
    super(code, message, data);
  }
}

/** Damaged, truncated or unsupported container. */
export class ContainerError extends InputError {
  constructor(code: ErrorCode, message: string, data: ErrorData = {}) {
    super(code, message, data);
  }
}

/** A scenario file that does not validate. */
export class ScenarioError extends InputError {
  constructor(message: string, data: ErrorData = {}) {
    super('E_SCENARIO', message, data);
  }
}

/** A simulated process did something the model refuses (a fault outside any VMA, out of frames). */
export class SimulationError extends PagestackError {
  constructor(code: ErrorCode, message: string, data: ErrorData = {}) {
    super(code, message, data);
  }
}

/** A broken invariant inside pagestack itself. */
export class InternalError extends PagestackError {
  constructor(message: string, data: ErrorData = {}) {
    super('E_INTERNAL', message, data);
  }
}

/** Turns a Node.js fs error into an InputError naming the file. */
export function fsError(err: unknown, file: string): PagestackError {
  if (err instanceof PagestackError) return err;
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ENOENT':
      return new InputError('E_NOENT', `${file}: no such file or directory`, { file });
    case 'EACCES':
    case 'EPERM':
      return new InputError('E_ACCESS', `${file}: permission denied`, { file });
    case 'EISDIR':
      return new InputError('E_ISDIR', `${file}: is a directory`, { file });
    case 'ENOTDIR':
      return new InputError('E_NOTDIR', `${file}: a path component is not a directory`, { file });
    case 'EEXIST':
      return new InputError('E_EXIST', `${file}: already exists`, { file });
    case 'ENOSPC':
      return new InputError('E_NOSPC', `${file}: no space left on device`, { file });
    default:
      return new InputError('E_IO', `${file}: ${e?.message ?? String(err)}`, { file });
  }
}
