// Browser test of the portal against a Berth in ldap_auth mode and a real OpenLDAP directory (slapd
// from tests/lib/ldap.sh: users alice, bob, carol, dave; groups devs and berth-admins under
// ou=groups), in headless Chromium. Run by tests/e2e/portal.sh, which starts both and sets:
//   LDAP_PORTAL_URL  where the browser opens the portal: that Berth, or the dev server in front of it
//   LDAP_BERTH_URL   the Berth in ldap_auth mode (API calls made by the test)
//   LDAP_URL, LDAP_BASE_DN, LDAP_BIND_DN  the directory, as in that Berth's configuration file
//   ADMIN_USER, ADMIN_PASSWORD  that Berth's local administrator
//   PORTAL_SCREENSHOTS, PLAYWRIGHT_CORE, CHROMIUM  as for portal.test.mjs
// The configuration page's read-only LDAP settings and "Test LDAP server", importing users from the
// directory, a group picked from the directory, a member imported on the way, and a directory
// user's sign-in with the form. Prints "portal ldap: N passed, M failed".
import { RUN, apiClient, assert, check, env, eq, launchBrowser, newContext, settle, shot, signIn, summary, untranslated } from './lib.mjs';

const PORTAL = env('LDAP_PORTAL_URL').replace(/\/$/, '');
const BERTH = env('LDAP_BERTH_URL').replace(/\/$/, '');
const LDAP_URL = env('LDAP_URL');
const BASE = env('LDAP_BASE_DN');
const BIND_DN = env('LDAP_BIND_DN');
const ADMIN = env('ADMIN_USER', 'admin');
const ADMIN_PW = env('ADMIN_PASSWORD');
const api = apiClient(BERTH, [ADMIN, ADMIN_PW]);
const DEVS_DN = `cn=devs,ou=groups,${BASE}`;

