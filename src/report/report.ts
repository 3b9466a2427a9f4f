/**
 * report(inputs, output): the whole job of `pagestack report`. Reads the
 * inputs into one model (model.ts) with content ids consistent across them
 * (unify.ts), renders the page (html.ts) and writes it to a temporary file
 * in the output's directory, renamed into place when complete.
 *
 * Inputs: plain paths (files or directories, walked as `pagestack scan`
 * walks them, all in one scan).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError, fsError } from '../errors.js';
import { scan } from '../scan/scan.js';
import { renderReport } from './html.js';
import { buildModel, type ReportFileInput, type ReportInput, type ReportModel } from './model.js';
import { ScanSource } from './scan-source.js';
import { remapIds, unifyContents, type ContentSource } from './unify.js';

export interface ReportOptions {
  /** 4096 (default), 16384 or 65536. */
  pageSize?: number;
  /** Report files without the ELF magic too (as pages only). */
  allFiles?: boolean;
  /** Page title (default: the inputs). */
  title?: string;
  /** Called as files are scanned, with bytes done and bytes in all files found. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface ReportSummary {
  output: string;
  /** Bytes of the HTML file. */
  bytes: number;
  model: ReportModel;
}

/** Reads the inputs into a report model. */
export async function buildReportModel(inputs: string[], options: ReportOptions = {}): Promise<ReportModel> {
  if (inputs.length === 0) throw new UsageError('no input given: name files, directories or container images');
  const result = await scan(inputs, { pageSize: options.pageSize, allFiles: options.allFiles, onProgress: options.onProgress });
  const source = new ScanSource(result);
  try {
    const sources: Array<{ input: ReportInput; source: ContentSource; files: ReportFileInput[] }> = [
      { input: { kind: 'paths', paths: inputs }, source, files: source.files(0) },
    ];
    const unified = await unifyContents(
      sources.map((s) => s.source),
      result.pageSize,
    );
    const files = sources.flatMap((s, i) => (sources.length === 1 ? s.files : s.files.map((f) => ({ ...f, contentIds: remapIds(f.contentIds, unified.maps[i]!) }))));
    return buildModel({
      pageSize: result.pageSize,
      inputs: sources.map((s) => s.input),
      files,
      contentCount: unified.contentCount,
      skipped: result.skipped,
      links: result.links,
    });
  } finally {
    source.close();
  }
}

/** Builds the report of `inputs` and writes it to `output` (temporary file, then rename). */
export async function report(inputs: string[], output: string, options: ReportOptions = {}): Promise<ReportSummary> {
  const model = await buildReportModel(inputs, options);
  const html = renderReport(model, { title: options.title });
  const bytes = writeFileAtomic(output, html);
  return { output, bytes, model };
}

/**
 * Writes `text` to `file` through a temporary file in the same directory
 * (`.NAME.PID-RANDOM.tmp`), renamed over `file` when complete: a failed
 * or interrupted write leaves no partial file and an existing file intact.
 */
export function writeFileAtomic(file: string, text: string): number {
  const dir = path.dirname(path.resolve(file));
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`);
  const bytes = Buffer.from(text, 'utf8');
  try {
    fs.writeFileSync(temp, bytes, { flag: 'wx' });
    fs.renameSync(temp, file);
  } catch (err) {
    fs.rmSync(temp, { force: true });
    throw fsError(err, file);
  }
  return bytes.length;
}
