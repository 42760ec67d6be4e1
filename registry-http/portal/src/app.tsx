// The shell: who is signed in (GET /users/current), the sign-in form when nobody is, the header
// (navigation, search, language, user, sign out) and the routes.
import { useEffect, useRef, useState } from 'preact/hooks';
import { API, ApiError, get, raw, setUnauthorizedHandler, signIn, signOut, type User } from './api';
import { getLang, LANGS, setLang, t, type Lang } from './i18n';
import { BASE, match, navigate, useLocation } from './router';
import { ErrorBox, Field, Link, Raw } from './ui';
import { ProjectsPage } from './pages/projects';
import { ProjectPage, PROJECT_TABS } from './pages/project';
import { RepositoryPage } from './pages/repository';
import { ArtifactPage } from './pages/artifact';
import { AdminPage, ADMIN_TABS } from './pages/admin';
import { SearchPage } from './pages/search';
import { ProfilePage } from './pages/profile';

export function App() {
  const [lang, setL] = useState<Lang>(getLang());
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [loadError, setLoadError] = useState<unknown>(null);

  const loadUser = async () => {
    try {
      setUser(await get<User>('/users/current'));
      setLoadError(null);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setUser(null);
      else {
        setLoadError(e);
        setUser(null);
      }
    }
  };
  useEffect(() => {
    setUnauthorizedHandler(() => setUser(null));
    void loadUser();
  }, []);

  const changeLang = (l: Lang) => {
    setLang(l);
    setL(l);
  };

  if (user === undefined) {
    return (
      <p class="muted center" role="status">
        {t('common.loading')}
      </p>
    );
  }
  if (user === null) return <SignIn onSignedIn={loadUser} lang={lang} onLang={changeLang} initialError={loadError} />;
  return (
    <Shell
      user={user}
      lang={lang}
      onLang={changeLang}
      onSignOut={async () => {
        try {
          await signOut();
        } catch {
          /* signed out locally anyway */
        }
        setUser(null);
        navigate(`${BASE}/projects`, true);
      }}
      onUserChanged={loadUser}
    />
  );
}

function LangSwitch(props: { lang: Lang; onLang: (l: Lang) => void }) {
  return (
    <label class="lang">
      <span class="sr-only">{t('header.language')}</span>
      <select value={props.lang} data-test="lang" aria-label={t('header.language')} onChange={(e) => props.onLang((e.target as HTMLSelectElement).value as Lang)}>
        {LANGS.map((l) => (
          <option value={l.id} data-raw="">
            {l.label}
          </option>
        ))}
      </select>
    </label>
  );
}

