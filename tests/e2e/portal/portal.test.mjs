// Browser test of the portal in headless Chromium (playwright-core, Debian's /usr/bin/chromium).
// Run by tests/e2e/portal.sh, which starts Berth, pushes an image and sets:
//   PORTAL_URL      where the portal is served (Berth itself, or the dev server in front of it)
//   BERTH_URL       Berth's own URL (API calls made by the test to set things up)
//   ADMIN_USER, ADMIN_PASSWORD
//   PORTAL_PROJECT, PORTAL_REPO, PORTAL_TAGS (comma-separated): the image pushed with skopeo
//   PORTAL_SCREENSHOTS  directory for PNGs of the main pages in both languages
//   PLAYWRIGHT_CORE     (optional) path to playwright-core's package directory
//   PORTAL_CHART    the Helm chart pushed with helm, as PROJECT/NAME:VERSION
// Shared helpers are in lib.mjs (oidc.test.mjs uses them too). Prints "ok   …" / "FAIL …" lines
// and "portal browser: N passed, M failed"; exits non-zero when a check failed. Nothing is skipped:
// a server without cookie sessions, or a page an earlier check did not reach, is a failed check.
import { readFileSync } from 'node:fs';
import { RUN, apiClient, assert, basic, check, env, eq, launchBrowser, newContext, settle, shot, signIn as signInAt, summary, untranslated } from './lib.mjs';

const PORTAL = env('PORTAL_URL').replace(/\/$/, '');
const BERTH = env('BERTH_URL').replace(/\/$/, '');
const ADMIN = env('ADMIN_USER', 'admin');
const ADMIN_PW = env('ADMIN_PASSWORD');
const PROJECT = env('PORTAL_PROJECT');
const REPO = env('PORTAL_REPO');
const TAGS = env('PORTAL_TAGS').split(',');
const CHART = env('PORTAL_CHART');
const api = apiClient(BERTH, [ADMIN, ADMIN_PW]);
const signIn = (page, user, password) => signInAt(page, PORTAL, user, password);

console.log(`# portal ${PORTAL}, berth ${BERTH}`);
const browser = await launchBrowser();

const newProject = `portal-${RUN}`;
const member = `member${RUN}`;
const memberPw = 'Member-Pass-1';
const robotName = `ci${RUN}`;
let newProjectId = null;
let artifactUrl = null;
const adminCtx = await newContext(browser);
const page = await adminCtx.newPage();
const consoleErrors = [];
page.on('pageerror', (e) => consoleErrors.push(String(e)));

