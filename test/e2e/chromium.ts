/**
 * Debian's Chromium for the browser tests, driven by playwright-core:
 * headless, no sandbox (root), none of its background networking (this
 * machine's network is closed), and pages that may fetch nothing but
 * file: URLs. Every other request is aborted and counted, and console
 * errors and page errors are collected, so a test can assert there were none.
 */
import fs from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) console.warn(`skipped: ${CHROMIUM} not found (install Debian's chromium to run the browser tests)`);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface WatchedPage {
  page: Page;
  /** Console errors and uncaught page errors, in order. */
  errors: string[];
  /** Requests for anything but file: URLs (aborted). */
  requests: string[];
}

/** A new page that records errors and refuses every request but file: ones. */
export async function watchedPage(
  browser: Browser,
  viewport?: { width: number; height: number },
): Promise<WatchedPage> {
  const page = await browser.newPage(viewport ? { viewport } : {});
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    requests.push(url);
    return route.abort();
  });
  return { page, errors, requests };
}
