// Administration → configuration: what GET /configurations reports, and nothing else. A key the
// server does not report is not shown; a key it reports as not editable is a disabled field ("set in
// the server configuration"); a form has a Save button (PUT /configurations with only its changed
// keys) only when one of its keys is editable. The authentication mode and the LDAP and OIDC
// settings come from the server's configuration file: their values are shown read-only (a password
// or client secret only as set / not set, from `*_set`), or a note says where they are set. "Test
// LDAP server" posts a set of settings to try (prefilled from the reported ones) as Harbor's LdapConf.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { call, get } from '../api';
import { t, type Key } from '../i18n';
import { ErrorBox, Field, Loading, Note, Raw, useAction, useLoad } from '../ui';

type Settings = Record<string, { value: unknown; editable?: boolean }>;

/** flag: a reported `*_set` boolean, shown as "set" / "not set" (a secret's presence). */
type Kind = 'text' | 'number' | 'bool' | 'flag' | 'scope' | { options: [string, Key][] };

interface Spec {
  key: string;
  label: Key;
  kind: Kind;
  /** data-test of the control (default `config-<key>`). */
  test?: string;
  hint?: Key;
}

const SCOPE: [string, Key][] = [
  ['0', 'cfg.scope.base'],
  ['1', 'cfg.scope.one'],
  ['2', 'cfg.scope.sub'],
];

const AUTH_MODES: [string, Key][] = [
  ['db_auth', 'cfg.auth.db_auth'],
  ['ldap_auth', 'cfg.auth.ldap_auth'],
  ['oidc_auth', 'cfg.auth.oidc_auth'],
  ['http_auth', 'cfg.auth.http_auth'],
];

/** Settings Harbor has; each is shown only when this server reports it. */
const SYSTEM: Spec[] = [
  { key: 'read_only', label: 'cfg.readOnly', kind: 'bool', test: 'config-read-only' },
  {
    key: 'project_creation_restriction',
    label: 'cfg.creation',
    test: 'config-creation',
    kind: {
      options: [
        ['everyone', 'cfg.creation.everyone'],
        ['adminonly', 'cfg.creation.adminonly'],
      ],
    },
  },
  { key: 'self_registration', label: 'cfg.selfRegistration', kind: 'bool' },
  { key: 'token_expiration', label: 'cfg.tokenMinutes', kind: 'number', test: 'config-token-minutes' },
  { key: 'session_timeout', label: 'cfg.sessionMinutes', kind: 'number' },
  { key: 'robot_token_duration', label: 'cfg.robotDays', kind: 'number', test: 'config-robot-days' },
  { key: 'robot_name_prefix', label: 'cfg.robotPrefix', kind: 'text' },
  { key: 'audit_log_forward_endpoint', label: 'cfg.auditForward', kind: 'text', hint: 'cfg.auditForwardHint' },
  { key: 'skip_audit_log_database', label: 'cfg.auditSkipDb', kind: 'bool' },
];

const LDAP: Spec[] = [
  { key: 'ldap_url', label: 'cfg.ldap.url', kind: 'text' },
  { key: 'ldap_search_dn', label: 'cfg.ldap.searchDn', kind: 'text' },
  { key: 'ldap_search_password_set', label: 'cfg.ldap.searchPassword', kind: 'flag' },
  { key: 'ldap_base_dn', label: 'cfg.ldap.baseDn', kind: 'text' },
  { key: 'ldap_filter', label: 'cfg.ldap.filter', kind: 'text' },
  { key: 'ldap_uid', label: 'cfg.ldap.uid', kind: 'text' },
  { key: 'ldap_scope', label: 'cfg.ldap.scope', kind: 'scope' },
  { key: 'ldap_timeout', label: 'cfg.ldap.timeout', kind: 'number' },
  { key: 'ldap_verify_cert', label: 'cfg.ldap.verifyCert', kind: 'bool' },
  { key: 'ldap_group_base_dn', label: 'cfg.ldap.groupBaseDn', kind: 'text' },
  { key: 'ldap_group_search_filter', label: 'cfg.ldap.groupFilter', kind: 'text' },
  { key: 'ldap_group_attribute_name', label: 'cfg.ldap.groupAttribute', kind: 'text' },
  { key: 'ldap_group_admin_dn', label: 'cfg.ldap.groupAdminDn', kind: 'text' },
  { key: 'ldap_group_membership_attribute', label: 'cfg.ldap.groupMembership', kind: 'text' },
  { key: 'ldap_group_search_scope', label: 'cfg.ldap.groupScope', kind: 'scope' },
];