try {
  // ---- sign-in ------------------------------------------------------------------------------
  await check('Berth has cookie sessions: POST /c/login answers 200 with a sid cookie', async () => {
    const res = await fetch(`${BERTH}/c/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ principal: ADMIN, password: ADMIN_PW }).toString(),
      redirect: 'manual',
    });
    eq(200, res.status, 'status');
    assert(/\bsid=/.test(res.headers.get('set-cookie') ?? ''), `no sid cookie: ${res.headers.get('set-cookie')}`);
  });
  {
    const anon = await newContext(browser);
    const p = await anon.newPage();
    await check('an anonymous visit to /harbor/projects shows the sign-in form', async () => {
      await p.goto(`${PORTAL}/harbor/projects`);
      await p.locator('[data-test=signin-form]').waitFor();
      eq(0, await p.locator('[data-test=current-user]').count(), 'header user');
    });
    await check('a wrong password shows an error on the sign-in form', async () => {
      await p.fill('[data-test=signin-username]', ADMIN);
      await p.fill('[data-test=signin-password]', 'Wrong-Pass-9');
      await p.click('[data-test=signin-submit]');
      const msg = await p.locator('[data-test=signin-error]').textContent();
      eq('Invalid username or password.', msg.trim(), 'error message');
      eq(0, await p.locator('[data-test=current-user]').count(), 'header user');
    });
    await check('repeated wrong passwords end in "too many attempts" (429) on the form', async () => {
      await p.goto(`${PORTAL}/harbor/projects`);
      await p.fill('[data-test=signin-username]', `nosuch${RUN}`);
      await p.fill('[data-test=signin-password]', 'Wrong-Pass-9');
      let msg = '';
      for (let i = 0; i < 12 && !/Too many attempts/.test(msg); i++) {
        const answered = p.waitForResponse((r) => r.url().endsWith('/c/login'));
        await p.click('[data-test=signin-submit]');
        await answered;
        msg = (await p.locator('[data-test=signin-error]').textContent()).trim();
      }
      eq('Too many attempts. Wait a moment and try again.', msg, 'error message');
    });
    await anon.close();
    const zhCtx = await newContext(browser, 'zh-CN');
    const zp = await zhCtx.newPage();
    await check('a first visit with a Chinese browser shows the sign-in form in Chinese', async () => {
      await zp.goto(`${PORTAL}/harbor/projects`);
      eq('登录', (await zp.locator('[data-test=signin-submit]').textContent()).trim(), 'submit button');
      eq([], await untranslated(zp), 'untranslated words');
    });
    await zhCtx.close();
    const oc = await newContext(browser);
    const op = await oc.newPage();
    await check('in db_auth mode (systeminfo) the sign-in page has no OIDC link', async () => {
      const info = await (await fetch(`${BERTH}/api/v2.0/systeminfo`)).json();
      eq('db_auth', info.auth_mode, 'auth_mode');
      const seen = op.waitForResponse((r) => r.url().endsWith('/api/v2.0/systeminfo'));
      await op.goto(`${PORTAL}/harbor/projects`);
      await seen;
      await op.locator('[data-test=signin-form]').waitFor();
      await settle(op);
      eq(0, await op.locator('[data-test=signin-oidc]').count(), 'OIDC links');
    });
    await oc.close();
  }

  await check(`sign in as ${ADMIN} with the keyboard only (Tab, typing, Enter; focus visible): the header shows the user`, async () => {
    await page.goto(`${PORTAL}/harbor/projects`);
    await page.locator('[data-test=signin-form]').waitFor();
    await page.focus('[data-test=signin-username]');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert(outline !== 'none', `no visible focus on the username field (outline ${outline})`);
    await page.keyboard.type(ADMIN);
    await page.keyboard.press('Tab');
    eq('signin-password', await page.evaluate(() => document.activeElement?.getAttribute('data-test')), 'focus after Tab');
    await page.keyboard.type(ADMIN_PW);
    await page.keyboard.press('Enter');
    await page.locator('[data-test=current-user]').waitFor();
    eq(ADMIN, (await page.locator('[data-test=current-user]').textContent()).trim(), 'user');
    eq(1, await page.locator('[data-test=nav-admin]').count(), 'administration link');
  });
  await shot(page, 'en-projects');

  // ---- projects -------------------------------------------------------------------------------
  await check(`create project ${newProject} with the dialog: the app opens it`, async () => {
    await page.goto(`${PORTAL}/harbor/projects`);
    await page.click('[data-test=project-new]');
    eq('project-name', await page.evaluate(() => document.activeElement?.getAttribute('data-test')), 'focus in the opened dialog');
    await page.fill('[data-test=project-name]', newProject);
    await page.click('[data-test=project-create]');
    await page.waitForURL(/\/harbor\/projects\/\d+\/repositories$/);
    newProjectId = page.url().match(/projects\/(\d+)\//)[1];
    eq(newProject, (await page.locator('h1 [data-raw]').first().textContent()).trim(), 'heading');
    const pr = await api('GET', `/projects/${newProject}`);
    eq(String(pr.project_id), newProjectId, 'project id in the URL');
    eq('false', pr.metadata.public, 'public');
  });
  await check('creating the same project again shows the API error in the dialog', async () => {
    await page.goto(`${PORTAL}/harbor/projects`);
    await page.click('[data-test=project-new]');
    await page.fill('[data-test=project-name]', newProject);
    await page.click('[data-test=project-create]');
    const err = await page.locator('[data-test=project-dialog] [data-test=error]').textContent();
    assert(/exist|conflict|already/i.test(err), `error: ${err}`);
    await page.keyboard.press('Escape');
    eq(0, await page.locator('[data-test=project-dialog]').count(), 'dialog closed by Escape');
  });
  await check('the project list searches on the server (q=name=~) and shows the badge and repo count', async () => {
    await page.fill('[data-test=project-search]', newProject);
    await page.waitForFunction((n) => {
      const rows = document.querySelectorAll('[data-test=project-row]');
      return rows.length === 1 && rows[0].getAttribute('data-name') === n;
    }, newProject);
    const row = page.locator(`[data-test=project-row][data-name="${newProject}"]`);
    eq('Private', (await row.locator('[data-test=project-access]').textContent()).trim(), 'badge');
    eq('0', (await row.locator('[data-test=project-repo-count]').textContent()).trim(), 'repo count');
    await row.locator('[data-test=quota]').waitFor();
  });
  await check('the project list pages on the server (page_size in the request, X-Total-Count in the pager)', async () => {
    const reqs = [];
    const on = (r) => r.url().includes('/api/v2.0/projects?') && reqs.push(r.url());
    page.on('request', on);
    await page.goto(`${PORTAL}/harbor/projects`);
    await page.locator('[data-test=pager-range]').waitFor();
    page.off('request', on);
    assert(reqs.some((u) => /[?&]page=1/.test(u) && /[?&]page_size=15/.test(u)), `requests: ${reqs}`);
    const res = await fetch(`${BERTH}/api/v2.0/projects?page=1&page_size=1`, { headers: { Authorization: basic(ADMIN, ADMIN_PW) } });
    const total = res.headers.get('x-total-count');
    const range = (await page.locator('[data-test=pager-range]').textContent()).trim();
    assert(range.endsWith(`of ${total}`), `pager "${range}" vs X-Total-Count ${total}`);
  });

  // ---- the pushed image ----------------------------------------------------------------------
  await check(`the image pushed with skopeo (${REPO}) appears with its tags ${TAGS.join(', ')}`, async () => {
    await page.goto(`${PORTAL}/harbor/projects`);
    await page.fill('[data-test=project-search]', PROJECT);
    await page.locator(`[data-test=project-row][data-name="${PROJECT}"] [data-test=project-link]`).click();
    await page.locator(`[data-test=repo-row][data-name="${REPO}"] [data-test=repo-link]`).click();
    await page.locator('[data-test=artifact-row]').first().waitFor();
    const tags = await page.locator('[data-test=artifact-row] [data-test=tag]').allTextContents();
    eq([...TAGS].sort(), tags.map((x) => x.trim()).sort(), 'tags');
    await shot(page, 'en-repository');
  });
  await check('the artifact page shows the digest, both tags and copyable pull commands for this host', async () => {
    await page.locator('[data-test=artifact-link]').first().click();
    await page.locator('[data-test=artifact-digest]').waitFor();
    artifactUrl = page.url();
    const digest = (await page.locator('[data-test=artifact-digest]').textContent()).trim();
    const art = await api('GET', `/projects/${PROJECT}/repositories/${encodeURIComponent(encodeURIComponent(REPO.slice(PROJECT.length + 1)))}/artifacts/${TAGS[0]}`);
    eq(art.digest, digest, 'digest');
    await page.waitForFunction((n) => document.querySelectorAll('[data-test=tag-row]').length === n, TAGS.length).catch(() => {});
    eq(TAGS.length, await page.locator('[data-test=tag-row]').count(), 'tag rows');
    const host = new URL(PORTAL).host;
    const docker = (await page.locator('[data-test=pull-docker]').textContent()).trim();
    assert(docker.startsWith(`docker pull ${host}/${REPO}`), docker);
    const cosign = (await page.locator('[data-test=pull-cosign]').textContent()).trim();
    eq(`cosign download signature ${host}/${REPO}@${digest}`, cosign, 'cosign command');
    await adminCtx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: PORTAL });
    await page.click('[data-test=copy-podman]');
    await page.waitForFunction(() => document.querySelector('[data-test=copy-podman]')?.textContent === 'Copied');
    const clip = await page.evaluate(() => navigator.clipboard.readText());
    assert(clip.startsWith(`podman pull ${host}/${REPO}`), `clipboard: ${clip}`);
    await shot(page, 'en-artifact');
  });

  await check('add a tag on the artifact page and delete it again (both reach the API)', async () => {
    const tagNames = async () => (await api('GET', `/projects/${PROJECT}/repositories/${encodeURIComponent(encodeURIComponent(REPO.slice(PROJECT.length + 1)))}/artifacts/${TAGS[0]}/tags`)).map((x) => x.name).sort();
    await page.goto(artifactUrl);
    await page.fill('[data-test=tag-new]', 'extra');
    await page.click('[data-test=tag-add]');
    await page.locator('[data-test=tag-row][data-name=extra]').waitFor();
    eq([...TAGS, 'extra'].sort(), await tagNames(), 'tags after adding');
    page.once('dialog', (d) => d.accept());
    await page.click('[data-test=tag-row][data-name=extra] [data-test=tag-delete]');
    await page.locator('[data-test=tag-row][data-name=extra]').waitFor({ state: 'detached' });
    eq([...TAGS].sort(), await tagNames(), 'tags after deleting');
  });

  await check('scan the artifact from its page: the summary reports a finished scan and the vulnerability section loads', async () => {
    await page.goto(artifactUrl);
    await page.click('[data-test=scan-run]');
    await page.waitForFunction(() => /^(Success|Error)$/i.test(document.querySelector('[data-test=scan-summary]')?.getAttribute('data-status') ?? ''), null, { timeout: 60000 });
    eq('Success', await page.getAttribute('[data-test=scan-summary]', 'data-status'), 'scan status');
    eq('Succeeded', (await page.locator('[data-test=scan-status]').textContent()).trim(), 'status text');
    const art = await api('GET', `/projects/${PROJECT}/repositories/${encodeURIComponent(encodeURIComponent(REPO.slice(PROJECT.length + 1)))}/artifacts/${TAGS[0]}?with_scan_overview=true`);
    const o = Object.values(art.scan_overview ?? {})[0];
    eq('Success', o?.scan_status, 'scan status in the API');
    await settle(page);
    eq(0, await page.locator('main [role=alert]').count(), 'error boxes on the page');
  });

  // ---- project policies and labels -----------------------------------------------------------
  const proj = await api('GET', `/projects/${PROJECT}`).catch(() => null);
  const projectId = proj?.project_id;
  const artPath = `/projects/${PROJECT}/repositories/${encodeURIComponent(encodeURIComponent(REPO.slice(PROJECT.length + 1)))}/artifacts/${TAGS[0]}`;
  await check('a retention rule added on the Policies tab reaches the API (the project gets its retention_id)', async () => {
    await page.goto(`${PORTAL}/harbor/projects/${projectId}/policies`);
    await page.locator('[data-test=retention] h2').waitFor();
    await page.click('[data-test=retention-add]');
    await page.selectOption('[data-test=rule-template]', 'latestPushedK');
    await page.fill('[data-test=rule-count]', '0');
    await page.fill('[data-test=rule-repo]', '**');
    await page.fill('[data-test=rule-tag]', '**');
    await page.click('[data-test=rule-save]');
    await page.locator('[data-test=retention-rule]').waitFor();
    const rid = (await api('GET', `/projects/${PROJECT}`)).metadata?.retention_id;
    assert(rid, 'no retention_id in the project metadata');
    const pol = await api('GET', `/retentions/${rid}`);
    eq(1, pol.rules.length, 'rules');
    eq('latestPushedK', pol.rules[0].template, 'template');
    eq(0, pol.rules[0].params?.latestPushedK, 'count');
  });
  await check('a retention dry run shows its result: the repository with 1 artifact, 0 retained, 1 to delete, and a log naming the digest', async () => {
    await page.click('[data-test=retention-dryrun]');
    const row = page.locator('[data-test=retention-run-row]').first();
    await row.waitFor();
    await page.waitForFunction(() => /^(Succeeded|Failed)$/.test(document.querySelector('[data-test=retention-run-status]')?.textContent?.trim() ?? ''), null, { timeout: 60000 });
    eq('Succeeded', (await row.locator('[data-test=retention-run-status]').textContent()).trim(), 'run status');
    assert(/Dry run/.test(await row.textContent()), 'the run is a dry run');
    await row.locator('[data-test=retention-run-details]').click();
    const task = page.locator(`[data-test=retention-task][data-repo="${REPO}"]`);
    await task.waitFor();
    eq('1', (await task.locator('[data-test=retention-task-total]').textContent()).trim(), 'total');
    eq('0', (await task.locator('[data-test=retention-task-retained]').textContent()).trim(), 'retained');
    eq('1', (await task.locator('[data-test=retention-task-deleted]').textContent()).trim(), 'deleted');
    await task.locator('[data-test=retention-task-log]').click();
    const art = await api('GET', artPath);
    await page.locator('[data-test=retention-log] [data-test=text-log]').waitFor();
    const log = await page.locator('[data-test=retention-log] [data-test=text-log]').textContent();
    assert(log.includes(art.digest), `log does not name ${art.digest}: ${log.slice(0, 300)}`);
    await page.keyboard.press('Escape');
    const runs = await api('GET', `/retentions/${(await api('GET', `/projects/${PROJECT}`)).metadata.retention_id}/executions`);
    eq(true, runs[0]?.dry_run, 'dry_run in the API');
    await api('GET', artPath); // a dry run deletes nothing
  });
  await check('the retention rule is deleted from the Policies tab', async () => {
    page.once('dialog', (d) => d.accept());
    await page.click('[data-test=retention-rule-delete]');
    await page.locator('[data-test=retention-none]').waitFor();
    const rid = (await api('GET', `/projects/${PROJECT}`)).metadata.retention_id;
    eq(0, (await api('GET', `/retentions/${rid}`)).rules.length, 'rules left');
    // A rule that keeps everything, for the screenshots and the Chinese walk.
    await page.click('[data-test=retention-add]');
    await page.selectOption('[data-test=rule-template]', 'always');
    await page.click('[data-test=rule-save]');
    await page.locator('[data-test=retention-rule]').waitFor();
  });
  await check('the retention schedule: a custom cron reaches the API, survives a reload, and is cleared again', async () => {
    const rid = (await api('GET', `/projects/${PROJECT}`)).metadata.retention_id;
    const cron = '0 30 2 * * 3';
    await page.selectOption('[data-test=retention-schedule-type]', 'Custom');
    await page.fill('[data-test=retention-schedule-cron]', cron);
    await page.click('[data-test=retention-schedule-save]');
    await page.locator('[data-test=retention-schedule-saved]').waitFor();
    const pol = await api('GET', `/retentions/${rid}`);
    eq('Schedule', pol.trigger?.kind, 'trigger kind');
    eq(cron, pol.trigger?.settings?.cron, 'cron in the API');
    eq(1, pol.rules.length, 'the rules are kept');
    await page.reload();
    await page.locator('[data-test=retention-schedule-current]').waitFor();
    eq('Custom', await page.locator('[data-test=retention-schedule-type]').inputValue(), 'type after a reload');
    eq(cron, await page.locator('[data-test=retention-schedule-cron]').inputValue(), 'cron after a reload');
    await page.selectOption('[data-test=retention-schedule-type]', 'None');
    await page.click('[data-test=retention-schedule-save]');
    await page.locator('[data-test=retention-schedule-saved]').waitFor();
    eq('', (await api('GET', `/retentions/${rid}`)).trigger?.settings?.cron ?? '', 'cron cleared in the API');
    await page.locator('[data-test=retention-schedule-current]').waitFor({ state: 'detached' }); // the reloaded policy has no cron
  });
  await check('an immutable tag rule is created, disabled and enabled again (each reaches the API)', async () => {
    await page.click('[data-test=immutable-add]');
    await page.fill('[data-test=rule-repo]', 'app');
    await page.fill('[data-test=rule-tag]', `rel-${RUN}-*`);
    await page.click('[data-test=rule-save]');
    const row = page.locator(`[data-test=immutable-row][data-tag="rel-${RUN}-*"]`);
    await row.waitFor();
    const rules = async () => (await api('GET', `/projects/${PROJECT}/immutabletagrules`)).filter((r) => r.tag_selectors?.[0]?.pattern === `rel-${RUN}-*`);
    eq(1, (await rules()).length, 'rule in the API');
    eq('app', (await rules())[0].scope_selectors.repository[0].pattern, 'repository pattern');
    await row.locator('[data-test=immutable-enabled]').click();
    await row.locator('label', { hasText: 'Off' }).waitFor(); // rendered from the reloaded list
    eq(true, (await rules())[0].disabled, 'disabled in the API');
    await row.locator('[data-test=immutable-enabled]').click();
    await row.locator('label', { hasText: 'On' }).waitFor();
    eq(false, (await rules())[0].disabled, 'enabled again in the API');
  });
  await check('an immutable tag rule is edited in a dialog prefilled from its row (PUT of the whole rule)', async () => {
    const row = page.locator(`[data-test=immutable-row][data-tag="rel-${RUN}-*"]`);
    const before = (await api('GET', `/projects/${PROJECT}/immutabletagrules`)).find((r) => r.tag_selectors?.[0]?.pattern === `rel-${RUN}-*`);
    await row.locator('[data-test=immutable-edit]').click();
    await page.locator('[data-test=rule-dialog]').waitFor();
    eq('app', await page.locator('[data-test=rule-repo]').inputValue(), 'repository pattern prefilled');
    eq(`rel-${RUN}-*`, await page.locator('[data-test=rule-tag]').inputValue(), 'tag pattern prefilled');
    await page.fill('[data-test=rule-tag]', `rel-${RUN}-v*`);
    const [req] = await Promise.all([page.waitForRequest((r) => r.method() === 'PUT' && r.url().endsWith(`/immutabletagrules/${before.id}`)), page.click('[data-test=rule-save]')]);
    eq('immutable', JSON.parse(req.postData()).action, 'the whole rule is sent');
    await page.locator(`[data-test=immutable-row][data-tag="rel-${RUN}-v*"]`).waitFor();
    const after = (await api('GET', `/projects/${PROJECT}/immutabletagrules`)).find((r) => r.id === before.id);
    eq(`rel-${RUN}-v*`, after?.tag_selectors?.[0]?.pattern, 'tag pattern in the API');
    eq('app', after.scope_selectors.repository[0].pattern, 'repository pattern kept');
    eq(false, !!after.disabled, 'still enabled');
  });
  await check('a webhook is created with its URL, events and auth header; disabling it reaches the API; its delivery log opens', async () => {
    const name = `hook-${RUN}`;
    await page.click('[data-test=webhook-add]');
    await page.locator('[data-test=webhook-dialog]').waitFor();
    await page.fill('[data-test=webhook-name]', name);
    await page.fill('[data-test=webhook-address]', 'http://127.0.0.1:9/hook');
    await page.fill('[data-test=webhook-auth]', 'Bearer portal-test');
    await page.check('[data-test=webhook-event][value=DELETE_ARTIFACT]');
    await page.click('[data-test=webhook-save]');
    const row = page.locator(`[data-test=webhook-row][data-name="${name}"]`);
    await row.waitFor();
    const find = async () => (await api('GET', `/projects/${PROJECT}/webhook/policies`)).find((w) => w.name === name);
    const w = await find();
    assert(w, 'webhook in the API');
    eq('http://127.0.0.1:9/hook', w.targets[0].address, 'address');
    eq('***', w.targets[0].auth_header, 'auth header (set, and masked by the API)');
    eq(['DELETE_ARTIFACT', 'PUSH_ARTIFACT'], [...w.event_types].sort(), 'event types');
    await row.locator('[data-test=webhook-enabled]').click();
    await row.locator('label', { hasText: 'Off' }).waitFor();
    eq(false, (await find()).enabled, 'disabled in the API');
    await row.locator('[data-test=webhook-log]').click();
    await page.locator('[data-test=webhook-deliveries]').waitFor();
    await settle(page);
    eq(0, await page.locator('[data-test=webhook-deliveries] [role=alert]').count(), 'errors in the delivery log');
    await page.keyboard.press('Escape');
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(page, 'en-policies');
  });
  await check('a webhook is edited in a dialog prefilled from its row; a new address asks for the auth header again; the PUT keeps the state', async () => {
    const name = `hook-${RUN}`;
    const row = page.locator(`[data-test=webhook-row][data-name="${name}"]`);
    const find = async () => (await api('GET', `/projects/${PROJECT}/webhook/policies`)).find((w) => w.name === name);
    const before = await find();
    await row.locator('[data-test=webhook-edit]').click();
    await page.locator('[data-test=webhook-dialog]').waitFor();
    eq(name, await page.locator('[data-test=webhook-name]').inputValue(), 'name prefilled');
    eq('http://127.0.0.1:9/hook', await page.locator('[data-test=webhook-address]').inputValue(), 'address prefilled');
    eq(true, await page.locator('[data-test=webhook-event][value=DELETE_ARTIFACT]').isChecked(), 'events prefilled');
    await page.fill('[data-test=webhook-address]', 'http://127.0.0.1:9/hook2');
    await page.uncheck('[data-test=webhook-event][value=DELETE_ARTIFACT]');
    eq('***', await page.locator('[data-test=webhook-auth]').inputValue(), 'masked auth header prefilled');
    await page.click('[data-test=webhook-save]'); // a new address needs the header again
    await page.locator('[data-test=webhook-dialog] [role=alert]').waitFor();
    await page.fill('[data-test=webhook-auth]', 'Bearer portal-test-2');
    const [req] = await Promise.all([page.waitForRequest((r) => r.method() === 'PUT' && r.url().endsWith(`/webhook/policies/${before.id}`)), page.click('[data-test=webhook-save]')]);
    eq(before.id, JSON.parse(req.postData()).id, 'the whole policy is sent');
    await page.locator('[data-test=webhook-dialog]').waitFor({ state: 'detached' });
    await row.locator('code', { hasText: 'hook2' }).waitFor();
    const w = await find();
    eq(before.id, w.id, 'same policy');
    eq('http://127.0.0.1:9/hook2', w.targets[0].address, 'address in the API');
    eq(['PUSH_ARTIFACT'], w.event_types, 'event types in the API');
    eq('***', w.targets[0].auth_header, 'auth header set (masked by the API)');
    eq(false, w.enabled, 'still disabled');
  });
  const labelName = `lbl-${RUN}`;
  await check('a label is created on the Labels tab (the API has it in the project scope)', async () => {
    await page.goto(`${PORTAL}/harbor/projects/${projectId}/labels`);
    await page.click('[data-test=label-new]');
    await page.fill('[data-test=label-name]', labelName);
    await page.fill('[data-test=label-description]', 'made by the browser test');
    await page.click('[data-test=label-save]');
    await page.locator(`[data-test=label-row][data-name="${labelName}"]`).waitFor();
    const ls = await api('GET', `/labels?scope=p&project_id=${projectId}&page_size=100`);
    assert(ls.some((l) => l.name === labelName), `labels: ${JSON.stringify(ls.map((l) => l.name))}`);
    await shot(page, 'en-labels');
  });
  await check('the label is attached to the artifact on its page and removed again (both reach the API)', async () => {
    assert(artifactUrl, 'artifact page not reached');
    const labels = async () => ((await api('GET', `${artPath}?with_label=true`)).labels ?? []).map((l) => l.name);
    await page.goto(artifactUrl);
    await page.locator('[data-test=artifact-label-pick]').waitFor();
    await page.selectOption('[data-test=artifact-label-pick]', { label: labelName });
    await page.click('[data-test=artifact-label-add]');
    await page.locator('[data-test=artifact-labels] .chip', { hasText: labelName }).waitFor();
    eq([labelName], await labels(), 'labels in the API');
    await page.click(`[data-test=artifact-label-remove][aria-label$="${labelName}"]`);
    await page.locator('[data-test=artifact-labels] .chip', { hasText: labelName }).waitFor({ state: 'detached' });
    eq([], await labels(), 'labels in the API after removing');
    // attached again, for the screenshots
    await page.selectOption('[data-test=artifact-label-pick]', { label: labelName });
    await page.click('[data-test=artifact-label-add]');
    await page.locator('[data-test=artifact-labels] .chip', { hasText: labelName }).waitFor();
  });

  await check('the build history shows the API\'s entries as a table, or "none" when the server has no such addition (never an error)', async () => {
    await page.goto(artifactUrl);
    const sec = page.locator('[data-test=build-history]');
    await sec.locator('[data-test=history-list], [data-test=history-none]').first().waitFor();
    eq(0, await sec.locator('[role=alert]').count(), 'errors in the build history');
    const res = await fetch(`${BERTH}/api/v2.0${artPath}/additions/build_history`, { headers: { Authorization: basic(ADMIN, ADMIN_PW) } });
    if (res.status === 404) eq(1, await sec.locator('[data-test=history-none]').count(), '"none" message for a 404');
    else {
      const h = await res.json();
      eq(h.length, await sec.locator('[data-test=history-row]').count(), 'history rows');
    }
  });

  // ---- administration: scanners, CVE allowlist, registries, replication, system robots ---------
  await check('the scanners page lists the built-in scanner as default; it cannot be deleted; its connection test answers', async () => {
    await page.goto(`${PORTAL}/harbor/admin/scanners`);
    const row = page.locator('[data-test=scanner-row][data-uuid=builtin]');
    await row.waitFor();
    eq('Yes', (await row.locator('[data-test=scanner-default]').textContent()).trim(), 'default');
    eq(true, await row.locator('[data-test=scanner-delete]').isDisabled(), 'delete disabled');
    await row.locator('[data-test=scanner-ping]').click();
    await page.locator('[data-test=scanner-note]').waitFor();
  });
  await check('a CVE added to the system allowlist reaches the API, and removing it too', async () => {
    const cve = `CVE-2099-${String(Date.now()).slice(-5)}`;
    await page.fill('[data-test=allowlist-new]', cve.toLowerCase());
    await page.click('[data-test=allowlist-add]');
    await page.locator(`[data-test=allowlist-item][data-cve="${cve}"]`).waitFor();
    const ids = async () => (await api('GET', '/system/CVEAllowlist')).items.map((x) => x.cve_id);
    assert((await ids()).includes(cve), `allowlist: ${await ids()}`);
    await page.click(`[data-test=allowlist-item][data-cve="${cve}"] [data-test=allowlist-remove]`);
    await page.locator(`[data-test=allowlist-item][data-cve="${cve}"]`).waitFor({ state: 'detached' });
    assert(!(await ids()).includes(cve), 'removed from the API');
    await shot(page, 'en-scanners');
  });
  const regName = `self-${RUN}`;
  await check('a registry endpoint is created with the dialog, answers its connection test, and is in the API', async () => {
    await page.goto(`${PORTAL}/harbor/admin/registries`);
    await page.click('[data-test=registry-new]');
    await page.selectOption('[data-test=registry-type]', 'docker-registry');
    await page.fill('[data-test=registry-name]', regName);
    await page.fill('[data-test=registry-url]', BERTH);
    await page.fill('[data-test=registry-user]', ADMIN);
    await page.fill('[data-test=registry-secret]', ADMIN_PW);
    await page.check('[data-test=registry-insecure]');
    await page.click('[data-test=registry-save]');
    const row = page.locator(`[data-test=registry-row][data-name="${regName}"]`);
    await row.waitFor();
    const regs = await api('GET', '/registries');
    assert(regs.some((r) => r.name === regName && r.url === BERTH), `registries: ${JSON.stringify(regs.map((r) => r.name))}`);
    await row.locator('[data-test=registry-ping]').click();
    await page.locator('[data-test=registry-note]').waitFor();
    eq(0, await page.locator('main [role=alert]').count(), 'errors after the test');
  });
  await check('a pull replication rule is created from that registry and started: a run shows up', async () => {
    const name = `mirror-${RUN}`;
    await page.goto(`${PORTAL}/harbor/admin/replication`);
    await page.click('[data-test=replication-new]');
    await page.fill('[data-test=replication-name]', name);
    await page.selectOption('[data-test=replication-mode]', 'pull');
    await page.selectOption('[data-test=replication-registry]', { label: regName });
    await page.fill('[data-test=replication-filter]', `${REPO}`);
    await page.fill('[data-test=replication-dest]', newProject);
    await page.click('[data-test=replication-save]');
    const row = page.locator(`[data-test=replication-row][data-name="${name}"]`);
    await row.waitFor();
    const pol = (await api('GET', '/replication/policies')).find((p) => p.name === name);
    assert(pol && pol.src_registry?.name === regName, `policy in the API: ${JSON.stringify(pol)}`);
    await row.locator('[data-test=replication-start]').click();
    await page.locator(`[data-test=replication-execution][data-policy="${pol.id}"]`).first().waitFor();
    const ex = await api('GET', `/replication/executions?policy_id=${pol.id}`);
    assert(ex.length >= 1, 'execution in the API');
    await shot(page, 'en-replication');
  });
  await check('a system robot is created: its secret is shown once and works; deleting it reaches the API', async () => {
    const name = `sys${RUN}`;
    await page.goto(`${PORTAL}/harbor/admin/robots`);
    await page.click('[data-test=sysrobot-new]');
    await page.fill('[data-test=sysrobot-name]', name);
    await page.click('[data-test=sysrobot-create]');
    await page.locator('[data-test=sysrobot-secret-dialog]').waitFor();
    const full = (await page.locator('[data-test=sysrobot-created-name]').textContent()).trim();
    const secret = (await page.locator('[data-test=sysrobot-secret]').textContent()).trim();
    const v2 = await fetch(`${BERTH}/v2/`, { headers: { Authorization: basic(full, secret) } });
    eq(200, v2.status, 'GET /v2/ with the robot');
    await page.keyboard.press('Escape');
    const row = page.locator(`[data-test=sysrobot-row][data-name="${full}"]`);
    await row.waitFor();
    eq(0, await page.getByText(secret).count(), 'secret still in the page');
    page.once('dialog', (d) => d.accept());
    await row.locator('[data-test=sysrobot-delete]').click();
    await row.waitFor({ state: 'detached' });
    const left = await api('GET', `/robots?q=${encodeURIComponent('Level=system')}&page_size=100`);
    assert(!left.some((r) => r.name === full), 'robot still in the API');
  });

  // ---- members -------------------------------------------------------------------------------
  await check(`add user ${member} (created through the API) as a member of ${newProject}`, async () => {
    await api('POST', '/users', { username: member, email: `${member}@example.com`, realname: 'Portal Member', password: memberPw });
    await page.goto(`${PORTAL}/harbor/projects/${newProjectId}/members`);
    await page.click('[data-test=member-add]');
    await page.fill('[data-test=member-username]', member);
    await page.selectOption('[data-test=member-new-role]', '2');
    await page.click('[data-test=member-save]');
    await page.locator(`[data-test=member-row][data-name="${member}"]`).waitFor();
    const ms = await api('GET', `/projects/${newProject}/members?entityname=${member}`);
    eq([[member, 2]], ms.map((m) => [m.entity_name, m.role_id]), 'members');
  });
  await check('change the member role to Guest in the list', async () => {
    await page.selectOption(`[data-test=member-row][data-name="${member}"] [data-test=member-role]`, '3');
    for (let i = 0; i < 50; i++) {
      const ms = await api('GET', `/projects/${newProject}/members?entityname=${member}`);
      if (ms[0]?.role_id === 3) return;
      await page.waitForTimeout(100);
    }
    throw new Error('role_id did not become 3');
  });
  await shot(page, 'en-members');
  {
    const mctx = await newContext(browser);
    const mp = await mctx.newPage();
    await check(`${member}'s own session sees the private project ${newProject} and no administration`, async () => {
      await signIn(mp, member, memberPw);
      eq(member, (await mp.locator('[data-test=current-user]').textContent()).trim(), 'user');
      await mp.locator(`[data-test=project-row][data-name="${newProject}"]`).waitFor();
      eq(0, await mp.locator('[data-test=nav-admin]').count(), 'administration link');
    });
    await check(`${member} is shown the API's refusal when adding a member as a guest`, async () => {
      await mp.goto(`${PORTAL}/harbor/projects/${newProjectId}/members`);
      await mp.click('[data-test=member-add]');
      await mp.fill('[data-test=member-username]', ADMIN);
      await mp.click('[data-test=member-save]');
      await mp.locator('[data-test=member-dialog] [data-test=error]').waitFor();
    });
    await mctx.close();
  }

  // ---- groups --------------------------------------------------------------------------------
  const groupName = `devs-${RUN}`;
  await check(`Administration → Groups: create the OIDC group ${groupName} with the dialog (it is in the API), rename it`, async () => {
    await page.goto(`${PORTAL}/harbor/admin/groups`);
    await page.click('[data-test=group-new]');
    await page.fill('[data-test=group-name]', `${groupName}-x`);
    await page.selectOption('[data-test=group-type]', '1');
    await page.locator('[data-test=group-dn]').waitFor();
    await page.selectOption('[data-test=group-type]', '3');
    eq(0, await page.locator('[data-test=group-dn]').count(), 'DN field for an OIDC group');
    await page.click('[data-test=group-save]');
    await page.locator(`[data-test=group-row][data-name="${groupName}-x"]`).waitFor();
    let gs = await api('GET', `/usergroups?q=${encodeURIComponent(`group_name=~${groupName}`)}`);
    eq([[`${groupName}-x`, 3]], gs.map((g) => [g.group_name, g.group_type]), 'groups');
    await page.click(`[data-test=group-row][data-name="${groupName}-x"] [data-test=group-rename]`);
    await page.fill('[data-test=group-name]', groupName);
    await page.click('[data-test=group-save]');
    await page.locator(`[data-test=group-row][data-name="${groupName}"]`).waitFor();
    gs = await api('GET', `/usergroups?q=${encodeURIComponent(`group_name=~${groupName}`)}`);
    eq([groupName], gs.map((g) => g.group_name), 'after renaming');
    await shot(page, 'en-groups');
  });
  await check('the group list pages on the server', async () => {
    for (let i = 0; i < 3; i++) await api('POST', '/usergroups', { group_name: `pg${i}-${RUN}`, group_type: 2 });
    await page.goto(`${PORTAL}/harbor/admin/groups`);
    await page.locator('[data-test=group-row]').first().waitFor();
    const [req] = await Promise.all([page.waitForRequest((r) => r.url().includes('/usergroups?') && r.url().includes('page_size=10')), page.selectOption('[data-test=pager] select', '10')]);
    assert(req.url().includes('page=1'), req.url());
    const total = (await api('GET', '/usergroups?page_size=100')).length;
    await page.waitForFunction((n) => document.querySelector('[data-test=pager-range]')?.textContent.includes(String(n)), total);
  });
  await check(`${groupName} is added as a member of ${newProject} with the Members dialog (member_group in the API)`, async () => {
    await page.goto(`${PORTAL}/harbor/projects/${newProjectId}/members`);
    await page.click('[data-test=member-add]');
    await page.check('[data-test=member-kind-group]');
    await page.fill('[data-test=member-username]', groupName);
    await page.selectOption('[data-test=member-new-role]', '2');
    await page.click('[data-test=member-save]');
    await page.locator(`[data-test=member-row][data-name="${groupName}"]`).waitFor();
    const ms = await api('GET', `/projects/${newProject}/members?entityname=${groupName}`);
    eq([[groupName, 'g', 2]], ms.map((m) => [m.entity_name, m.entity_type, m.role_id]), 'members');
  });
  await check('adding a group that does not exist says so in the dialog', async () => {
    await page.click('[data-test=member-add]');
    await page.check('[data-test=member-kind-group]');
    await page.fill('[data-test=member-username]', `nosuch-${RUN}`);
    await page.click('[data-test=member-save]');
    const err = await page.locator('[data-test=member-dialog] [data-test=error]').textContent();
    assert(err.includes(`nosuch-${RUN}`), `error: ${err}`);
    await page.keyboard.press('Escape');
  });

  // ---- robots --------------------------------------------------------------------------------
  let secret = null;
  await check('create a robot with pull and push: its secret is shown once, in a dialog', async () => {
    await page.goto(`${PORTAL}/harbor/projects/${newProjectId}/robots`);
    await page.click('[data-test=robot-new]');
    await page.fill('[data-test=robot-name]', robotName);
    await page.check('[data-test=robot-push]');
    await page.click('[data-test=robot-create]');
    secret = (await page.locator('[data-test=robot-secret]').textContent()).trim();
    assert(secret.length >= 8, `secret ${secret}`);
    const name = (await page.locator('[data-test=robot-created-name]').textContent()).trim();
    eq(`robot$${newProject}+${robotName}`, name, 'robot name');
    const res = await fetch(`${BERTH}/v2/`, { headers: { Authorization: basic(name, secret) } });
    eq(200, res.status, 'GET /v2/ with the robot secret');
    await shot(page, 'en-robot-secret');
    await page.click('[data-test=robot-secret-close]');
    await page.locator(`[data-test=robot-row][data-name="robot$${newProject}+${robotName}"]`).waitFor();
  });
  await check('reopening the robot list does not show the secret again', async () => {
    await page.reload();
    await page.locator('[data-test=robot-row]').first().waitFor();
    eq(0, await page.locator('[data-test=robot-secret]').count(), 'secret elements');
    const html = await page.content();
    assert(secret && !html.includes(secret), 'the secret is in the page');
  });

  await check('an administrator creates a user with the dialog, finds it in the list and deletes it', async () => {
    const name = `made${RUN}`;
    await page.goto(`${PORTAL}/harbor/admin/users`);
    await page.click('[data-test=user-new]');
    await page.fill('[data-test=user-username]', name);
    await page.fill('[data-test=user-email]', `${name}@example.com`);
    await page.fill('[data-test=user-realname]', 'Made In Browser');
    await page.fill('[data-test=user-password]', 'Made-Pass-1');
    await page.click('[data-test=user-create]');
    await page.fill('[data-test=user-search]', name);
    await page.locator(`[data-test=user-row][data-name="${name}"]`).waitFor();
    const res = await fetch(`${BERTH}/api/v2.0/users/current`, { headers: { Authorization: basic(name, 'Made-Pass-1') } });
    eq(200, res.status, 'the new user signs in');
    page.once('dialog', (d) => d.accept());
    await page.click(`[data-test=user-row][data-name="${name}"] [data-test=user-delete]`);
    await page.locator(`[data-test=user-row][data-name="${name}"]`).waitFor({ state: 'detached' });
    const after = await fetch(`${BERTH}/api/v2.0/users/current`, { headers: { Authorization: basic(name, 'Made-Pass-1') } });
    eq(401, after.status, 'the deleted user signs in');
  });

  // ---- GC ------------------------------------------------------------------------------------
  async function gcRow(dry) {
    for (let i = 0; i < 60; i++) {
      await page.click('[data-test=gc-refresh]');
      await settle(page);
      const row = page.locator(`[data-test=gc-row][data-dry-run="${dry}"]`).first();
      if ((await row.count()) && /^(success|error|stopped)$/i.test((await row.getAttribute('data-status')) ?? '')) return row;
      await page.waitForTimeout(500);
    }
    throw new Error(`no finished ${dry ? 'dry' : 'real'} GC run in the history`);
  }
  await check('run a GC dry run: it appears in the history as a succeeded dry run', async () => {
    await page.goto(`${PORTAL}/harbor/admin/gc`);
    await page.click('[data-test=gc-dryrun]');
    const row = await gcRow(true);
    eq('Success', await row.getAttribute('data-status'), 'status');
    eq('Succeeded', (await row.locator('[data-test=gc-status]').textContent()).trim(), 'status text');
  });
  await check('run a real GC: it appears in the history and its log opens', async () => {
    await page.click('[data-test=gc-run]');
    const row = await gcRow(false);
    eq('Success', await row.getAttribute('data-status'), 'status');
    eq('Deleting', (await row.locator('[data-test=gc-mode]').textContent()).trim(), 'mode');
    await row.locator('[data-test=gc-log]').click();
    const log = await page.locator('[data-test=gc-log-text]').textContent();
    assert(log.trim().length > 0, 'empty log');
    await page.keyboard.press('Escape');
    const runs = await api('GET', '/system/gc?page_size=10');
    assert(runs.some((r) => JSON.parse(r.job_parameters || '{}').dry_run === true) && runs.some((r) => !JSON.parse(r.job_parameters || '{}').dry_run), 'API history lacks a run');
    await shot(page, 'en-gc');
  });

  await check('the GC schedule is set to a custom cron with its parameters (read back from the API), then back to None', async () => {
    await page.goto(`${PORTAL}/harbor/admin/gc`);
    await page.selectOption('[data-test=gc-schedule-type]', 'Custom');
    await page.fill('[data-test=gc-schedule-cron]', '0 30 4 * * 6');
    await page.fill('[data-test=gc-schedule-workers]', '2');
    await page.check('[data-test=gc-schedule-untagged]');
    await page.click('[data-test=gc-schedule-save]');
    await page.locator('[data-test=gc-schedule-saved]').waitFor();
    let s = await api('GET', '/system/gc/schedule');
    eq(['Custom', '0 30 4 * * 6', true, 2], [s.schedule?.type, s.schedule?.cron, s.parameters?.delete_untagged, s.parameters?.workers], 'schedule in the API');
    await page.reload();
    await page.locator('[data-test=gc-schedule-cron]').waitFor();
    eq('Custom', await page.locator('[data-test=gc-schedule-type]').inputValue(), 'type after reload');
    eq('0 30 4 * * 6', await page.locator('[data-test=gc-schedule-cron]').inputValue(), 'cron after reload');
    await page.locator('[data-test=gc-schedule-next]').waitFor();
    await shot(page, 'en-gc');
    await page.selectOption('[data-test=gc-schedule-type]', 'None');
    await page.click('[data-test=gc-schedule-save]');
    await page.locator('[data-test=gc-schedule-saved]').waitFor();
    s = await api('GET', '/system/gc/schedule');
    eq('None', s.schedule?.type ?? 'None', 'schedule type after setting None');
  });
  await check('a bad cron expression shows the API refusal', async () => {
    await page.selectOption('[data-test=gc-schedule-type]', 'Custom');
    await page.fill('[data-test=gc-schedule-cron]', 'every day');
    await page.click('[data-test=gc-schedule-save]');
    await page.locator('[data-test=gc-schedule] [data-test=error]').waitFor();
    eq('None', (await api('GET', '/system/gc/schedule')).schedule?.type ?? 'None', 'schedule unchanged');
  });
  try {
    await check('read-only mode is switched on in the configuration page (the API has read_only)', async () => {
      await page.goto(`${PORTAL}/harbor/admin/config`);
      eq('db_auth', await page.inputValue('[data-test=config-auth-mode]'), 'auth mode shown');
      eq(false, await page.locator('[data-test=config-read-only]').isChecked(), 'read_only before');
      const [req] = await Promise.all([
        page.waitForRequest((r) => r.method() === 'PUT' && r.url().endsWith('/api/v2.0/configurations')),
        page.check('[data-test=config-read-only]').then(() => page.click('[data-test=config-save]')),
      ]);
      eq({ read_only: true }, req.postDataJSON(), 'only the changed key is sent');
      await page.locator('[data-test=config-note]').waitFor();
      eq(true, (await api('GET', '/configurations')).read_only.value, 'read_only in the API');
      await shot(page, 'en-config');
    });
    await check('in read-only mode a project created in the UI shows the API refusal', async () => {
      const direct = await fetch(`${BERTH}/api/v2.0/projects`, { method: 'POST', headers: { Authorization: basic(ADMIN, ADMIN_PW), 'Content-Type': 'application/json' }, body: JSON.stringify({ project_name: `ro-${RUN}` }) });
      assert(!direct.ok, `the API accepted a project in read-only mode (${direct.status})`);
      const msg = (await direct.json()).errors[0].message;
      await page.goto(`${PORTAL}/harbor/projects`);
      await page.click('[data-test=project-new]');
      await page.fill('[data-test=project-name]', `ro-${RUN}`);
      await page.click('[data-test=project-create]');
      const err = await page.locator('[data-test=project-dialog] [data-test=error]').textContent();
      assert(err.includes(msg), `error ${err} lacks the API message ${msg}`);
      await page.keyboard.press('Escape');
    });
    await check('a setting the server does not allow to change is refused with its message', async () => {
      const res = await fetch(`${BERTH}/api/v2.0/configurations`, { method: 'PUT', headers: { Authorization: basic(ADMIN, ADMIN_PW), 'Content-Type': 'application/json' }, body: JSON.stringify({ project_creation_restriction: 'adminonly' }) });
      const editable = (await api('GET', '/configurations')).project_creation_restriction?.editable !== false;
      if (res.ok || editable) {
        await api('PUT', '/configurations', { project_creation_restriction: 'everyone' });
        return;
      }
      await page.goto(`${PORTAL}/harbor/admin/config`);
      eq(true, await page.locator('[data-test=config-creation]').isDisabled(), 'a fixed setting is disabled');
    });
    await check('read-only mode is switched off again in the configuration page', async () => {
      await page.goto(`${PORTAL}/harbor/admin/config`);
      await page.uncheck('[data-test=config-read-only]');
      await page.click('[data-test=config-save]');
      await page.locator('[data-test=config-note]').waitFor();
      eq(false, (await api('GET', '/configurations')).read_only.value, 'read_only in the API');
    });
  } finally {
    await api('PUT', '/configurations', { read_only: false }).catch(() => {});
  }

  // ---- audit log -----------------------------------------------------------------------------
  await check('the audit log shows entries, and the operation filter narrows them on the server', async () => {
    await page.goto(`${PORTAL}/harbor/admin/audit`);
    await page.locator('[data-test=log-row]').first().waitFor();
    await page.fill('[data-test=audit-operation]', 'create');
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/audit-logs?') && decodeURIComponent(r.url()).includes('operation=create')),
      page.click('[data-test=audit-apply]'),
    ]);
    await settle(page);
    const ops = await page.locator('[data-test=log-row] td:nth-child(4)').allTextContents();
    assert(ops.length > 0 && ops.every((o) => o.trim() === 'create'), `operations: ${ops}`);
    await shot(page, 'en-audit');
  });
  await check('the project log tab shows the pushes of the image', async () => {
    const pr = await api('GET', `/projects/${PROJECT}`);
    await page.goto(`${PORTAL}/harbor/projects/${pr.project_id}/logs`);
    await page.locator('[data-test=log-row]').first().waitFor();
    const resources = await page.locator('[data-test=log-row] td:nth-child(2)').allTextContents();
    assert(resources.some((r) => r.includes(`${REPO}:${TAGS[0]}`)), `resources: ${resources}`);
  });
  await check('the audit export link downloads CSV through the API', async () => {
    await page.goto(`${PORTAL}/harbor/admin/audit`);
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=audit-export-csv]')]);
    const path = await dl.path();
    const text = readFileSync(path, 'utf8');
    assert(/username/i.test(text.split('\n')[0]) && text.split('\n').length > 2, `csv: ${text.slice(0, 200)}`);
  });

  // ---- search, project configuration, profile -----------------------------------------------
  await check(`the header search finds the project and the repository ${REPO}`, async () => {
    await page.goto(`${PORTAL}/harbor/projects`);
    await page.fill('[data-test=global-search]', REPO.split('/').pop());
    await page.press('[data-test=global-search]', 'Enter');
    await page.waitForURL(/\/harbor\/search\?q=/);
    await page.locator('[data-test=search-repos]').waitFor();
    const repos = (await page.locator('[data-test=search-repos] [data-raw]').allTextContents()).map((x) => x.trim());
    assert(repos.includes(REPO), `repositories: ${repos}`);
    await page.locator('[data-test=search-repos] a', { hasText: REPO }).click();
    await page.locator('[data-test=artifact-row]').first().waitFor();
  });
  await check('saving the project configuration (public) reaches the API and the badge', async () => {
    await page.goto(`${PORTAL}/harbor/projects/${newProjectId}/configuration`);
    await page.check('[data-test=cfg-public]');
    await page.click('[data-test=cfg-save]');
    await page.locator('[data-test=cfg-saved]').waitFor();
    eq('true', (await api('GET', `/projects/${newProject}`)).metadata.public, 'metadata.public');
    await page.waitForFunction(() => document.querySelector('[data-test=project-access]')?.textContent === 'Public');
  });
  await check("the project's scanner is chosen from the candidates and read back from the API", async () => {
    const cands = await api('GET', `/projects/${newProject}/scanner/candidates`);
    assert(cands.length > 0, 'no scanner candidates');
    await page.locator('[data-test=cfg-scanner-current]').waitFor();
    eq(cands.length, await page.locator('[data-test=cfg-scanner] option').count(), 'candidates offered');
    const want = cands[cands.length - 1].uuid;
    await page.selectOption('[data-test=cfg-scanner]', want);
    const [req] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'PUT' && r.url().endsWith(`/projects/${newProject}/scanner`)),
      page.click('[data-test=cfg-scanner-save]'),
    ]);
    eq({ uuid: want }, JSON.parse(req.postData()), 'request body');
    await page.locator('[data-test=cfg-scanner-saved]').waitFor();
    eq(want, (await api('GET', `/projects/${newProject}/scanner`)).uuid, 'scanner in the API');
    await page.reload();
    await page.locator('[data-test=cfg-scanner-current]').waitFor();
    eq(want, await page.locator('[data-test=cfg-scanner]').inputValue(), 'chosen scanner after a reload');
  });
  await check("the project's own CVE allowlist: not reusing the system's reaches the API's metadata, the list goes out in cve_allowlist", async () => {
    await page.uncheck('[data-test=cfg-reuse-allowlist]');
    await page.fill('[data-test=cfg-cves]', 'CVE-2024-0001, cve-2024-0002');
    const [req] = await Promise.all([
      page.waitForRequest((r) => r.method() === 'PUT' && /\/api\/v2\.0\/projects\/[^/]+$/.test(r.url())),
      page.click('[data-test=cfg-save]'),
    ]);
    const body = JSON.parse(req.postData());
    eq('false', body.metadata?.reuse_sys_cve_allowlist, 'reuse in the request');
    eq(['CVE-2024-0001', 'CVE-2024-0002'], (body.cve_allowlist?.items ?? []).map((x) => x.cve_id), 'items in the request');
    await page.locator('[data-test=cfg-saved]').waitFor();
    const pr = await api('GET', `/projects/${newProject}`);
    eq('false', pr.metadata.reuse_sys_cve_allowlist, 'reuse_sys_cve_allowlist in the API');
    eq('true', pr.metadata.public, 'the other settings are kept');
    if (pr.cve_allowlist) eq(['CVE-2024-0001', 'CVE-2024-0002'], pr.cve_allowlist.items.map((x) => x.cve_id), 'cve_allowlist in the API');
    else console.log("     # note: the API does not return the project's cve_allowlist; only the request is checked");
    // Back to the system's list, then off again so the Chinese walk sees the field.
    const saveCfg = () => Promise.all([page.waitForResponse((r) => r.request().method() === 'PUT' && /\/api\/v2\.0\/projects\/[^/]+$/.test(r.url())), page.click('[data-test=cfg-save]')]);
    await page.check('[data-test=cfg-reuse-allowlist]');
    await saveCfg();
    eq('true', (await api('GET', `/projects/${newProject}`)).metadata.reuse_sys_cve_allowlist, 'reuse again in the API');
    await page.uncheck('[data-test=cfg-reuse-allowlist]');
    await saveCfg();
  });
  {
    const mctx = await newContext(browser);
    const mp = await mctx.newPage();
    await check(`${member} changes the password on the profile page; the new one works, the old one not`, async () => {
      await signIn(mp, member, memberPw);
      await mp.goto(`${PORTAL}/harbor/profile`);
      await mp.fill('[data-test=pw-old]', memberPw);
      await mp.fill('[data-test=pw-new]', 'Member-Pass-2');
      await mp.fill('[data-test=pw-confirm]', 'Member-Pass-2');
      await mp.click('[data-test=pw-save]');
      await mp.locator('[data-test=pw-saved]').waitFor();
      const v2 = async (pw) => (await fetch(`${BERTH}/api/v2.0/users/current`, { headers: { Authorization: basic(member, pw) } })).status;
      eq([200, 401], [await v2('Member-Pass-2'), await v2(memberPw)], 'status with the new and the old password');
    });
    await mctx.close();
  }

  // ---- an index (manifest list) -------------------------------------------------------------
  let indexUrl = null;
  await check('an OCI index PUT with curl-like requests lists its child manifest (platform, digest linking to it, size)', async () => {
    const repo = REPO.slice(PROJECT.length + 1);
    const v2 = (path, init = {}) => fetch(`${BERTH}/v2/${REPO}${path}`, { ...init, headers: { Authorization: basic(ADMIN, ADMIN_PW), ...(init.headers ?? {}) } });
    const head = await v2(`/manifests/${TAGS[0]}`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } });
    const childDigest = head.headers.get('docker-content-digest');
    const childSize = Number(head.headers.get('content-length'));
    const childType = head.headers.get('content-type');
    assert(childDigest && childSize, 'no digest for the pushed image');
    const index = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: childType, digest: childDigest, size: childSize, platform: { os: 'linux', architecture: 'arm64' } }] };
    const put = await v2(`/manifests/multi-${RUN}`, { method: 'PUT', headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' }, body: JSON.stringify(index) });
    eq(201, put.status, 'PUT of the index');
    const indexDigest = put.headers.get('docker-content-digest');
    const pr = await api('GET', `/projects/${PROJECT}`);
    const child = await api('GET', `/projects/${PROJECT}/repositories/${encodeURIComponent(encodeURIComponent(repo))}/artifacts/${childDigest}`);
    indexUrl = `/harbor/projects/${pr.project_id}/repositories/${encodeURIComponent(repo)}/artifacts/${indexDigest}`;
    await page.goto(`${PORTAL}${indexUrl}`);
    const row = page.locator(`[data-test=index-child][data-digest="${childDigest}"]`);
    await row.waitFor();
    eq(1, await page.locator('[data-test=index-child]').count(), 'children');
    // From the API's reference, or (when it has none) from the index manifest itself.
    await page.waitForFunction(() => document.querySelector('[data-test=index-child-platform]')?.textContent.trim() === 'linux/arm64').catch(() => {});
    eq('linux/arm64', (await row.locator('[data-test=index-child-platform]').textContent()).trim(), 'platform');
    await page.waitForFunction(() => /\d/.test(document.querySelector('[data-test=index-child-size]')?.textContent ?? ''));
    const size = (await row.locator('[data-test=index-child-size]').textContent()).trim();
    assert(/MB|MiB/.test(size) && child.size > 1024 * 1024, `size ${size} (API ${child.size})`);
    await shot(page, 'en-artifact-index');
    await row.locator('[data-test=index-child-link]').click();
    await page.waitForURL((u) => decodeURIComponent(u.pathname).endsWith(`/artifacts/${childDigest}`));
    await page.waitForFunction((d) => document.querySelector('[data-test=artifact-digest]')?.textContent.trim() === d, childDigest).catch(() => {});
    eq(childDigest, (await page.locator('[data-test=artifact-digest]').textContent()).trim(), 'the child page');
  });

  // ---- scanners, scan all, quotas, global labels (portal-5a) --------------------------------
  // PORTAL_SCANNER_URL/PORTAL_SCANNER_KEY: the `berth scanner serve` that portal.sh starts.
  const SCANNER_URL = env('PORTAL_SCANNER_URL');
  const SCANNER_KEY = env('PORTAL_SCANNER_KEY');
  const DEAD_URL = 'http://127.0.0.1:9'; // the discard port: nothing answers HTTP there
  const scannerName = `ext-${RUN}`;
  const storedScanner = async () => (await api('GET', '/scanners')).find((s) => s.name === scannerName || s.name === `${scannerName}-renamed`);
  const originalDefault = (await api('GET', '/scanners')).find((s) => s.is_default)?.uuid ?? 'builtin';
  await check('New scanner: "Test connection" to an address where nothing listens shows the server\'s error and stores nothing', async () => {
    await page.goto(`${PORTAL}/harbor/admin/scanners`);
    await page.locator('[data-test=scanner-row]').first().waitFor();
    await page.click('[data-test=scanner-new]');
    await page.fill('[data-test=scanner-name]', scannerName);
    await page.fill('[data-test=scanner-url]', DEAD_URL);
    await page.click('[data-test=scanner-test]');
    const err = page.locator('[data-test=scanner-dialog-error]');
    await err.waitFor();
    assert(/127\.0\.0\.1:9/.test(await err.textContent()), `error names the address: ${await err.textContent()}`);
    eq(0, await page.locator('[data-test=scanner-test-ok]').count(), 'success note');
    eq(undefined, await storedScanner(), 'scanner stored by a test');
  });
  await check('a scanner (berth scanner serve) is registered with the dialog: a wrong API key fails the test, the right one passes; stored as entered', async () => {
    await page.fill('[data-test=scanner-url]', SCANNER_URL);
    await page.selectOption('[data-test=scanner-auth]', 'X-ScannerAdapter-API-Key');
    await page.fill('[data-test=scanner-credential]', 'wrong-key');
    await page.click('[data-test=scanner-test]');
    await page.locator('[data-test=scanner-dialog-error]').waitFor();
    await page.fill('[data-test=scanner-credential]', SCANNER_KEY);
    await page.click('[data-test=scanner-test]');
    await page.locator('[data-test=scanner-test-ok]').waitFor();
    eq(0, await page.locator('[data-test=scanner-dialog-error]').count(), 'error after a good test');
    await page.fill('[data-test=scanner-description]', 'registered in the browser test');
    await page.check('[data-test=scanner-skip-verify]');
    await shot(page, 'en-scanner-dialog');
    await page.click('[data-test=scanner-save]');
    await page.locator(`[data-test=scanner-row][data-name="${scannerName}"]`).waitFor();
    const s = await storedScanner();
    assert(s, 'not in the API');
    eq(
      [SCANNER_URL, 'X-ScannerAdapter-API-Key', '*****', true, 'registered in the browser test', false],
      [s.url, s.auth, s.access_credential, s.skip_certVerify, s.description, s.is_default],
      'url, auth, credential, skip_certVerify, description, default',
    );
  });
  {
    await check("the scanner's details show the adapter's metadata (name, vendor, version, capabilities) as the API gives them", async () => {
      const s = await storedScanner();
      const meta = await api('GET', `/scanners/${s.uuid}/metadata`);
      await page.click(`[data-test=scanner-row][data-name="${scannerName}"] [data-test=scanner-metadata]`);
      const dlg = page.locator('[data-test=scanner-metadata-dialog]');
      await dlg.locator('[data-test=scanner-meta-name]').waitFor();
      eq([meta.scanner.name, meta.scanner.vendor, meta.scanner.version], [(await dlg.locator('[data-test=scanner-meta-name]').textContent()).trim(), (await dlg.locator('[data-test=scanner-meta-vendor]').textContent()).trim(), (await dlg.locator('[data-test=scanner-meta-version]').textContent()).trim()], 'name, vendor, version');
      eq(meta.capabilities.length, await dlg.locator('[data-test=scanner-capabilities] tbody tr').count(), 'capabilities');
      await shot(page, 'en-scanner-metadata');
      await page.keyboard.press('Escape');
      await dlg.waitFor({ state: 'detached' });
    });
  }
  await check('editing the scanner: the dialog is prefilled; the new name reaches the API, the address and credential are kept', async () => {
    const before = await storedScanner();
    await page.click(`[data-test=scanner-row][data-name="${scannerName}"] [data-test=scanner-edit]`);
    eq([before.url, before.auth], [await page.inputValue('[data-test=scanner-url]'), await page.inputValue('[data-test=scanner-auth]')], 'prefilled url and auth');
    eq(scannerName, await page.inputValue('[data-test=scanner-name]'), 'prefilled name');
    await page.fill('[data-test=scanner-name]', `${scannerName}-renamed`);
    await page.click('[data-test=scanner-save]');
    await page.locator(`[data-test=scanner-row][data-name="${scannerName}-renamed"]`).waitFor();
    const s = await api('GET', `/scanners/${before.uuid}`);
    eq([`${scannerName}-renamed`, before.url, before.auth, before.access_credential], [s.name, s.url, s.auth, s.access_credential], 'name, url, auth, credential');
    // The stored key still works: the server reaches the adapter with it.
    await api('GET', `/scanners/${before.uuid}/metadata`);
  });
  await check('the scanner is disabled and enabled again (checked in the API each time)', async () => {
    const row = page.locator(`[data-test=scanner-row][data-name="${scannerName}-renamed"]`);
    const uuid = (await storedScanner()).uuid;
    await row.locator('[data-test=scanner-toggle]').click();
    await page.waitForFunction((u) => document.querySelector(`[data-test=scanner-row][data-uuid="${u}"] [data-test=scanner-state]`)?.textContent.trim() === 'Off', uuid);
    eq(true, (await api('GET', `/scanners/${uuid}`)).disabled, 'disabled');
    await row.locator('[data-test=scanner-toggle]').click();
    await page.waitForFunction((u) => document.querySelector(`[data-test=scanner-row][data-uuid="${u}"] [data-test=scanner-state]`)?.textContent.trim() === 'On', uuid);
    eq(false, (await api('GET', `/scanners/${uuid}`)).disabled, 'enabled');
  });
  await check('set as default: the new scanner becomes the default in the API, then the original default again', async () => {
    const uuid = (await storedScanner()).uuid;
    try {
      await page.click(`[data-test=scanner-row][data-uuid="${uuid}"] [data-test=scanner-make-default]`);
      await page.waitForFunction((u) => document.querySelector(`[data-test=scanner-row][data-uuid="${u}"] [data-test=scanner-default]`)?.textContent.trim() === 'Yes', uuid);
      eq([uuid], (await api('GET', '/scanners')).filter((s) => s.is_default).map((s) => s.uuid), 'default after setting it');
      await page.click(`[data-test=scanner-row][data-uuid="${originalDefault}"] [data-test=scanner-make-default]`);
      await page.waitForFunction((u) => document.querySelector(`[data-test=scanner-row][data-uuid="${u}"] [data-test=scanner-default]`)?.textContent.trim() === 'Yes', originalDefault);
      eq([originalDefault], (await api('GET', '/scanners')).filter((s) => s.is_default).map((s) => s.uuid), 'default after setting it back');
    } finally {
      await api('PATCH', `/scanners/${originalDefault}`, { is_default: true }).catch(() => {});
    }
  });
  await check("editing the built-in scanner shows the server's refusal; it stays unchanged", async () => {
    const before = await api('GET', '/scanners/builtin');
    await page.click('[data-test=scanner-row][data-uuid=builtin] [data-test=scanner-edit]');
    await page.fill('[data-test=scanner-name]', `changed-${RUN}`);
    await page.fill('[data-test=scanner-url]', DEAD_URL);
    await page.click('[data-test=scanner-save]');
    await page.locator('[data-test=scanner-dialog] [role=alert]').waitFor();
    await page.keyboard.press('Escape');
    eq(before.name, (await api('GET', '/scanners/builtin')).name, 'built-in name');
  });
  await check('deleting the registered scanner reaches the API', async () => {
    const uuid = (await storedScanner()).uuid;
    page.once('dialog', (d) => d.accept());
    await page.click(`[data-test=scanner-row][data-uuid="${uuid}"] [data-test=scanner-delete]`);
    await page.locator(`[data-test=scanner-row][data-uuid="${uuid}"]`).waitFor({ state: 'detached' });
    eq(undefined, await storedScanner(), 'scanner left in the API');
  });
  await check('scan all: "Scan now" starts one; its metrics (total, completed, by status) appear on the page as the API has them', async () => {
    await page.goto(`${PORTAL}/harbor/admin/vulnerability`);
    await page.locator('[data-test=scanall-metrics]').waitFor();
    // The POST must be the page's own (a scan all from earlier would show metrics too).
    const started = page.waitForResponse((r) => r.url().endsWith('/api/v2.0/system/scanAll/schedule') && r.request().method() === 'POST');
    await page.click('[data-test=scanall-now]');
    eq({ schedule: { type: 'Manual' } }, (await started).request().postDataJSON(), 'request body');
    eq(201, (await started).status(), 'status of the POST');
    await page.locator('[data-test=scanall-note]').waitFor();
    await page.waitForFunction(() => {
      const m = document.querySelector('[data-test=scanall-metrics]');
      return m && Number(m.dataset.total) > 0 && m.dataset.ongoing === 'false' && m.dataset.completed === m.dataset.total;
    }, null, { timeout: 60000 });
    const m = await api('GET', '/scans/all/metrics');
    const el = page.locator('[data-test=scanall-metrics]');
    eq([String(m.total), String(m.completed)], [await el.getAttribute('data-total'), await el.getAttribute('data-completed')], 'total and completed');
    assert(m.total >= 1 && m.trigger === 'MANUAL', `metrics: ${JSON.stringify(m)}`);
    eq(Object.keys(m.metrics).sort(), (await page.locator('[data-test=scanall-status]').evaluateAll((xs) => xs.map((x) => x.dataset.status))).sort(), 'statuses');
    await shot(page, 'en-vulnerability');
  });
  await check('scan all schedule: Daily reaches the API (with a next run shown), then None again', async () => {
    await page.selectOption('[data-test=scanall-schedule-type]', 'Daily');
    await page.click('[data-test=scanall-schedule-save]');
    await page.locator('[data-test=scanall-schedule-saved]').waitFor();
    eq('Daily', (await api('GET', '/system/scanAll/schedule')).schedule?.type, 'type after Daily');
    await page.locator('[data-test=scanall-schedule-next]').waitFor();
    await page.selectOption('[data-test=scanall-schedule-type]', 'None');
    await page.click('[data-test=scanall-schedule-save]');
    await page.waitForFunction(async () => (await (await fetch('/api/v2.0/system/scanAll/schedule')).json()).schedule?.type === 'None');
    eq('None', (await api('GET', '/system/scanAll/schedule')).schedule?.type ?? 'None', 'type after None');
  });
  await check(`quotas: ${PROJECT}'s storage limit set to 2 GiB in the page is 2147483648 in the API, then unlimited (-1)`, async () => {
    const pr = await api('GET', `/projects/${PROJECT}`);
    const quota = async () => (await api('GET', `/quotas?reference=project&reference_id=${pr.project_id}`))[0];
    await page.goto(`${PORTAL}/harbor/admin/quotas`);
    const row = page.locator(`[data-test=quota-row][data-project="${PROJECT}"]`);
    await row.waitFor();
    eq(`/harbor/projects/${pr.project_id}/repositories`, await row.locator('[data-test=quota-project]').getAttribute('href'), 'link to the project');
    await row.locator('[data-test=quota-edit]').click();
    await page.uncheck('[data-test=quota-unlimited]');
    await page.fill('[data-test=quota-limit]', '2');
    await page.selectOption('[data-test=quota-unit]', 'GiB');
    await page.click('[data-test=quota-save]');
    await page.locator('[data-test=quota-dialog]').waitFor({ state: 'detached' });
    eq(2147483648, (await quota()).hard.storage, 'hard.storage');
    await page.waitForFunction((p) => /GB|GiB/.test(document.querySelector(`[data-test=quota-row][data-project="${p}"] [data-test=quota-meter]`)?.textContent ?? ''), PROJECT);
    await shot(page, 'en-quotas');
    await row.locator('[data-test=quota-edit]').click();
    eq(['2', 'GiB'], [await page.inputValue('[data-test=quota-limit]'), await page.inputValue('[data-test=quota-unit]')], 'prefilled limit');
    await page.check('[data-test=quota-unlimited]');
    await page.click('[data-test=quota-save]');
    await page.locator('[data-test=quota-dialog]').waitFor({ state: 'detached' });
    eq(-1, (await quota()).hard.storage, 'hard.storage after unlimited');
  });
  await check('global labels: created, edited and deleted with the page (checked in /labels?scope=g each time)', async () => {
    const name = `global-${RUN}`;
    const stored = async () => (await api('GET', `/labels?scope=g&name=${encodeURIComponent('global-')}&page_size=100`)).filter((l) => l.name.startsWith(name));
    await page.goto(`${PORTAL}/harbor/admin/labels`);
    await page.click('[data-test=label-new]');
    await page.fill('[data-test=label-name]', name);
    await page.fill('[data-test=label-description]', 'for every project');
    await page.click('[data-test=label-save]');
    await page.locator(`[data-test=label-row][data-name="${name}"]`).waitFor();
    let ls = await stored();
    eq([[name, 'g', 'for every project']], ls.map((l) => [l.name, l.scope, l.description]), 'after create');
    await page.click(`[data-test=label-row][data-name="${name}"] [data-test=label-edit]`);
    eq(name, await page.inputValue('[data-test=label-name]'), 'prefilled name');
    await page.fill('[data-test=label-name]', `${name}-2`);
    await page.fill('[data-test=label-description]', 'edited');
    await page.click('[data-test=label-save]');
    await page.locator(`[data-test=label-row][data-name="${name}-2"]`).waitFor();
    ls = await stored();
    eq([[ls[0]?.id, `${name}-2`, 'g', 'edited']], ls.map((l) => [l.id, l.name, l.scope, l.description]), 'after edit');
    await shot(page, 'en-labels-global');
    page.once('dialog', (d) => d.accept());
    await page.click(`[data-test=label-row][data-name="${name}-2"] [data-test=label-delete]`);
    await page.locator(`[data-test=label-row][data-name="${name}-2"]`).waitFor({ state: 'detached' });
    eq([], await stored(), 'after delete');
  });

  // ---- replication complete, registry editing (portal-5b) ----
  const replDest = `repl-${RUN}`;
  await api('POST', '/projects', { project_name: replDest, metadata: { public: 'false' } }).catch(() => {});
  const regId = (await api('GET', '/registries?page_size=100')).find((r) => r.name === regName)?.id;
  await check('a registry endpoint is edited in its prefilled dialog; the API keeps the change and the stored secret', async () => {
    assert(regId, `registry ${regName} from the earlier check`);
    await page.goto(`${PORTAL}/harbor/admin/registries`);
    await page.click(`[data-test=registry-row][data-name="${regName}"] [data-test=registry-edit]`);
    eq(regName, await page.inputValue('[data-test=registry-name]'), 'prefilled name');
    eq(BERTH, await page.inputValue('[data-test=registry-url]'), 'prefilled address');
    eq('', await page.inputValue('[data-test=registry-secret]'), 'the secret is never shown');
    await page.fill('[data-test=registry-description]', `edited ${RUN}`);
    await page.click('[data-test=registry-test]');
    await page.locator('[data-test=registry-dialog] [data-test=note]').waitFor();
    await page.click('[data-test=registry-save]');
    await page.locator('[data-test=registry-dialog]').waitFor({ state: 'detached' });
    const r = await api('GET', `/registries/${regId}`);
    eq([`edited ${RUN}`, BERTH, ADMIN], [r.description, r.url, r.credential?.access_key], 'description, address, user in the API');
    await api('POST', '/registries/ping', { id: regId });
    await shot(page, 'en-registries');
  });
  const pushName = `push-${RUN}`;
  let pushId = null;
  await check('a push replication rule with a name and a tag filter to a new project is created in the dialog', async () => {
    await page.goto(`${PORTAL}/harbor/admin/replication`);
    await page.click('[data-test=replication-new]');
    await page.fill('[data-test=replication-name]', pushName);
    await page.fill('[data-test=replication-description]', 'to a new project');
    await page.selectOption('[data-test=replication-mode]', 'push');
    await page.selectOption('[data-test=replication-registry]', { label: regName });
    await page.fill('[data-test=replication-filter]', REPO);
    await page.fill('[data-test=replication-tag]', 'v1');
    await page.fill('[data-test=replication-dest]', replDest);
    await page.selectOption('[data-test=replication-trigger]', 'scheduled');
    await page.fill('[data-test=replication-cron]', '0 0 3 * * *');
    await page.click('[data-test=replication-save]');
    await page.locator(`[data-test=replication-row][data-name="${pushName}"]`).waitFor();
    const pol = (await api('GET', `/replication/policies?q=${encodeURIComponent(`name=${pushName}`)}`)).find((p) => p.name === pushName);
    assert(pol, 'policy in the API');
    pushId = pol.id;
    eq([null, regName, replDest, -1, 'to a new project'], [pol.src_registry, pol.dest_registry?.name, pol.dest_namespace, pol.dest_namespace_replace_count, pol.description], 'sides, namespace, flattening, description');
    eq(['scheduled', '0 0 3 * * *'], [pol.trigger.type, pol.trigger.trigger_settings?.cron], 'trigger');
    eq([{ type: 'name', value: REPO }, { type: 'tag', value: 'v1', decoration: 'matches' }], pol.filters, 'filters');
  });
  await check('editing the rule (prefilled) changes its tag filter and trigger in the API, and keeps the rest', async () => {
    await page.click(`[data-test=replication-row][data-name="${pushName}"] [data-test=replication-edit]`);
    eq(['v1', REPO, replDest, 'scheduled'], [await page.inputValue('[data-test=replication-tag]'), await page.inputValue('[data-test=replication-filter]'), await page.inputValue('[data-test=replication-dest]'), await page.inputValue('[data-test=replication-trigger]')], 'prefilled');
    await page.fill('[data-test=replication-tag]', 'latest');
    await page.selectOption('[data-test=replication-tag-decoration]', 'excludes');
    await page.selectOption('[data-test=replication-trigger]', 'manual');
    const [req] = await Promise.all([page.waitForRequest((r) => r.method() === 'PUT' && r.url().endsWith(`/replication/policies/${pushId}`)), page.click('[data-test=replication-save]')]);
    assert(req, 'PUT sent');
    await page.locator('[data-test=replication-dialog]').waitFor({ state: 'detached' });
    const pol = await api('GET', `/replication/policies/${pushId}`);
    eq([{ type: 'name', value: REPO }, { type: 'tag', value: 'latest', decoration: 'excludes' }], pol.filters, 'filters after editing');
    eq(['manual', pushName, replDest, regName, true], [pol.trigger.type, pol.name, pol.dest_namespace, pol.dest_registry?.name, pol.enabled], 'the rest');
  });
  await check('Replicate runs the rule: the run ends Succeeded, its task log has text, the destination project has v1 but not latest', async () => {
    const row = page.locator(`[data-test=replication-row][data-name="${pushName}"]`);
    await row.locator('[data-test=replication-start]').click();
    const run = page.locator(`[data-test=replication-execution][data-policy="${pushId}"]`).first();
    await run.waitFor();
    await page.locator(`[data-test=replication-execution][data-policy="${pushId}"][data-status=Succeed]`).first().waitFor({ timeout: 30000 });
    const exs = await api('GET', `/replication/executions?policy_id=${pushId}`);
    eq(['Succeed', 1, 1], [exs[0].status, exs[0].succeed, exs[0].total], 'execution in the API');
    eq('Succeeded', (await run.locator('[data-test=replication-execution-status]').textContent()).trim(), 'status shown');
    await run.locator('[data-test=replication-tasks-toggle]').click();
    await page.locator('[data-test=replication-task]').first().waitFor();
    await page.locator('[data-test=replication-task-log]').first().click();
    await page.locator('[data-test=replication-log] [data-test=text-log]').waitFor();
    const log = await page.locator('[data-test=replication-log] [data-test=text-log]').textContent();
    assert(/copied/.test(log), `log: ${log.slice(0, 200)}`);
    await shot(page, 'en-replication-log');
    await page.keyboard.press('Escape');
    const arts = await api('GET', `/projects/${replDest}/repositories/app/artifacts?with_tag=true`);
    const tags = arts.flatMap((a) => (a.tags ?? []).map((x) => x.name));
    assert(tags.includes('v1') && !tags.includes('latest'), `tags replicated (v1, not the excluded latest): ${tags}`);
    await shot(page, 'en-replication');
  });
  await check('deleting the rule reaches the API', async () => {
    page.once('dialog', (d) => d.accept());
    await page.click(`[data-test=replication-row][data-name="${pushName}"] [data-test=replication-delete]`);
    await page.locator(`[data-test=replication-row][data-name="${pushName}"]`).waitFor({ state: 'detached' });
    const res = await fetch(`${BERTH}/api/v2.0/replication/policies/${pushId}`, { headers: { Authorization: basic(ADMIN, ADMIN_PW) } });
    eq(404, res.status, 'GET of the deleted policy');
  });
  await check('Stop on a running run sends PUT /replication/executions/{id}, answered 200; the run ends stopped (or had finished)', async () => {
    const name = `slow-${RUN}`;
    await page.click('[data-test=replication-new]');
    await page.fill('[data-test=replication-name]', name);
    await page.selectOption('[data-test=replication-registry]', { label: regName });
    await page.fill('[data-test=replication-filter]', `${PROJECT}/**`);
    await page.fill('[data-test=replication-dest]', replDest);
    await page.selectOption('[data-test=replication-flatten]', '0');
    await page.fill('[data-test=replication-speed]', '150');
    await page.click('[data-test=replication-save]');
    const row = page.locator(`[data-test=replication-row][data-name="${name}"]`);
    await row.waitFor();
    const pol = (await api('GET', `/replication/policies?q=${encodeURIComponent(`name=${name}`)}`)).find((p) => p.name === name);
    eq([150, 0], [pol.speed, pol.dest_namespace_replace_count], 'speed and flattening in the API');
    await row.locator('[data-test=replication-start]').click();
    const stop = page.locator(`[data-test=replication-execution][data-policy="${pol.id}"] [data-test=replication-stop]`).first();
    await stop.waitFor();
    const [res] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'PUT' && /\/replication\/executions\/\d+$/.test(r.url())), stop.click()]);
    eq(200, res.status(), 'PUT answered');
    const exId = Number(res.url().split('/').pop());
    let ex = null;
    for (let i = 0; i < 60; i++) {
      ex = await api('GET', `/replication/executions/${exId}`);
      if (ex.status !== 'InProgress') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // A running task learns of the stop at its next lease renewal, so a short copy may finish first.
    assert(ex.status === 'Stopped' || ex.status === 'Succeed', `execution after Stop: ${JSON.stringify(ex)}`);
    await page.locator(`[data-test=replication-execution][data-id="${exId}"]:not([data-status=InProgress])`).waitFor();
    page.once('dialog', (d) => d.accept());
    await row.locator('[data-test=replication-delete]').click();
    await row.waitFor({ state: 'detached' });
  });
  // ---- a Helm chart pushed with helm: type, README, values, dependencies, helm pull (portal-5c) ----
  let chartUrl = null;
  {
    const [chartRepo, chartVersion] = CHART.split(':');
    const chartPath = `/projects/${PROJECT}/repositories/${encodeURIComponent(encodeURIComponent(chartRepo.slice(PROJECT.length + 1)))}/artifacts/${chartVersion}`;
    const addition = async (name) => {
      const res = await fetch(`${BERTH}/api/v2.0${chartPath}/additions/${name}`, { headers: { Authorization: basic(ADMIN, ADMIN_PW) } });
      if (!res.ok) throw new Error(`GET additions/${name} -> ${res.status} ${await res.text()}`);
      return res.text();
    };
    await check(`the chart pushed with helm (${CHART}) is listed in its repository as a Chart tagged with its version`, async () => {
      const art = await api('GET', chartPath);
      eq('CHART', art.type, 'type in the API');
      await page.goto(`${PORTAL}/harbor/projects`);
      await page.fill('[data-test=project-search]', PROJECT);
      await page.locator(`[data-test=project-row][data-name="${PROJECT}"] [data-test=project-link]`).click();
      await page.locator(`[data-test=repo-row][data-name="${chartRepo}"] [data-test=repo-link]`).click();
      const row = page.locator(`[data-test=artifact-row][data-digest="${art.digest}"]`);
      await row.waitFor();
      eq([chartVersion], (await row.locator('[data-test=tag]').allTextContents()).map((x) => x.trim()), 'tags');
      const listed = (await row.locator('[data-test=artifact-type]').textContent({ timeout: 2000 }).catch(() => '(no type cell)')).trim();
      await row.locator('[data-test=artifact-link]').click();
      await page.locator('[data-test=artifact-digest]').waitFor();
      eq(art.digest, (await page.locator('[data-test=artifact-digest]').textContent()).trim(), 'digest on the artifact page');
      chartUrl = page.url(); // the checks below need the page, whatever the type cells say
      eq('Chart', listed, 'type column');
      eq('Chart', (await page.locator('[data-test=artifact-type]').textContent()).trim(), 'type on the artifact page');
    });
    await check("the chart's README is shown as the API's readme.md, heading included", async () => {
      assert(chartUrl, 'the chart page was not reached');
      const readme = await addition('readme.md');
      assert(readme.includes('# Berth demo chart'), `readme.md from the API: ${readme}`);
      const shown = page.locator('[data-test=chart-readme-text]');
      await shown.waitFor();
      await page.getByText('# Berth demo chart').waitFor();
      eq(readme.trim(), (await shown.textContent()).trim(), 'README on the page');
    });
    await check("the chart's values are shown as the API's values.yaml (its keys visible)", async () => {
      assert(chartUrl, 'the chart page was not reached');
      const values = await addition('values.yaml');
      assert(/^replicaCount: 2$/m.test(values), `values.yaml from the API: ${values}`);
      const shown = page.locator('[data-test=chart-values-text]');
      await shown.waitFor();
      eq(values.trim(), (await shown.textContent()).trim(), 'values on the page');
      assert(await page.getByText('replicaCount: 2', { exact: false }).isVisible(), 'replicaCount is not visible');
    });
    await check("the dependencies table lists the chart's dependency as the API does (name, version, repository)", async () => {
      assert(chartUrl, 'the chart page was not reached');
      const deps = JSON.parse(await addition('dependencies'));
      eq([['redis', '1.2.3', 'https://charts.example.com/stable']], deps.map((d) => [d.name, d.version, d.repository]), 'dependencies in the API');
      const row = page.locator('[data-test=chart-dependencies] [data-test=dependency-row]');
      await row.first().waitFor();
      eq(1, await row.count(), 'dependency rows');
      eq(['redis', '1.2.3', 'https://charts.example.com/stable'], (await row.first().locator('td').allTextContents()).map((x) => x.trim()), 'dependency row');
      eq(0, await page.locator('[data-test=build-history]').count(), 'no build history for a chart');
    });
    await check('the pull command offered for the chart is helm pull oci://HOST/REPO --version VERSION (no docker pull)', async () => {
      assert(chartUrl, 'the chart page was not reached');
      const host = new URL(PORTAL).host;
      eq(`helm pull oci://${host}/${chartRepo} --version ${chartVersion}`, (await page.locator('[data-test=pull-helm]').textContent()).trim(), 'helm command');
      eq(0, await page.locator('[data-test=pull-docker]').count(), 'docker pull for a chart');
      await settle(page);
      eq(0, await page.locator('main [role=alert]').count(), 'error boxes on the page');
      await page.locator('[data-test=chart-readme]').scrollIntoViewIfNeeded();
      await shot(page, 'en-artifact-chart');
    });
  }

  // ---- configuration as the server reports it, LDAP test and groups without LDAP (portal-5d) ----
  await check('configuration: a setting the server does not report is not shown; token_expiration (reported, not editable) is disabled with the hint; Save only on the system form', async () => {
    const before = await api('GET', '/configurations');
    await page.goto(`${PORTAL}/harbor/admin/config`);
    await page.locator('[data-test=config-form]').waitFor();
    const byKey = { session_timeout: 'config-session_timeout', robot_token_duration: 'config-robot-days', robot_name_prefix: 'config-robot_name_prefix', audit_log_forward_endpoint: 'config-audit_log_forward_endpoint', skip_audit_log_database: 'config-skip_audit_log_database', self_registration: 'config-self_registration', token_expiration: 'config-token-minutes' };
    const shown = {};
    for (const [k, test] of Object.entries(byKey)) shown[k] = (await page.locator(`[data-test=${test}]`).count()) === 1;
    eq(Object.fromEntries(Object.keys(byKey).map((k) => [k, k in before])), shown, 'fields shown exactly for the reported keys');
    assert(Object.keys(byKey).some((k) => !(k in before)), 'the server reports every one of these keys: the check of an unreported key needs another one');
    assert(before.token_expiration && before.token_expiration.editable === false, `token_expiration in the API: ${JSON.stringify(before.token_expiration)}`);
    const token = page.locator('[data-test=config-token-minutes]');
    eq(true, await token.isDisabled(), 'token_expiration disabled');
    eq(String(before.token_expiration.value), await token.inputValue(), 'token_expiration value');
    eq('set in the server configuration', (await page.locator('label.field', { has: token }).locator('.hint').textContent()).trim(), 'hint');
    eq(1, await page.locator('[data-test=config-save]').count(), 'Save on the system form (read_only is editable)');
  });
  await check('configuration: the authentication mode as reported (disabled, hint), no Save on the authentication form; without LDAP and OIDC a note says where they are set', async () => {
    const before = await api('GET', '/configurations');
    const mode = page.locator('[data-test=config-auth-mode]');
    eq(before.auth_mode.value, await mode.inputValue(), 'mode shown');
    eq(true, before.auth_mode.editable === false && (await mode.isDisabled()), 'mode disabled (the API says not editable)');
    eq('set in the server configuration', (await page.locator('label.field', { has: mode }).locator('.hint').textContent()).trim(), 'hint');
    assert(Object.keys(before).every((k) => !/^(auth_mode|ldap_|oidc_)/.test(k) || before[k].editable === false), 'an authentication key is editable in the API');
    eq(0, await page.locator('[data-test=config-auth-save]').count(), 'Save on the authentication form');
    for (const [d, key, section] of [['config-ldap', 'ldap_url', '[ldap]'], ['config-oidc', 'oidc_endpoint', '[oidc]']]) {
      const el = page.locator(`[data-test=${d}]`);
      if (!(await el.evaluate((x) => x.open))) await el.locator('summary').click();
      const note = (await page.locator(`[data-test=${d}-note]`).textContent()).trim();
      assert(note.includes(section) && note.includes('auth_mode'), `${d} note: ${note}`);
      eq(0, await page.locator(`[data-test=config-${key}]`).count(), `${key} field on a server that does not report it`);
    }
    await shot(page, 'en-config-auth');
  });
  await check('Test LDAP server with ldap://127.0.0.1:1 posts the settings as LdapConf (no password typed, none sent); the 200 {success:false} shows as an error with its message', async () => {
    eq('', await page.inputValue('[data-test=config-ldap-try-url]'), 'URL prefilled from nothing');
    await page.fill('[data-test=config-ldap-try-url]', 'ldap://127.0.0.1:1');
    await page.fill('[data-test=config-ldap-try-base-dn]', 'dc=example,dc=com');
    await page.fill('[data-test=config-ldap-try-uid]', 'uid');
    const [res] = await Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/v2.0/ldap/ping')), page.click('[data-test=config-ldap-ping]')]);
    const body = res.request().postDataJSON();
    eq(['ldap://127.0.0.1:1', 'dc=example,dc=com', 'uid', 2, 5, true], [body.ldap_url, body.ldap_base_dn, body.ldap_uid, body.ldap_scope, body.ldap_connection_timeout, body.ldap_verify_cert], 'sent settings');
    assert(!('ldap_search_password' in body), 'a password was sent though none was typed');
    eq(200, res.status(), 'status');
    const answer = await res.json();
    eq(false, answer.success, 'success in the answer');
    const err = (await page.locator('[data-test=config-ldap-ping-error]').textContent()).trim();
    assert(answer.message?.trim() && err.includes(answer.message.trim()), `error shown: ${err}; answer: ${answer.message}`);
    eq(0, await page.locator('[data-test=config-ldap-ping-ok]').count(), 'a success note');
  });
  await check('without LDAP: no "Import from LDAP" on the Users page (the API answers 412), no directory search in the new-group dialog, and an LDAP group keeps the DN typed', async () => {
    const res = await fetch(`${BERTH}/api/v2.0/ldap/users/search?username=a`, { headers: { Authorization: basic(ADMIN, ADMIN_PW) } });
    eq(412, res.status, 'GET /ldap/users/search');
    await page.goto(`${PORTAL}/harbor/admin/users`);
    await page.locator('[data-test=user-row]').first().waitFor();
    eq(0, await page.locator('[data-test=ldap-import]').count(), 'Import from LDAP button');
    await page.goto(`${PORTAL}/harbor/admin/groups`);
    await page.click('[data-test=group-new]');
    await page.selectOption('[data-test=group-type]', '1');
    await page.locator('[data-test=group-dn]').waitFor();
    eq(0, await page.locator('[data-test=ldap-group-finder]').count(), 'directory search');
    const name = `ldapg-${RUN}`;
    await page.fill('[data-test=group-name]', name);
    await page.fill('[data-test=group-dn]', `cn=${name},dc=example,dc=com`);
    await page.click('[data-test=group-save]');
    await page.locator(`[data-test=group-row][data-name="${name}"]`).waitFor();
    const gs = await api('GET', `/usergroups?q=${encodeURIComponent(`group_name=~${name}`)}`);
    eq([[name, 1, `cn=${name},dc=example,dc=com`]], gs.map((g) => [g.group_name, g.group_type, g.ldap_group_dn]), 'group in the API');
    await api('DELETE', `/usergroups/${gs[0].id}`);
  });

  // ---- language ------------------------------------------------------------------------------
  const pages = [
    ['projects', '/harbor/projects'],
    ['project-repositories', `/harbor/projects/${newProjectId}/repositories`],
    ['project-members', `/harbor/projects/${newProjectId}/members`],
    ['project-robots', `/harbor/projects/${newProjectId}/robots`],
    ['project-logs', `/harbor/projects/${newProjectId}/logs`],
    ['project-configuration', `/harbor/projects/${newProjectId}/configuration`],
    ['project-labels', `/harbor/projects/${projectId}/labels`],
    ['project-policies', `/harbor/projects/${projectId}/policies`],
    ['repository', null],
    ['artifact', null],
    ['admin-users', '/harbor/admin/users'],
    ['admin-groups', '/harbor/admin/groups'],
    ['admin-robots', '/harbor/admin/robots'],
    ['admin-registries', '/harbor/admin/registries'],
    ['admin-replication', '/harbor/admin/replication'],
    ['admin-scanners', '/harbor/admin/scanners'],
    ['admin-vulnerability', '/harbor/admin/vulnerability'],
    ['admin-quotas', '/harbor/admin/quotas'],
    ['admin-labels', '/harbor/admin/labels'],
    ['admin-gc', '/harbor/admin/gc'],
    ['admin-audit', '/harbor/admin/audit'],
    ['admin-config', '/harbor/admin/config'],
    ['search', `/harbor/search?q=${encodeURIComponent(PROJECT)}`],
    ['profile', '/harbor/profile'],
    ['artifact-index', indexUrl],
    ['artifact-chart', chartUrl && new URL(chartUrl).pathname],
  ];
  if (artifactUrl) {
    pages[9][1] = new URL(artifactUrl).pathname;
    pages[8][1] = new URL(artifactUrl).pathname.replace(/\/artifacts\/[^/]+$/, '');
  }
  await check('the untranslated-text check finds English on an English page (it can fail)', async () => {
    await page.goto(`${PORTAL}/harbor/projects`);
    const words = await untranslated(page);
    assert(words.includes('Projects'), `words: ${words}`);
  });
  await check('switching to 简体中文 translates the page and is remembered after a reload', async () => {
    await page.goto(`${PORTAL}/harbor/projects`);
    await page.selectOption('[data-test=lang]', 'zh');
    eq('项目', (await page.locator('h1').first().textContent()).trim(), 'heading');
    await page.reload();
    eq('项目', (await page.locator('h1').first().textContent()).trim(), 'heading after reload');
    eq('zh', await page.evaluate(() => localStorage.getItem('berth.lang')), 'stored choice');
    const date = (await page.locator('[data-test=project-row] time').first().textContent()).trim();
    assert(/^\d{4}年\d{1,2}月\d{1,2}日/.test(date), `date in Chinese: ${date}`);
  });
  for (const [name, path] of pages) {
    await check(`no untranslated English on the ${name} page in Chinese (${path ?? 'not reached'})`, async () => {
      assert(path, `the ${name} page was not reached by an earlier check`);
      await page.goto(`${PORTAL}${path}`);
      await page.locator('[data-test=current-user]').waitFor();
      await page.locator('main h1').first().waitFor();
      eq(0, await page.locator('main [role=alert]').count(), 'error boxes on the page');
      eq([], await untranslated(page), 'untranslated words');
      await shot(page, `zh-${name}`);
    });
  }
  await check('the retention schedule with a custom cron is translated too', async () => {
    await page.goto(`${PORTAL}/harbor/projects/${projectId}/policies`);
    await page.selectOption('[data-test=retention-schedule-type]', 'Custom');
    await page.locator('[data-test=retention-schedule-cron]').waitFor();
    eq([], await untranslated(page), 'untranslated words');
  });
  await check('dialogs are translated too (new project, new robot, add member, new user, retention and immutability rules, webhook, editing an immutability rule and a webhook, label, system robot, registry, replication rule, group, new scanner, scanner details, project quota, global label)', async () => {
    const bad = [];
    for (const [path, button] of [
      ['/harbor/projects', 'project-new'],
      [`/harbor/projects/${newProjectId}/robots`, 'robot-new'],
      [`/harbor/projects/${newProjectId}/members`, 'member-add'],
      ['/harbor/admin/users', 'user-new'],
      [`/harbor/projects/${projectId}/policies`, 'retention-add'],
      [`/harbor/projects/${projectId}/policies`, 'immutable-add'],
      [`/harbor/projects/${projectId}/policies`, 'webhook-add'],
      [`/harbor/projects/${projectId}/policies`, 'immutable-edit'],
      [`/harbor/projects/${projectId}/policies`, 'webhook-edit'],
      [`/harbor/projects/${projectId}/labels`, 'label-new'],
      ['/harbor/admin/robots', 'sysrobot-new'],
      ['/harbor/admin/registries', 'registry-new'],
      ['/harbor/admin/replication', 'replication-new'],
      ['/harbor/admin/replication', 'replication-edit'],
      ['/harbor/admin/registries', 'registry-edit'],
      ['/harbor/admin/groups', 'group-new'],
      ['/harbor/admin/scanners', 'scanner-new'],
      ['/harbor/admin/scanners', 'scanner-metadata'],
      ['/harbor/admin/quotas', 'quota-edit'],
      ['/harbor/admin/labels', 'label-new'],
    ]) {
      await page.goto(`${PORTAL}${path}`);
      await page.click(`[data-test=${button}]`);
      await page.locator('[role=dialog]').waitFor();
      bad.push(...(await untranslated(page)));
    }
    eq([], bad, 'untranslated words');
  });
  await check('in Chinese: a replication run with its tasks and a task log, and the LDAP and OIDC settings are translated (portal-5b)', async () => {
    await page.goto(`${PORTAL}/harbor/admin/replication`);
    await page.locator('[data-test=replication-execution]').first().waitFor();
    await page.locator('[data-test=replication-tasks-toggle]').first().click();
    await page.locator('[data-test=replication-task]').first().waitFor();
    const bad = await untranslated(page);
    await shot(page, 'zh-replication-runs');
    await page.locator('[data-test=replication-task-log]').first().click();
    await page.locator('[data-test=replication-log] [data-test=text-log]').waitFor();
    bad.push(...(await untranslated(page)));
    await page.goto(`${PORTAL}/harbor/admin/config`);
    for (const d of ['config-ldap', 'config-oidc']) {
      const el = page.locator(`[data-test=${d}]`);
      if (!(await el.evaluate((x) => x.open))) await el.locator('summary').click();
    }
    bad.push(...(await untranslated(page)));
    await shot(page, 'zh-config-auth');
    eq([], bad, 'untranslated words');
  });
  await page.goto(`${PORTAL}/harbor/projects`);
  await page.selectOption('[data-test=lang]', 'en');
  await check('back in English the heading and the dates follow the locale', async () => {
    await page.locator('[data-test=project-row]').first().waitFor();
    eq('Projects', (await page.locator('h1').first().textContent()).trim(), 'heading');
    const date = (await page.locator('[data-test=project-row] time').first().textContent()).trim();
    assert(/^[A-Z][a-z]{2} \d{1,2}, \d{4}/.test(date), `date in English: ${date}`);
  });

  await check('deleting a project with repositories shows the API refusal; an empty one is deleted', async () => {
    const pr = await api('GET', `/projects/${PROJECT}`);
    await page.goto(`${PORTAL}/harbor/projects/${pr.project_id}/configuration`);
    page.once('dialog', (d) => d.accept());
    await page.click('[data-test=project-delete]');
    await page.locator('[data-test=project-delete-error]').waitFor();
    await api('GET', `/projects/${PROJECT}`);
    await api('POST', '/projects', { project_name: `gone-${RUN}`, metadata: { public: 'false' } });
    const gone = await api('GET', `/projects/gone-${RUN}`);
    await page.goto(`${PORTAL}/harbor/projects/${gone.project_id}/configuration`);
    page.once('dialog', (d) => d.accept());
    await page.click('[data-test=project-delete]');
    await page.waitForURL(/\/harbor\/projects$/);
    const res = await fetch(`${BERTH}/api/v2.0/projects/gone-${RUN}`, { headers: { Authorization: basic(ADMIN, ADMIN_PW) } });
    eq(404, res.status, 'GET of the deleted project');
  });

  // ---- CSRF and cookie -----------------------------------------------------------------------
  await check('the sid cookie is HttpOnly and SameSite', async () => {
    const sid = (await adminCtx.cookies(PORTAL)).find((c) => c.name === 'sid');
    assert(sid, 'no sid cookie');
    eq(true, sid.httpOnly, 'httpOnly');
    assert(sid.sameSite === 'Lax' || sid.sameSite === 'Strict', `sameSite ${sid.sameSite}`);
  });
  await check('a cross-site POST with the cookie but without the CSRF header is refused (403)', async () => {
    const res = await adminCtx.request.post(`${PORTAL}/api/v2.0/projects`, {
      headers: { Origin: 'http://evil.example', 'Content-Type': 'application/json' },
      data: { project_name: `csrf-${RUN}`, metadata: { public: 'false' } },
      failOnStatusCode: false,
    });
    eq(403, res.status(), 'status');
    const body = await res.json().catch(() => ({}));
    const e = body.errors?.[0] ?? {};
    assert(/CSRF token invalid/.test(e.message ?? ''), `error message: ${JSON.stringify(body)}`);
    if (e.code !== 'FORBIDDEN') console.log(`     # note: the refusal's code is ${e.code}; the session contract (and Harbor) say FORBIDDEN`);
    const gone = await fetch(`${BERTH}/api/v2.0/projects?project_name=csrf-${RUN}`, { method: 'HEAD', headers: { Authorization: basic(ADMIN, ADMIN_PW) } });
    eq(404, gone.status, 'the project was not created');
  });
  await check('the same POST with the CSRF token the app echoes is accepted', async () => {
    const got = await adminCtx.request.get(`${PORTAL}/api/v2.0/users/current`);
    const token = got.headers()['x-harbor-csrf-token'];
    assert(token, 'no X-Harbor-CSRF-Token on an authenticated GET');
    const res = await adminCtx.request.post(`${PORTAL}/api/v2.0/projects`, {
      headers: { 'X-Harbor-CSRF-Token': token, 'Content-Type': 'application/json' },
      data: { project_name: `csrf-${RUN}`, metadata: { public: 'false' } },
      failOnStatusCode: false,
    });
    eq(201, res.status(), 'status');
  });

  // ---- sign out ------------------------------------------------------------------------------
  const before = (await adminCtx.cookies(PORTAL)).find((c) => c.name === 'sid');
  await check('signing out shows the sign-in form again', async () => {
    await page.goto(`${PORTAL}/harbor/projects`);
    await page.click('[data-test=signout]');
    await page.locator('[data-test=signin-form]').waitFor();
    eq(0, await page.locator('[data-test=current-user]').count(), 'header user');
  });
  await check('after signing out the API answers 401 to the old cookie', async () => {
    assert(before, 'there was no sid cookie before signing out');
    const res = await fetch(`${BERTH}/api/v2.0/users/current`, { headers: { Cookie: `sid=${before.value}` } });
    eq(401, res.status, 'status');
  });
  await check('after signing out a reload still shows the sign-in form', async () => {
    await page.reload();
    await page.locator('[data-test=signin-form]').waitFor();
  });
  await shot(page, 'en-signin');

  await check('no uncaught errors in the page', async () => eq([], consoleErrors, 'page errors'));
} finally {
  await browser.close().catch(() => {});
}

process.exit(summary('portal browser'));
