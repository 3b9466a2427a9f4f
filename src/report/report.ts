/**
 * report(inputs, output): the whole job of `pagestack report`. Reads the
 * inputs into one model (model.ts) with content ids consistent across them
 * (unify.ts), renders the page (html.ts) and writes it to a temporary file
 * in the output's directory, renamed into place when complete.
 *
 * Inputs: container images (`pagestack pack` output), and plain paths
 * (files or directories, walked as `pagestack scan` walks them, all in one
 * scan).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError, fsError } from '../errors.js';
import { scan } from '../scan/scan.js';
import { renderReport } from './html.js';
import { ContainerSource, isContainerImage } from './container-source.js';
import { buildModel, type ReportFileInput, type ReportInput, type ReportModel, type SkippedInput } from './model.js';
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

/**
 * Reads the inputs into a report model. Container images (recognised by
 * their magic) are read from their share maps; all other inputs are
 * scanned together, as `pagestack scan` would. The sources keep the order
 * of the command line (the scan where its first path was named), and their
 * content ids are unified so equal pages in different sources are shared.
 */
export async function buildReportModel(inputs: string[], options: ReportOptions = {}): Promise<ReportModel> {
  if (inputs.length === 0) throw new UsageError('no input given: name files, directories or container images');
  const isImage = inputs.map((i) => isContainerImage(i));
  const plain = inputs.filter((_, k) => !isImage[k]);
  const containers = new Map<string, ContainerSource>();
  let scanSource: ScanSource | undefined;
  try {
    for (const [k, image] of inputs.entries())
      if (isImage[k] && !containers.has(image)) containers.set(image, await ContainerSource.open(image));
    const pageSize = pageSizeFor(options.pageSize, [...containers.values()]);
    const skipped: SkippedInput[] = [];
    const links: ReportModel['links'] = [];
    const sources: Array<{ input: ReportInput; source: ContentSource; files: ReportFileInput[] }> = [];
    for (const [k, name] of inputs.entries()) {
      const container = isImage[k] ? containers.get(name) : undefined;
      if (container) {
        if (sources.some((s) => s.source === container)) continue;
        const files = container.files(
          sources.length,
          options.allFiles ?? false,
          (member) => `${name}:${member}`,
          skipped,
          links,
        );
        sources.push({ input: { kind: 'container', paths: [name] }, source: container, files });
      } else if (!scanSource) {
        const result = await scan(plain, {
          pageSize,
          allFiles: options.allFiles,
          onProgress: options.onProgress,
          relocations: true,
        });
        scanSource = new ScanSource(result);
        skipped.push(...result.skipped);
        links.push(...result.links);
        sources.push({
          input: { kind: 'paths', paths: plain },
          source: scanSource,
          files: scanSource.files(sources.length),
        });
      }
    }
    // Unify the scan first: the index re-reads the first page of each content to confirm a
    // match, and a file page is one read while a container page is a read, a checksum and a decode.
    const unifyOrder = sources
      .map((_, i) => i)
      .sort(
        (a, b) =>
          Number(sources[a]!.input.kind === 'container') - Number(sources[b]!.input.kind === 'container') || a - b,
      );
    const unified = await unifyContents(
      unifyOrder.map((i) => sources[i]!.source),
      pageSize,
    );
    const mapOf = (i: number) => unified.maps[unifyOrder.indexOf(i)]!;
    const files = sources.flatMap((s, i) =>
      sources.length === 1 ? s.files : s.files.map((f) => ({ ...f, contentIds: remapIds(f.contentIds, mapOf(i)) })),
    );
    return buildModel({
      pageSize,
      inputs: sources.map((s) => s.input),
      files,
      contentCount: unified.contentCount,
      skipped,
      links,
    });
  } finally {
    scanSource?.close();
    for (const c of containers.values()) c.close();
  }
}

/** One page size for the whole report: the containers' (all equal), and --page-size must agree with it. */
function pageSizeFor(requested: number | undefined, containers: ContainerSource[]): number {
  const first = containers[0];
  for (const c of containers) {
    if (c.pageSize !== first!.pageSize) {
      throw new UsageError(
        `${first!.image} has ${first!.pageSize}-byte pages but ${c.image} has ${c.pageSize}-byte pages: a report has one page size`,
      );
    }
  }
  if (first && requested !== undefined && requested !== first.pageSize) {
    throw new UsageError(`--page-size ${requested} does not match the ${first.pageSize}-byte pages of ${first.image}`);
  }
  return first?.pageSize ?? requested ?? 4096;
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
 * (`.pagestack-PID-RANDOM.tmp`, short whatever the length of NAME), renamed over `file` when complete: a failed
 * or interrupted write leaves no partial file and an existing file intact.
 */
export function writeFileAtomic(file: string, text: string): number {
  const dir = path.dirname(path.resolve(file));
  const temp = path.join(dir, `.pagestack-${process.pid}-${Math.random().toString(36).slice(2, 10)}.tmp`);
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