const OIDC: Spec[] = [
  { key: 'oidc_name', label: 'cfg.oidc.name', kind: 'text' },
  { key: 'oidc_endpoint', label: 'cfg.oidc.endpoint', kind: 'text' },
  { key: 'oidc_client_id', label: 'cfg.oidc.clientId', kind: 'text' },
  { key: 'oidc_client_secret_set', label: 'cfg.oidc.clientSecret', kind: 'flag' },
  { key: 'oidc_scope', label: 'cfg.oidc.scope', kind: 'text', hint: 'cfg.oidc.scopeHint' },
  { key: 'oidc_groups_claim', label: 'cfg.oidc.groupsClaim', kind: 'text' },
  { key: 'oidc_admin_group', label: 'cfg.oidc.adminGroup', kind: 'text' },
  { key: 'oidc_user_claim', label: 'cfg.oidc.userClaim', kind: 'text' },
  { key: 'oidc_verify_cert', label: 'cfg.oidc.verifyCert', kind: 'bool' },
  { key: 'oidc_auto_onboard', label: 'cfg.oidc.autoOnboard', kind: 'bool' },
];

const AUTH_MODE: Spec = { key: 'auth_mode', label: 'cfg.authMode', kind: { options: AUTH_MODES }, test: 'config-auth-mode' };

/** Never shown, whatever the server sends (a `*_set` flag says only whether one is set). */
const SECRET = /secret|password|passwd|token_key|private|credential/i;
const hidden = (k: string) => SECRET.test(k) && !k.endsWith('_set');
const KNOWN = new Set([...SYSTEM, AUTH_MODE, ...LDAP, ...OIDC].map((s) => s.key));

/** The settings and the form's changes; what a field shows, whether it may change, and saving. */
function useSettings() {
  const c = useLoad(() => get<Settings>('/configurations'), []);
  const [changes, setChanges] = useState<Record<string, unknown>>({});
  const data = c.data ?? {};
  const value = (k: string) => (k in changes ? changes[k] : data[k]?.value);
  const fixed = (k: string) => data[k]?.editable === false;
  const reported = (specs: Spec[]) => specs.filter((x) => x.key in data);
  const set = (k: string, v: unknown) => {
    const next = { ...changes };
    if (JSON.stringify(v) === JSON.stringify(data[k]?.value)) delete next[k];
    else next[k] = v;
    setChanges(next);
  };
  /** PUT the changed keys among keys; true when saved, 'none' when nothing changed. */
  const save = async (keys: string[]): Promise<true | 'none'> => {
    const body = Object.fromEntries(Object.entries(changes).filter(([k]) => keys.includes(k)));
    if (!Object.keys(body).length) return 'none';
    await call('PUT', '/configurations', body);
    const rest = { ...changes };
    for (const k of Object.keys(body)) delete rest[k];
    setChanges(rest);
    c.reload();
    return true;
  };
  return { c, data, changes, value, fixed, reported, set, save };
}
type S = ReturnType<typeof useSettings>;