function SignIn(props: { onSignedIn: () => Promise<void>; lang: Lang; onLang: (l: Lang) => void; initialError: unknown }) {
  const [principal, setPrincipal] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [authMode, setAuthMode] = useState<string | null>(null);
  useEffect(() => {
    // Anonymous: tells whether users sign in here or at the OIDC provider.
    raw('GET', `${API}/systeminfo`, undefined, undefined, true)
      .then((r) => r.json() as Promise<{ auth_mode?: string }>)
      .then((info) => setAuthMode(info.auth_mode ?? null))
      .catch(() => setAuthMode(null));
  }, []);
  const oidc = authMode === 'oidc_auth';
  const here = location.pathname.startsWith(BASE) ? location.pathname + location.search : `${BASE}/projects`;
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(principal, password);
      await props.onSignedIn();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError(t('signin.invalid'));
      else if (err instanceof ApiError && err.status === 429) setError(t('signin.throttled'));
      else setError(t('signin.failed', { reason: err instanceof Error ? err.message : String(err) }));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <form class="card signin-card" onSubmit={submit} data-test="signin-form" aria-labelledby="signin-title">
        <div class="signin-top">
          <h1 id="signin-title">
            <span class="brand">Berth</span>
          </h1>
          <LangSwitch lang={props.lang} onLang={props.onLang} />
        </div>
        <p class="muted">{t('signin.subtitle')}</p>
        {oidc ? (
          <>
            <a class="button primary block" href={`/c/oidc/login?redirect_url=${encodeURIComponent(here)}`} data-test="signin-oidc">
              {t('signin.oidc')}
            </a>
            <p class="muted signin-or">{t('signin.or')}</p>
          </>
        ) : null}
        <Field label={t('signin.username')}>
          <input name="principal" autoComplete="username" required value={principal} data-test="signin-username" onInput={(e) => setPrincipal((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('signin.password')}>
          <input name="password" type="password" autoComplete="current-password" required value={password} data-test="signin-password" onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </Field>
        {error ? (
          <div class="error" role="alert" data-test="signin-error">
            {error}
          </div>
        ) : null}
        {!error && props.initialError ? <ErrorBox error={props.initialError} /> : null}
        <button type="submit" class="primary" disabled={busy} data-test="signin-submit">
          {busy ? t('signin.busy') : t('signin.submit')}
        </button>
      </form>
    </main>
  );
}

function Shell(props: { user: User; lang: Lang; onLang: (l: Lang) => void; onSignOut: () => void; onUserChanged: () => void }) {
  const loc = useLocation();
  const [q, setQ] = useState(loc.query.get('q') ?? '');
  const admin = !!props.user.sysadmin_flag;
  const path = loc.path.replace(/\/+$/, '') || '/';
  useEffect(() => {
    if (path === '/' || path === BASE) navigate(`${BASE}/projects`, true);
  }, [path]);
  // After a client-side navigation, screen readers and keyboards start at the new content.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const active = document.activeElement;
    if (!active || active === document.body || !document.getElementById('main')?.contains(active)) document.getElementById('main')?.focus({ preventScroll: true });
  }, [path]);

  let page;
  let m: Record<string, string> | null;
  if ((m = match(`${BASE}/projects`, path))) page = <ProjectsPage />;
  else if ((m = match(`${BASE}/projects/:id`, path))) page = <ProjectPage id={m.id!} tab="repositories" user={props.user} />;
  else if ((m = match(`${BASE}/projects/:id/:tab`, path)) && PROJECT_TABS.includes(m.tab!)) page = <ProjectPage id={m.id!} tab={m.tab!} user={props.user} />;
  else if ((m = match(`${BASE}/projects/:id/repositories/:repo`, path))) page = <RepositoryPage id={m.id!} repo={m.repo!} />;
  else if ((m = match(`${BASE}/projects/:id/repositories/:repo/artifacts/:ref`, path))) page = <ArtifactPage key={`${m.id}/${m.repo}/${m.ref}`} id={m.id!} repo={m.repo!} reference={m.ref!} />;
  else if (admin && (m = match(`${BASE}/admin/:tab`, path)) && ADMIN_TABS.includes(m.tab!)) page = <AdminPage tab={m.tab!} me={props.user} />;
  else if (admin && match(`${BASE}/admin`, path)) page = <AdminPage tab="users" me={props.user} />;
  else if (match(`${BASE}/search`, path)) page = <SearchPage q={loc.query.get('q') ?? ''} />;
  else if (match(`${BASE}/profile`, path)) page = <ProfilePage user={props.user} onChanged={props.onUserChanged} />;
  else if (path === '/' || path === BASE) page = null;
  else
    page = (
      <section>
        <h1>{t('notfound.title')}</h1>
        <p>
          <Link href={`${BASE}/projects`}>{t('nav.projects')}</Link>
        </p>
      </section>
    );

  const navClass = (prefix: string) => (path.startsWith(prefix) ? 'active' : undefined);
  return (
    <div class="shell">
      <a class="skip" href="#main">
        {t('header.skip')}
      </a>
      <header class="topbar">
        <Link href={`${BASE}/projects`} class="brand">
          Berth
        </Link>
        <nav aria-label={t('nav.label')}>
          <Link href={`${BASE}/projects`} class={navClass(`${BASE}/projects`)} data-test="nav-projects">
            {t('nav.projects')}
          </Link>
          {admin ? (
            <Link href={`${BASE}/admin/users`} class={navClass(`${BASE}/admin`)} data-test="nav-admin">
              {t('nav.admin')}
            </Link>
          ) : null}
        </nav>
        <form
          role="search"
          class="topsearch"
          onSubmit={(e) => {
            e.preventDefault();
            navigate(`${BASE}/search?q=${encodeURIComponent(q.trim())}`);
          }}
        >
          <input type="search" value={q} aria-label={t('header.search')} placeholder={t('header.search')} data-test="global-search" onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
        </form>
        <LangSwitch lang={props.lang} onLang={props.onLang} />
        <Link href={`${BASE}/profile`} class="user" data-test="current-user" title={t('nav.profile')}>
          <Raw>{props.user.username}</Raw>
        </Link>
        <button type="button" onClick={props.onSignOut} data-test="signout">
          {t('header.signout')}
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </div>
  );
}