console.log(`# portal ${PORTAL}, berth ${BERTH} (ldap_auth), directory ${LDAP_URL}`);
const browser = await launchBrowser();
const ctx = await newContext(browser);
const page = await ctx.newPage();
const consoleErrors = [];
page.on('pageerror', (e) => consoleErrors.push(String(e)));
const ping = () => Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/v2.0/ldap/ping')), page.click('[data-test=config-ldap-ping]')]).then(([r]) => r);
const importDialog = async (uid, row = uid) => {
  await page.goto(`${PORTAL}/harbor/admin/users`);
  await page.click('[data-test=ldap-import]');
  await page.locator('[data-test=ldap-import-dialog]').waitFor();
  await page.fill('[data-test=ldap-user-query]', uid);
  await page.click('[data-test=ldap-user-search]');
  await page.locator(`[data-test=ldap-user-row][data-name="${row}"]`).waitFor();
};
const importClick = () => Promise.all([page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/v2.0/ldap/users/import')), page.click('[data-test=ldap-import-submit]')]).then(([r]) => r);

try {
  await check(`Berth is in ldap_auth mode with the directory at ${LDAP_URL}`, async () => {
    eq('ldap_auth', (await (await fetch(`${BERTH}/api/v2.0/systeminfo`)).json()).auth_mode, 'auth_mode');
    const c = await api('GET', '/configurations');
    eq([LDAP_URL, BIND_DN, true], [c.ldap_url?.value, c.ldap_search_dn?.value, c.ldap_search_password_set?.value], 'reported LDAP settings');
  });
  await check(`signed in as ${ADMIN}, the configuration page shows the reported LDAP settings read-only, the password as set, and no Save for them`, async () => {
    await signIn(page, PORTAL, ADMIN, ADMIN_PW);
    await page.goto(`${PORTAL}/harbor/admin/config`);
    await page.locator('[data-test=config-ldap]').waitFor();
    eq(true, await page.locator('[data-test=config-ldap]').evaluate((d) => d.open), 'LDAP section open');
    const c = await api('GET', '/configurations');
    for (const k of ['ldap_url', 'ldap_search_dn', 'ldap_base_dn', 'ldap_filter', 'ldap_uid', 'ldap_group_base_dn', 'ldap_group_admin_dn']) {
      const f = page.locator(`[data-test=config-${k}]`);
      eq([String(c[k].value), true], [await f.inputValue(), await f.isDisabled()], `${k} value and disabled`);
    }
    eq('2', await page.inputValue('[data-test=config-ldap_scope]'), 'scope (subtree)');
    const pw = page.locator('[data-test=config-ldap_search_password_set]');
    eq(['set', 'true', true], [await pw.inputValue(), await pw.getAttribute('data-value'), await pw.isDisabled()], 'search password');
    eq(0, await page.locator('[data-test=config-ldap-note]').count(), 'the "set in the configuration file" note while LDAP is reported');
    eq(1, await page.locator('[data-test=config-oidc-note]').count(), 'the OIDC note (no OIDC here)');
    eq(0, await page.locator('[data-test=config-auth-save]').count(), 'Save on the authentication form');
    eq('ldap_auth', await page.inputValue('[data-test=config-auth-mode]'), 'mode');
    await shot(page, 'en-config-ldap');
  });
  await check('"Test LDAP server" with the prefilled settings succeeds: no password sent, the configured one is used for the configured address and DN', async () => {
    eq([LDAP_URL, BIND_DN, ''], [await page.inputValue('[data-test=config-ldap-try-url]'), await page.inputValue('[data-test=config-ldap-try-search-dn]'), await page.inputValue('[data-test=config-ldap-try-password]')], 'prefilled');
    const res = await ping();
    const body = res.request().postDataJSON();
    eq([LDAP_URL, BIND_DN, `ou=people,${BASE}`, 'uid'], [body.ldap_url, body.ldap_search_dn, body.ldap_base_dn, body.ldap_uid], 'sent settings');
    assert(!('ldap_search_password' in body), 'a password was sent');
    const answer = await res.json();
    eq(true, answer.success, `success (${answer.message})`);
    const note = (await page.locator('[data-test=config-ldap-ping-ok]').textContent()).trim();
    assert(answer.message.trim() && note.includes(answer.message.trim()), `note: ${note}`);
  });
  await check('"Test LDAP server" with a wrong password typed shows the directory\'s refusal', async () => {
    await page.fill('[data-test=config-ldap-try-password]', 'not-the-password');
    const res = await ping();
    eq('not-the-password', res.request().postDataJSON().ldap_search_password, 'typed password sent');
    const answer = await res.json();
    eq(false, answer.success, 'success');
    const err = (await page.locator('[data-test=config-ldap-ping-error]').textContent()).trim();
    assert(answer.message.trim() && err.includes(answer.message.trim()), `error: ${err}; answer ${answer.message}`);
    eq(0, await page.locator('[data-test=config-ldap-ping-ok]').count(), 'the earlier success note');
  });

  // ---- users imported from the directory ------------------------------------------------------
  await check('Users → "Import from LDAP": dave is found (name and email as the API gives them), imported, listed, and the API has him with source ldap', async () => {
    const before = await api('GET', '/users/search?username=dave');
    eq([], before.filter((u) => u.username === 'dave'), 'dave before the import');
    await importDialog('dave');
    const dir = (await api('GET', '/ldap/users/search?username=dave')).find((u) => u.username === 'dave');
    const row = page.locator('[data-test=ldap-user-row][data-name="dave"]');
    eq(['dave', dir.realname, dir.email], (await row.locator('td').allTextContents()).slice(1).map((x) => x.trim()), 'row');
    await row.locator('[data-test=ldap-user-pick]').check();
    await shot(page, 'en-ldap-import');
    const res = await importClick();
    eq({ ldap_uid_list: ['dave'] }, res.request().postDataJSON(), 'request');
    eq(200, res.status(), 'status');
    await page.locator('[data-test=ldap-import-dialog]').waitFor({ state: 'detached' });
    await page.locator('[data-test=user-row][data-name="dave"]').waitFor();
    const u = (await api('GET', '/users/search?username=dave')).find((x) => x.username === 'dave');
    eq('ldap', u?.source, 'source');
  });
  await check('importing dave again shows which uid failed and why (the 404 answer), and the dialog stays', async () => {
    await importDialog('dave');
    await page.locator('[data-test=ldap-user-row][data-name="dave"] [data-test=ldap-user-pick]').check();
    const res = await importClick();
    eq(404, res.status(), 'status');
    const failed = await res.json();
    eq(['dave'], failed.map((f) => f.uid), 'failed uids in the answer');
    const li = page.locator('[data-test=ldap-import-failure][data-uid="dave"]');
    const text = (await li.textContent()).trim();
    assert(text.includes('dave') && text.includes(failed[0].error), `shown: ${text}; answer: ${failed[0].error}`);
    eq(1, await page.locator('[data-test=ldap-import-dialog]').count(), 'dialog still open');
    await page.keyboard.press('Escape');
  });

  // ---- a group picked from the directory ------------------------------------------------------
  await check('Groups → new: the directory search finds devs by name, picking it fills the name and DN, and the group is created with that DN', async () => {
    await page.goto(`${PORTAL}/harbor/admin/groups`);
    await page.click('[data-test=group-new]');
    await page.locator('[data-test=group-mode-hint]').waitFor();
    eq('1', await page.inputValue('[data-test=group-type]'), 'LDAP by default');
    await page.fill('[data-test=ldap-group-query]', 'dev');
    await page.click('[data-test=ldap-group-search]');
    const pick = page.locator('[data-test=ldap-group-pick][data-name="devs"]');
    await pick.waitFor();
    await pick.click();
    eq(['devs', DEVS_DN], [await page.inputValue('[data-test=group-name]'), await page.inputValue('[data-test=group-dn]')], 'name and DN filled');
    await page.click('[data-test=group-save]');
    await page.locator('[data-test=group-row][data-name="devs"]').waitFor();
    const gs = (await api('GET', `/usergroups?q=${encodeURIComponent('group_name=~devs')}`)).filter((g) => g.group_name === 'devs');
    eq([[1, DEVS_DN]], gs.map((g) => [g.group_type, g.ldap_group_dn]), 'devs in /usergroups');
  });
  await check('a DN typed by hand that the directory does not have is refused with "not found in the directory", and nothing is created', async () => {
    const name = `ghost-${RUN}`;
    const dn = `cn=${name},ou=groups,${BASE}`;
    await page.click('[data-test=group-new]');
    await page.fill('[data-test=group-name]', name);
    await page.fill('[data-test=group-dn]', dn);
    const [res] = await Promise.all([page.waitForResponse((r) => r.url().includes('/ldap/groups/search?groupdn=')), page.click('[data-test=group-save]')]);
    eq(dn, new URL(res.url()).searchParams.get('groupdn'), 'DN looked up');
    const err = (await page.locator('[data-test=group-dialog] [data-test=error]').textContent()).trim();
    assert(err.includes('not found in the directory'), `error: ${err}`);
    eq([], (await api('GET', `/usergroups?q=${encodeURIComponent(`group_name=~${name}`)}`)).map((g) => g.group_name), 'groups named so');
    await page.keyboard.press('Escape');
  });

  // ---- a member imported from the directory ---------------------------------------------------
  await check('Members → add bob (not in Berth yet): he is imported from the directory and added (both in the API)', async () => {
    const pname = `ldapp-${RUN}`;
    await api('POST', '/projects', { project_name: pname, metadata: { public: 'false' } });
    const pr = await api('GET', `/projects/${pname}`);
    eq([], (await api('GET', '/users/search?username=bob')).filter((u) => u.username === 'bob'), 'bob before');
    await page.goto(`${PORTAL}/harbor/projects/${pr.project_id}/members`);
    await page.click('[data-test=member-add]');
    await page.fill('[data-test=member-username]', 'bob');
    await page.click('[data-test=member-save]');
    await page.locator('[data-test=member-dialog]').waitFor({ state: 'detached' });
    eq('ldap', (await api('GET', '/users/search?username=bob')).find((u) => u.username === 'bob')?.source, 'bob imported');
    const members = await api('GET', `/projects/${pname}/members`);
    assert(members.some((m) => m.entity_name === 'bob' && m.entity_type === 'u'), `members: ${JSON.stringify(members)}`);
  });

  // ---- Chinese --------------------------------------------------------------------------------
  await check('in Chinese: the configuration page with LDAP, the import dialog with results and the group dialog with the directory search are translated', async () => {
    await page.goto(`${PORTAL}/harbor/admin/config`);
    await page.selectOption('[data-test=lang]', 'zh');
    await page.locator('[data-test=config-ldap_url]').waitFor();
    const bad = await untranslated(page);
    await shot(page, 'zh-config-ldap');
    await importDialog('a', 'alice');
    bad.push(...(await untranslated(page)));
    await shot(page, 'zh-ldap-import');
    await page.goto(`${PORTAL}/harbor/admin/groups`);
    await page.click('[data-test=group-new]');
    await page.fill('[data-test=ldap-group-query]', 'e');
    await page.click('[data-test=ldap-group-search]');
    await page.locator('[data-test=ldap-group-pick]').first().waitFor();
    bad.push(...(await untranslated(page)));
    await page.keyboard.press('Escape');
    await page.selectOption('[data-test=lang]', 'en');
    eq([], bad, 'untranslated words');
  });

  // ---- a directory user signs in --------------------------------------------------------------
  await check('signing out, then signing in with the form as alice (her LDAP password) shows alice in the header', async () => {
    await page.goto(`${PORTAL}/harbor/projects`);
    await page.click('[data-test=signout]');
    await page.locator('[data-test=signin-form]').waitFor();
    await signIn(page, PORTAL, 'alice', 'Alice-pw-1');
    await settle(page);
    eq('alice', (await page.locator('[data-test=current-user]').textContent()).trim(), 'header user');
  });

  await check('no uncaught errors in the page', async () => eq([], consoleErrors, 'page errors'));
} finally {
  await browser.close().catch(() => {});
}

process.exit(summary('portal ldap'));
