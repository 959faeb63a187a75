import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from '@jwt-ms/testing';

/** Debian's Chromium (`apt-get install chromium`; .ci/run installs it). Override with CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

/** Where the browser journey's screenshots go, for a person to look at (dist/: never committed). */
export const SCREENSHOT_DIR = join(ROOT, 'dist', 'screenshots', 'console');

/**
 * Starts headless Chromium through playwright-core. The flags keep it off
 * the network this machine does not have (no background requests, no
 * component updates, no QUIC) and let it run as root in a container
 * (`--no-sandbox`), with no GPU.
 *
 * @returns the browser; close it in afterAll
 * @throws Error from Playwright when Chromium is missing or does not start (30 s)
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    timeout: 30_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
      '--disable-sync',
    ],
  });
}

/**
 * Saves a full-page screenshot as `dist/screenshots/console/<name>.png`.
 *
 * @param page the page
 * @param name the file's name, without `.png` (e.g. `01-issuer-login`)
 * @returns the file's path
 */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
