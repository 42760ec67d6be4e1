// Browser test of the portal's OIDC sign-in against a real OpenID Connect provider (the
// oidc-provider-mock server process of tests/lib/oidc.sh) and a Berth in oidc_auth mode, in
// headless Chromium. Run by tests/e2e/portal.sh, which starts both and sets:
//   OIDC_PORTAL_URL where the browser opens the portal: that Berth, or the dev server in front of it
//   OIDC_BERTH_URL  the Berth in oidc_auth mode (API calls made by the test)
//   OIDC_ISSUER     the provider (BERTH_TEST_OIDC_URL); its client for Berth is registered already
//   ADMIN_USER, ADMIN_PASSWORD  that Berth's local administrator
//   PORTAL_SCREENSHOTS, PLAYWRIGHT_CORE, CHROMIUM  as for portal.test.mjs
// The whole code flow: the sign-in page's "Sign in with OIDC" link, the provider's authorization
// form, the callback's session cookie, the header's user, the profile's CLI secret (generated,
// then used as the Basic password on /v2/), sign-out. Prints "portal oidc: N passed, M failed".
import { RUN, apiClient, assert, basic, check, env, eq, launchBrowser, newContext, shot, signIn, summary, untranslated } from './lib.mjs';

const PORTAL = env('OIDC_PORTAL_URL').replace(/\/$/, '');
const BERTH = env('OIDC_BERTH_URL').replace(/\/$/, '');
const ISSUER = env('OIDC_ISSUER').replace(/\/$/, '');
const ADMIN = env('ADMIN_USER', 'admin');
const ADMIN_PW = env('ADMIN_PASSWORD');
const api = apiClient(BERTH, [ADMIN, ADMIN_PW]);

const sub = `sub-${RUN}`;
const name = `oidc${RUN}`;
const email = `${name}@example.com`;
const status = async (path, auth) => (await fetch(`${BERTH}${path}`, { headers: auth ? { Authorization: basic(...auth) } : {} })).status;

console.log(`# portal ${PORTAL}, berth ${BERTH} (oidc_auth), provider ${ISSUER}`);
const browser = await launchBrowser();
const ctx = await newContext(browser);
const page = await ctx.newPage();
const consoleErrors = [];
page.on('pageerror', (e) => consoleErrors.push(String(e)));
page.on('dialog', (d) => d.accept()); // the CLI secret's "replace the old one?" confirmation

