/** The report's relocation column: per file, the pages relocation writes and how many the report counts as zero or shared. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { relocatedFilePages } from '../src/loader/rtld/relocated-pages.js';
import { buildModel, kindOf, KIND_UNIQUE } from '../src/report/model.js';
import { ScanSource } from '../src/report/scan-source.js';
import { scan } from '../src/scan/index.js';

const BIN = path.resolve(__dirname, '../samples/bin');

describe('report: pages relocation writes', () => {
  it('per dynamic file: the relocated pages, those of them zero or shared; none for a static file', async () => {
    const files = ['hello', 'tables', 'tables2', 'static'].map((n) => path.join(BIN, n));
    const result = await scan(files, { pageSize: 4096 });
    const source = new ScanSource(result);
    const model = buildModel({
      pageSize: 4096,
      inputs: [{ kind: 'paths', paths: files }],
      files: source.files(0),
      contentCount: source.contentCount,
    });
    source.close();
    let withPages = 0;
    for (const f of model.files) {
      const want = relocatedFilePages(fs.readFileSync(f.path), f.path, 4096);
      if (want === undefined) {
        expect(f.relocation, f.path).toBeUndefined();
        continue;
      }
      expect(f.relocation?.pages, f.path).toBe(want.length);
      const shared = want.filter((p) => kindOf(model.contents, f.contentIds[p]!) !== KIND_UNIQUE).length;
      expect(f.relocation?.sharedOrZero, f.path).toBe(shared);
      if (want.length > 0) withPages++;
    }
    expect(model.files.find((f) => f.path.endsWith('/static'))?.relocation).toBeUndefined();
    expect(withPages).toBe(3);
  });
});
