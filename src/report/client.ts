/**
 * The page script, assembled: constants from the server (kind names,
 * colours, labels), then the three parts (TypeScript in ./client/, built
 * into client-script.gen.ts by scripts/build-client.mjs), inside one function scope so
 * nothing leaks into the page's globals but window.__pagestack. A failure
 * at start-up is logged to the console and shown at the top of the page.
 */
import { CLIENT_DATA, CLIENT_MAP, CLIENT_UI } from './client-script.gen.js';
import { KIND_ZERO, KIND_UNIQUE, KIND_SHARED_WITHIN, KIND_SHARED_ACROSS, PAGE_KINDS } from './model.js';
import { KIND_COLORS, KIND_LABELS } from './style.js';

/** The server's constants as page-script declarations (exported for tests that run the script's functions in Node). */
export const CLIENT_CONSTANTS = [
  `const KIND_ZERO = ${KIND_ZERO}, KIND_UNIQUE = ${KIND_UNIQUE}, KIND_WITHIN = ${KIND_SHARED_WITHIN}, KIND_ACROSS = ${KIND_SHARED_ACROSS};`,
  `const KIND_NAMES = ${JSON.stringify(PAGE_KINDS)};`,
  `const KIND_COLORS = ${JSON.stringify(PAGE_KINDS.map((k) => KIND_COLORS[k]))};`,
  `const KIND_LABELS = ${JSON.stringify(PAGE_KINDS.map((k) => KIND_LABELS[k]))};`,
  `const KIND_CLASSES = ['zero', 'unique', 'within', 'across'];`,
].join('\n');

export const CLIENT_SCRIPT = `
(function () {
'use strict';
${CLIENT_CONSTANTS}
${CLIENT_DATA}
${CLIENT_MAP}
try {
  (function () {
${CLIENT_UI}
  })();
} catch (err) {
  console.error('pagestack report: ' + (err && err.message ? err.message : err));
  const banner = document.createElement('p');
  banner.className = 'panel';
  banner.style.cssText = 'color:#a11;background:#fff3f3;border:1px solid #e8b4b4;border-radius:8px;padding:10px 14px';
  banner.textContent = 'This report could not be drawn: ' + (err && err.message ? err.message : err);
  document.querySelector('main').prepend(banner);
}
})();
`.replace(/<\/script/gi, '<\\/script');
