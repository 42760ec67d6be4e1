// Time to first render of a project's repository list in the portal, in headless Chromium:
// from the start of a navigation to /harbor/projects/<id>/repositories until the first page of
// rows is on screen (the list is paged on the server, so the project's size should not matter).
//
//   node examples/bench/portal-render.mjs URL PROJECT USER PASSWORD [RUNS]
//
// Needs playwright-core (PLAYWRIGHT_CORE, default: tests/setup.sh's copy) and /usr/bin/chromium.
// Prints one JSON line: the median and worst time over RUNS navigations (after one warm-up).
import { createRequire } from 'node:module';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, project, user, password, runsArg] = process.argv.slice(2);
if (!password) {
  console.error('usage: portal-render.mjs URL PROJECT USER PASSWORD [RUNS]');
  process.exit(2);
}
const runs = Number(runsArg ?? 10);
const require = createRequire(import.meta.url);
const pw = require(process.env.PLAYWRIGHT_CORE ?? join(process.env.HOME, '.cache/berth-tools/portal-test/node_modules/playwright-core'));
const browser = await pw.chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'render-')), {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1280, height: 800 },
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = browser.pages()[0] ?? (await browser.newPage());
const auth = await page.request.post(`${url}/c/login`, { form: { principal: user, password } });
if (!auth.ok()) throw new Error(`sign-in: ${auth.status()}`);
const projects = await (await page.request.get(`${url}/api/v2.0/projects?name=${encodeURIComponent(project)}`)).json();
const p = projects.find((x) => x.name === project);
if (!p) throw new Error(`no project ${project}`);
const target = `${url}/harbor/projects/${p.project_id}/repositories`;
const times = [];
for (let i = 0; i <= runs; i++) {
  await page.goto('about:blank');
  const t0 = Date.now();
  await page.goto(target);
  await page.locator('[data-test=repo-row]').first().waitFor();
  const ms = Date.now() - t0;
  if (i > 0) times.push(ms);
}
const rows = await page.locator('[data-test=repo-row]').count();
times.sort((a, b) => a - b);
console.log(JSON.stringify({
  bench: 'portal-first-render', project, repo_count: p.repo_count, rows_on_first_page: rows, runs,
  median_ms: times[Math.floor(times.length / 2)], max_ms: times[times.length - 1],
}));
await browser.close();
