// Shared pieces of the portal's browser tests (portal.test.mjs, oidc.test.mjs, ldap.test.mjs): the checks and
// their summary, Chromium, API calls with Basic credentials, and the page helpers (settle, the
// untranslated-text check, screenshots).
//   PLAYWRIGHT_CORE     (optional) path to playwright-core's package directory
//   CHROMIUM            (optional) the browser binary, default /usr/bin/chromium
//   PORTAL_SCREENSHOTS  (optional) directory for PNGs
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE || 'playwright-core');

export const env = (k, d) => {
  const v = process.env[k] ?? d;
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
export const RUN = Date.now().toString(36);
const SHOTS = env('PORTAL_SCREENSHOTS', '');
if (SHOTS) mkdirSync(SHOTS, { recursive: true });
// Words the untranslated-text check lets through on a Chinese page.
const ALLOW = new Set(['Berth', 'Harbor', 'Docker', 'OCI', 'CVE', 'SBOM', 'LDAP', 'OIDC', 'CSV', 'JSON', 'GC', 'cosign', 'notation', 'nydus', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']);

// ---- checks ------------------------------------------------------------------------------------
let passed = 0;
let failed = 0;
const failures = [];

/** Runs fn; a throw (or `false`) is a failed check. Prints "ok   …" or "FAIL …" and the reason. */
export async function check(desc, fn) {
  try {
    const r = await fn();
    if (r === false) throw new Error('assertion returned false');
    passed++;
    console.log(`ok   ${desc}`);
    return true;
  } catch (e) {
    failed++;
    failures.push(desc);
    console.log(`FAIL ${desc}`);
    console.log(`     ${String(e?.stack ?? e).split('\n').slice(0, 4).join('\n     ')}`);
    return false;
  }
}
export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
export function eq(expected, actual, what) {
  if (JSON.stringify(expected) !== JSON.stringify(actual)) throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}

/** Prints the failed checks and "NAME: N passed, M failed"; returns the exit code. */
export function summary(name) {
  if (failures.length) {
    console.log('failed checks:');
    for (const f of failures) console.log(`  - ${f}`);
  }
  console.log(`${name}: ${passed} passed, ${failed} failed`);
  return failed ? 1 : 0;
}

// ---- the server --------------------------------------------------------------------------------
export const basic = (u, p) => 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64');

/** api(method, path, body, [user, password]): a call to BASE/api/v2.0 that throws on non-2xx. */
export function apiClient(base, defaultAuth) {
  return async function api(method, path, body, auth = defaultAuth) {
    const res = await fetch(`${base}/api/v2.0${path}`, {
      method,
      headers: { Authorization: basic(...auth), ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
}

// ---- the browser -------------------------------------------------------------------------------
// chromium.launch() gives every run a fresh, temporary user data dir (removed on close).
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A context with the test's viewport; requests off the loopback are aborted (no network here). */
export async function newContext(browser, locale = 'en-US') {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale, acceptDownloads: true });
  ctx.setDefaultTimeout(15000);
  await ctx.route(/^https?:\/\/(?!(127\.0\.0\.1|localhost|\[::1\])[:/])/, (route) => route.abort());
  return ctx;
}

/** Signs in with the portal's form (cookie session); waits for the header's user. */
export async function signIn(page, portal, user, password) {
  await page.goto(`${portal}/harbor/projects`);
  await page.locator('[data-test=signin-form]').waitFor();
  await page.fill('[data-test=signin-username]', user);
  await page.fill('[data-test=signin-password]', password);
  await page.click('[data-test=signin-submit]');
  await page.locator('[data-test=current-user]').waitFor();
}

export async function settle(page) {
  await page.waitForLoadState('networkidle').catch(() => {});
  await page.waitForFunction(() => !document.querySelector('[role=status]') || !/…/.test(document.querySelector('[role=status]').textContent ?? ''), null, { timeout: 10000 }).catch(() => {});
}

// Every run of 3+ ASCII letters in rendered text outside [data-raw] (and in placeholders).
export async function untranslated(page) {
  await settle(page);
  const words = await page.evaluate(() => {
    const out = [];
    const skip = (el) => !el || el.closest('[data-raw], script, style, noscript');
    const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = w.nextNode(); n; n = w.nextNode()) {
      if (skip(n.parentElement)) continue;
      const style = getComputedStyle(n.parentElement);
      if (style.display === 'none' || style.visibility === 'hidden') continue;
      for (const m of n.textContent.matchAll(/[A-Za-z]{3,}/g)) out.push(m[0]);
    }
    for (const el of document.querySelectorAll('[placeholder]')) {
      if (skip(el)) continue;
      for (const m of el.getAttribute('placeholder').matchAll(/[A-Za-z]{3,}/g)) out.push(m[0]);
    }
    return out;
  });
  return [...new Set(words.filter((x) => !ALLOW.has(x)))];
}

/** A PNG of the page in PORTAL_SCREENSHOTS (nothing when it is unset). */
export async function shot(page, name) {
  if (!SHOTS) return;
  await settle(page);
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}