function SettingField(props: { s: S; spec: Spec }) {
  const { s, spec } = props;
  const k = spec.key;
  const test = spec.test ?? `config-${k}`;
  const disabled = s.fixed(k);
  const hint = disabled ? t('cfg.fixed') : spec.hint ? t(spec.hint) : undefined;
  const v = s.value(k);
  const str = (e: Event) => (e.target as HTMLInputElement).value;
  if (spec.kind === 'bool')
    return (
      <label class="check">
        <input type="checkbox" checked={!!v} disabled={disabled} data-test={test} onChange={(e) => s.set(k, (e.target as HTMLInputElement).checked)} /> {t(spec.label)}
        {disabled ? <span class="hint"> ({t('cfg.fixed')})</span> : null}
      </label>
    );
  let control;
  if (spec.kind === 'flag') control = <input value={v ? t('cfg.set') : t('cfg.notSet')} disabled data-test={test} data-value={String(!!v)} />;
  else if (spec.kind === 'number') control = <input type="number" value={v == null ? '' : String(v)} disabled={disabled} data-test={test} onInput={(e) => s.set(k, str(e) === '' ? null : Number(str(e)))} />;
  else if (spec.kind === 'text') control = <input value={v == null ? '' : String(v)} data-raw="" disabled={disabled} data-test={test} onInput={(e) => s.set(k, str(e))} />;
  else {
    const kind = spec.kind;
    const scope = kind === 'scope';
    const options: [string, Key][] = kind === 'scope' ? SCOPE : kind.options;
    const cur = v == null ? '' : String(v);
    control = (
      <select value={cur} disabled={disabled} data-test={test} onChange={(e) => s.set(k, scope ? Number(str(e)) : str(e))}>
        {options.some(([o]) => o === cur) ? null : <option value={cur}>{cur ? cur : '—'}</option>}
        {options.map(([o, label]) => (
          <option value={o}>{t(label)}</option>
        ))}
      </select>
    );
  }
  return (
    <Field label={t(spec.label)} hint={hint ?? (spec.kind === 'flag' ? t('cfg.fixed') : undefined)}>
      {control}
    </Field>
  );
}

/**
 * A card of settings. With an editable key among keys it is a form with its own Save (only its
 * changed keys), note and error; without one it has no Save.
 */
function SettingsForm(props: { s: S; keys: string[]; title: Key; test: string; children?: ComponentChildren }) {
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  const id = `${props.test}-title`;
  const editable = props.keys.some((k) => k in props.s.data && !props.s.fixed(k));
  if (!editable)
    return (
      <section class="card" data-test={`${props.test}-form`} aria-labelledby={id}>
        <h2 id={id}>{t(props.title)}</h2>
        {props.children}
      </section>
    );
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setNote(null);
    try {
      const r = await props.s.save(props.keys);
      setNote(r === 'none' ? t('cfg.nothingChanged') : t('common.saved'));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="card" onSubmit={submit} data-test={`${props.test}-form`} aria-labelledby={id}>
      <h2 id={id}>{t(props.title)}</h2>
      {props.children}
      <ErrorBox error={error} test={`${props.test}-error`} />
      <Note text={note} test={`${props.test}-note`} />
      <div class="actions left">
        <button type="submit" class="primary" data-test={`${props.test}-save`}>
          {t('common.save')}
        </button>
      </div>
    </form>
  );
}

/** The reported ones of specs: the other fields in a grid, then the check boxes. */
function Fields(props: { s: S; specs: Spec[] }) {
  const specs = props.s.reported(props.specs);
  return (
    <>
      <div class="filters wide-fields">
        {specs
          .filter((x) => x.kind !== 'bool')
          .map((spec) => (
            <SettingField s={props.s} spec={spec} />
          ))}
      </div>
      {specs
        .filter((x) => x.kind === 'bool')
        .map((spec) => (
          <SettingField s={props.s} spec={spec} />
        ))}
    </>
  );
}

/** A translated text whose {placeholders} are machine text, shown as code. */
function WithCode(props: { text: string; code: Record<string, string>; test?: string }) {
  const parts = props.text.split(/\{(\w+)\}/);
  return (
    <p class="muted" data-test={props.test}>
      {parts.map((p, i) => (i % 2 ? <code data-raw="">{props.code[p] ?? p}</code> : p))}
    </p>
  );
}

/**
 * POST /ldap/ping with a set of settings to try, prefilled from the reported ones and sent as
 * Harbor's LdapConf. Left empty, the password is the configured one, which the server uses only
 * against the configured address and search DN. Harbor answers {success, message}.
 */
