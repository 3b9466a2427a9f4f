/**
 * Names are bytes. On Linux a file name is any bytes but NUL and '/', and a
 * symbolic link target any bytes but NUL; neither has to be UTF-8, and a
 * leading U+FEFF (EF BB BF) is part of the name. Containers store them byte
 * for byte (docs/FORMAT.md section 5).
 *
 * In memory a name is a JavaScript string that maps one to one onto its
 * bytes, as Python's "surrogateescape" does: valid UTF-8 decodes as usual
 * (a BOM included: the decoder never strips it), and each byte that is not
 * part of valid UTF-8 becomes the lone surrogate U+DC80 + byte (U+DC80 to
 * U+DCFF). No valid UTF-8 decodes to a lone surrogate, so encodeName gives
 * back exactly the bytes decodeName was given.
 *
 * Node's fs encodes string paths as UTF-8 and would turn those surrogates
 * into U+FFFD, so every fs call with a member name goes through osPath,
 * which hands fs the bytes (a Buffer) when the name is not plain UTF-8.
 */

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const ESCAPED = /[\udc80-\udcff]/;

/** The name in `bytes`, with each byte of invalid UTF-8 escaped as U+DC80 + byte. */
export function decodeName(bytes: Uint8Array): string {
  try {
    return strict.decode(bytes);
  } catch {
    return decodeEscaped(bytes);
  }
}

function decodeEscaped(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const len = validSequenceLength(b, i);
    if (len === 0) {
      out += String.fromCharCode(0xdc00 + b[i]!);
      i++;
    } else {
      out += strict.decode(b.subarray(i, i + len));
      i += len;
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence at b[i] (RFC 3629: no overlongs, no surrogates, at most U+10FFFF), or 0. */
function validSequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** The bytes of a name decodeName produced (or any string: other lone surrogates encode as U+FFFD). */
export function encodeName(name: string): Buffer {
  if (!ESCAPED.test(name)) return Buffer.from(name, 'utf8');
  const parts: Buffer[] = [];
  let run = '';
  for (const ch of name) {
    const u = ch.charCodeAt(0);
    if (ch.length === 1 && u >= 0xdc80 && u <= 0xdcff) {
      if (run) parts.push(Buffer.from(run, 'utf8'));
      run = '';
      parts.push(Buffer.of(u - 0xdc00));
    } else {
      run += ch;
    }
  }
  if (run) parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

/** Length in bytes of a name as stored. */
export function nameByteLength(name: string): number {
  return ESCAPED.test(name) ? encodeName(name).length : Buffer.byteLength(name, 'utf8');
}

/** Whether the name is valid UTF-8 (has no escaped byte). */
export function isUtf8Name(name: string): boolean {
  return !ESCAPED.test(name);
}

/** The path to give Node's fs for a name that may hold escaped bytes. */
export function osPath(name: string): string | Buffer {
  return ESCAPED.test(name) ? encodeName(name) : name;
}

/** Whether UTF-16 unit `u` shows escaped: an escaped byte, a C0 control, DEL, backslash or U+FEFF. */
function needsEscape(u: number): boolean {
  return (u >= 0xdc80 && u <= 0xdcff) || u < 0x20 || u === 0x7f || u === 0x5c || u === 0xfeff;
}

/**
 * A name for the `ls` listing and one-line messages, one line whatever it
 * holds: a byte that is not UTF-8 and a control character show as \xNN, a
 * backslash as \\, the invisible U+FEFF as \ufeff. (The JSON documents
 * carry the exact name; see docs/FORMAT.md.)
 */
export function displayName(name: string): string {
  let i = 0;
  while (i < name.length && !needsEscape(name.charCodeAt(i))) i++;
  if (i === name.length) return name;
  let out = name.slice(0, i);
  for (; i < name.length; i++) {
    const u = name.charCodeAt(i);
    if (!needsEscape(u)) out += name[i];
    else if (u === 0x5c) out += '\\\\';
    else if (u === 0xfeff) out += '\\ufeff';
    else out += `\\x${(u >= 0xdc80 ? u - 0xdc00 : u).toString(16).padStart(2, '0')}`;
  }
  return out;
}

/** The bytes of a name as hex, for the JSON documents' pathHex/linkTargetHex (only set when the name is not UTF-8). */
export function nameHex(name: string): string {
  return encodeName(name).toString('hex');
}