try {
  await check(`the provider knows user ${name} (PUT /users/${sub}) and Berth is in oidc_auth mode`, async () => {
    const res = await fetch(`${ISSUER}/users/${sub}`, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ preferred_username: name, email }) });
    eq(204, res.status, 'PUT /users at the provider');
    eq('oidc_auth', (await (await fetch(`${BERTH}/api/v2.0/systeminfo`)).json()).auth_mode, 'auth_mode');
  });

  // ---- the sign-in page ----------------------------------------------------------------------
  await check('the sign-in page offers "Sign in with OIDC" to /c/oidc/login with the current path, and keeps the local form', async () => {
    await page.goto(`${PORTAL}/harbor/profile`);
    const link = page.locator('[data-test=signin-oidc]');
    await link.waitFor();
    eq('Sign in with OIDC', (await link.textContent()).trim(), 'link text');
    eq(`/c/oidc/login?redirect_url=${encodeURIComponent('/harbor/profile')}`, await link.getAttribute('href'), 'link');
    eq(1, await page.locator('[data-test=signin-username]').count(), 'the local form is still there');
    await shot(page, 'en-signin-oidc');
  });
  await check('the sign-in page with the OIDC link is translated into Chinese', async () => {
    const zc = await newContext(browser, 'zh-CN');
    try {
      const zp = await zc.newPage();
      await zp.goto(`${PORTAL}/harbor/profile`);
      await zp.locator('[data-test=signin-oidc]').waitFor();
      eq([], await untranslated(zp), 'untranslated words');
      await shot(zp, 'zh-signin-oidc');
    } finally {
      await zc.close();
    }
  });

  // ---- the code flow ---------------------------------------------------------------------------
  await check(`"Sign in with OIDC" leads to the provider's authorization form; authorizing as ${sub} comes back signed in as ${name} on the page it left`, async () => {
    await page.click('[data-test=signin-oidc]');
    await page.waitForURL((u) => u.href.startsWith(`${ISSUER}/oauth2/authorize?`));
    const q = new URL(page.url()).searchParams;
    eq(`${PORTAL}/c/oidc/callback`, q.get('redirect_uri'), 'redirect_uri sent to the provider');
    assert(q.get('state') && q.get('nonce'), `state and nonce: ${page.url()}`);
    await page.fill('input[name=sub]', sub);
    await page.click('button:has-text("Authorize")');
    await page.waitForURL((u) => u.origin === PORTAL && u.pathname === '/harbor/profile');
    await page.locator('[data-test=current-user]').waitFor();
    eq(name, (await page.locator('[data-test=current-user]').textContent()).trim(), 'header user');
    eq(0, await page.locator('[data-test=nav-admin]').count(), 'administration link');
  });
  let sid = null;
  await check('the session is an HttpOnly, SameSite sid cookie; with it the API knows the OIDC user', async () => {
    sid = (await ctx.cookies(PORTAL)).find((c) => c.name === 'sid');
    assert(sid, 'no sid cookie');
    eq(true, sid.httpOnly, 'httpOnly');
    assert(sid.sameSite === 'Lax' || sid.sameSite === 'Strict', `sameSite ${sid.sameSite}`);
    eq(false, await page.evaluate(() => document.cookie.includes('sid=')), 'the cookie is readable by scripts');
    const me = await (await fetch(`${BERTH}/api/v2.0/users/current`, { headers: { Cookie: `sid=${sid.value}` } })).json();
    eq([name, email, 'oidc'], [me.username, me.email, me.source], 'users/current with the cookie');
    const listed = await api('GET', `/users?q=${encodeURIComponent(`username=${name}`)}`);
    eq([name], listed.map((u) => u.username), 'the user onboarded in Berth');
  });

  // ---- the CLI secret ------------------------------------------------------------------------
  let secret = null;
  await check('the profile page shows the CLI secret section; a generated secret is strong, sent once to PUT /users/{id}/cli_secret, shown with a copy button', async () => {
    await page.goto(`${PORTAL}/harbor/profile`);
    const card = page.locator('[data-test=cli-secret]');
    await card.waitFor();
    eq('CLI secret', (await card.locator('h2').textContent()).trim(), 'section heading');
    eq(0, await page.locator('[data-test=cli-secret-value]').count(), 'a secret before generating');
    const me = await (await fetch(`${BERTH}/api/v2.0/users/current`, { headers: { Cookie: `sid=${sid.value}` } })).json();
    const puts = [];
    const onReq = (r) => r.method() === 'PUT' && r.url().includes('/cli_secret') && puts.push(r);
    page.on('request', onReq);
    const answered = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith(`/api/v2.0/users/${me.user_id}/cli_secret`));
    await page.click('[data-test=cli-secret-generate]');
    eq(200, (await answered).status(), 'PUT status');
    secret = (await page.locator('[data-test=cli-secret-value]').textContent()).trim();
    page.off('request', onReq);
    eq(1, puts.length, 'PUT requests');
    eq(secret, puts[0].postDataJSON().secret, 'secret shown = secret sent');
    assert(secret.length >= 32 && /[A-Z]/.test(secret) && /[a-z]/.test(secret) && /[0-9]/.test(secret), `weak secret ${secret}`);
    await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: PORTAL });
    await page.click('[data-test=cli-secret-copy]');
    await page.waitForFunction(() => document.querySelector('[data-test=cli-secret-copy]')?.textContent === 'Copied');
    eq(secret, await page.evaluate(() => navigator.clipboard.readText()), 'clipboard');
  });
  await check(`the CLI secret is the registry password: GET /v2/ with Basic ${name}:<secret> is 200, a wrong one 401`, async () => {
    assert(secret, 'no secret was generated');
    eq(200, await status('/v2/', [name, secret]), 'with the CLI secret');
    eq(401, await status('/v2/', [name, 'Wrong-Secret-1']), 'with a wrong secret');
    eq(200, await status('/api/v2.0/users/current', [name, secret]), 'the API with the CLI secret');
  });
  await check('generating again replaces the secret: the new one works on /v2/, the old one no longer', async () => {
    assert(secret, 'no secret was generated');
    const answered = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().includes('/cli_secret'));
    await page.click('[data-test=cli-secret-generate]');
    await answered;
    await page.waitForFunction((old) => {
      const v = document.querySelector('[data-test=cli-secret-value]')?.textContent.trim();
      return v && v !== old;
    }, secret);
    const second = (await page.locator('[data-test=cli-secret-value]').textContent()).trim();
    eq([200, 401], [await status('/v2/', [name, second]), await status('/v2/', [name, secret])], 'status with the new and the old secret');
    secret = second;
  });
  await check('the profile page with the CLI secret is translated into Chinese', async () => {
    await page.selectOption('[data-test=lang]', 'zh');
    await page.locator('[data-test=cli-secret] h2').waitFor();
    eq([], await untranslated(page), 'untranslated words');
    await shot(page, 'zh-profile-oidc');
    await page.selectOption('[data-test=lang]', 'en');
    await shot(page, 'en-profile-oidc');
  });

  // ---- sign out --------------------------------------------------------------------------------
  await check('signing out shows the sign-in page with the OIDC link; the old cookie gets 401; the CLI secret still works', async () => {
    await page.click('[data-test=signout]');
    await page.locator('[data-test=signin-oidc]').waitFor();
    eq(0, await page.locator('[data-test=current-user]').count(), 'header user');
    eq(401, (await fetch(`${BERTH}/api/v2.0/users/current`, { headers: { Cookie: `sid=${sid.value}` } })).status, 'the old cookie');
    await page.reload();
    await page.locator('[data-test=signin-oidc]').waitFor();
    eq(200, await status('/v2/', [name, secret]), 'the CLI secret after signing out');
  });

  // ---- a local user in oidc_auth mode ---------------------------------------------------------
  {
    const lc = await newContext(browser);
    const lp = await lc.newPage();
    lp.on('dialog', (d) => d.accept());
    await check(`the local ${ADMIN} still signs in with the form in oidc_auth mode; the profile has no CLI secret section`, async () => {
      await signIn(lp, PORTAL, ADMIN, ADMIN_PW);
      eq(ADMIN, (await lp.locator('[data-test=current-user]').textContent()).trim(), 'header user');
      await lp.goto(`${PORTAL}/harbor/profile`);
      await lp.locator('main h1').first().waitFor();
      eq(0, await lp.locator('[data-test=cli-secret]').count(), 'CLI secret section for a local user');
    });
    await check('when the page offers a CLI secret to a local user (users/current rewritten to source oidc), the server refuses it and the page shows why', async () => {
      await lp.route('**/api/v2.0/users/current', async (route) => {
        const res = await route.fetch();
        await route.fulfill({ response: res, json: { ...(await res.json()), source: 'oidc' } });
      });
      await lp.reload();
      await lp.click('[data-test=cli-secret-generate]');
      const err = (await lp.locator('[data-test=cli-secret] [data-test=error]').textContent()).trim();
      assert(/not an OIDC user/i.test(err), `error: ${err}`);
      eq(0, await lp.locator('[data-test=cli-secret-value]').count(), 'a secret shown after the refusal');
    });
    await lc.close();
  }

  await check('no uncaught errors in the page', async () => eq([], consoleErrors, 'page errors'));
} finally {
  await browser.close().catch(() => {});
}

process.exit(summary('portal oidc'));