function LdapPing(props: { s: S }) {
  const rv = (k: string, d: unknown) => props.s.data[k]?.value ?? d;
  const [f, setF] = useState(() => ({
    url: String(rv('ldap_url', '')),
    searchDn: String(rv('ldap_search_dn', '')),
    password: '',
    baseDn: String(rv('ldap_base_dn', '')),
    uid: String(rv('ldap_uid', '')),
    filter: String(rv('ldap_filter', '')),
    scope: Number(rv('ldap_scope', 2)),
    timeout: Number(rv('ldap_timeout', 5)),
    verify: rv('ldap_verify_cert', true) !== false,
  }));
  const upd = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value });
  const { busy, error, setError, run } = useAction();
  const [ok, setOk] = useState<string | null>(null);
  const ping = () => {
    setOk(null);
    void run(async () => {
      const body: Record<string, unknown> = {
        ldap_url: f.url.trim(),
        ldap_search_dn: f.searchDn.trim(),
        ldap_base_dn: f.baseDn.trim(),
        ldap_filter: f.filter.trim(),
        ldap_uid: f.uid.trim(),
        ldap_scope: Number(f.scope),
        ldap_connection_timeout: Number(f.timeout),
        ldap_verify_cert: f.verify,
      };
      if (f.password) body.ldap_search_password = f.password;
      const r = await call<{ success?: boolean; message?: string } | undefined>('POST', '/ldap/ping', body);
      if (r && r.success === false) throw new Error(r.message || t('cfg.ldap.pingFailed'));
      setOk(r?.message ? `${t('cfg.ldap.pingOk')} ${r.message}` : t('cfg.ldap.pingOk'));
    });
  };
  // Enter in a field tests (the settings card may be a form whose Enter would save).
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Enter' && (e.target as HTMLElement).tagName === 'INPUT') {
      e.preventDefault();
      if (f.url.trim()) ping();
    }
  };
  return (
    <div role="group" aria-labelledby="ldap-try-title" class="subcard" data-test="config-ldap-try" onKeyDown={onKey}>
      <h3 id="ldap-try-title">{t('cfg.ldap.try')}</h3>
      <p class="muted">{t('cfg.ldap.tryHint')}</p>
      <div class="filters wide-fields">
        <Field label={t('cfg.ldap.url')}>
          <input value={f.url} placeholder="ldaps://ldap.example.com" data-raw="" data-test="config-ldap-try-url" onInput={upd('url')} />
        </Field>
        <Field label={t('cfg.ldap.searchDn')}>
          <input value={f.searchDn} data-raw="" data-test="config-ldap-try-search-dn" onInput={upd('searchDn')} />
        </Field>
        <Field label={t('cfg.ldap.searchPassword')}>
          <input type="password" autoComplete="new-password" value={f.password} placeholder={t('cfg.ldap.tryPassword')} data-test="config-ldap-try-password" onInput={upd('password')} />
        </Field>
        <Field label={t('cfg.ldap.baseDn')}>
          <input value={f.baseDn} placeholder="dc=example,dc=com" data-raw="" data-test="config-ldap-try-base-dn" onInput={upd('baseDn')} />
        </Field>
        <Field label={t('cfg.ldap.uid')}>
          <input value={f.uid} placeholder="uid" data-raw="" data-test="config-ldap-try-uid" onInput={upd('uid')} />
        </Field>
        <Field label={t('cfg.ldap.filter')}>
          <input value={f.filter} data-raw="" data-test="config-ldap-try-filter" onInput={upd('filter')} />
        </Field>
        <Field label={t('cfg.ldap.scope')}>
          <select value={String(f.scope)} data-test="config-ldap-try-scope" onChange={upd('scope')}>
            {SCOPE.map(([o, label]) => (
              <option value={o}>{t(label)}</option>
            ))}
          </select>
        </Field>
        <Field label={t('cfg.ldap.timeout')}>
          <input type="number" min="1" value={String(f.timeout)} data-test="config-ldap-try-timeout" onInput={upd('timeout')} />
        </Field>
      </div>
      <label class="check">
        <input type="checkbox" checked={f.verify} data-test="config-ldap-try-verify" onChange={(e) => setF({ ...f, verify: (e.target as HTMLInputElement).checked })} /> {t('cfg.ldap.verifyCert')}
      </label>
      <div class="actions left">
        <button
          type="button"
          disabled={busy || !f.url.trim()}
          data-test="config-ldap-ping"
          onClick={() => {
            setError(null);
            ping();
          }}
        >
          {t('cfg.ldap.ping')}
        </button>
      </div>
      <ErrorBox error={error} test="config-ldap-ping-error" />
      <Note text={ok} test="config-ldap-ping-ok" />
    </div>
  );
}

