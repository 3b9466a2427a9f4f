/**
 * The --json documents of the CLI: each starts with `schema`,
 * `pagestack.<command>/<version>`, so a reader can tell what it holds and
 * which field list applies (docs/notes/json.md). Within a version, fields
 * are only ever added.
 */

export const SCHEMAS = {
  pack: 'pagestack.pack/1',
  unpack: 'pagestack.unpack/1',
  verify: 'pagestack.verify/1',
  ls: 'pagestack.ls/1',
  maps: 'pagestack.maps/1',
} as const;

/** The document as printed: `schema` first, then the result's fields, two-space indented, one newline. */
export function jsonDocument(schema: string, result: object): string {
  return `${JSON.stringify({ schema, ...result }, null, 2)}\n`;
}