export function Config() {
  const s = useSettings();
  const { c, data } = s;
  const mode = String(s.value('auth_mode') ?? '');
  const others: Spec[] = Object.entries(data)
    .filter(([k, v]) => v?.editable !== false && !KNOWN.has(k) && !hidden(k))
    .map(([k, v]) => ({ key: k, label: 'config.value' as Key, kind: typeof v?.value === 'boolean' ? 'bool' : typeof v?.value === 'number' ? 'number' : 'text' }));
  const entries = Object.entries(data)
    .filter(([k]) => !hidden(k))
    .sort(([a], [b]) => a.localeCompare(b));
  const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  const hasLdap = s.reported(LDAP).length > 0;
  const hasOidc = s.reported(OIDC).length > 0;
  const authKeys = [AUTH_MODE, ...LDAP, ...OIDC].map((x) => x.key);
  return (
    <div>
      <p class="muted">{t('cfg.hint')}</p>
      <ErrorBox error={c.error} />
      <Loading when={c.loading && !c.data} />
      {c.data ? (
        <>
          <SettingsForm s={s} keys={[...SYSTEM, ...others].map((x) => x.key)} title="cfg.system" test="config">
            <Fields s={s} specs={SYSTEM} />
            {others.length ? (
              <dl class="facts">
                {others.map((spec) => (
                  <>
                    <dt>
                      <code data-raw="">{spec.key}</code>
                    </dt>
                    <dd>
                      <SettingField s={s} spec={spec} />
                    </dd>
                  </>
                ))}
              </dl>
            ) : null}
          </SettingsForm>
          <SettingsForm s={s} keys={authKeys} title="cfg.auth" test="config-auth">
            {'auth_mode' in data ? (
              <div class="filters wide-fields">
                <SettingField s={s} spec={AUTH_MODE} />
              </div>
            ) : null}
            <details open={mode === 'ldap_auth' || hasLdap} data-test="config-ldap">
              <summary>{t('cfg.ldap.title')}</summary>
              {hasLdap ? <Fields s={s} specs={LDAP} /> : <WithCode text={t('cfg.ldap.inFile')} code={{ mode: 'auth_mode = "ldap_auth"', section: '[ldap]' }} test="config-ldap-note" />}
              <LdapPing s={s} />
            </details>
            <details open={mode === 'oidc_auth' || hasOidc} data-test="config-oidc">
              <summary>{t('cfg.oidc.title')}</summary>
              {hasOidc ? <Fields s={s} specs={OIDC} /> : <WithCode text={t('cfg.oidc.inFile')} code={{ mode: 'auth_mode = "oidc_auth"', section: '[oidc]' }} test="config-oidc-note" />}
            </details>
          </SettingsForm>
          <h2 class="sub">{t('cfg.all')}</h2>
          <table class="list" data-test="config-list">
            <thead>
              <tr>
                <th scope="col">{t('config.key')}</th>
                <th scope="col">{t('config.value')}</th>
                <th scope="col">{t('config.editable')}</th>
              </tr>
            </thead>
            <tbody>
              {entries.map(([k, v]) => (
                <tr>
                  <td>
                    <code data-raw="">{k}</code>
                  </td>
                  <td>
                    <Raw>
                      <code>{show(v?.value ?? v)}</code>
                    </Raw>
                  </td>
                  <td>{v?.editable === false ? t('common.no') : t('common.yes')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </div>
  );
}
