// Administration → configuration: the system settings, the authentication mode with its LDAP and
// OIDC settings (and a test of the LDAP server), and every setting in a table. GET /configurations
// says which keys this server has and which are editable; a key it reports as not editable is a
// disabled field; a key it does not report stays editable (the server's refusal is shown if it has
// no such setting). Each form saves with PUT /configurations and only its changed keys; a secret
// (LDAP search password, OIDC client secret) is never shown and only sent when typed.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { call, get } from '../api';
import { t, type Key } from '../i18n';
import { ErrorBox, Field, Loading, Note, Raw, useAction, useLoad } from '../ui';

type Settings = Record<string, { value: unknown; editable?: boolean }>;

type Kind = 'text' | 'number' | 'bool' | 'secret' | 'scope' | { options: [string, Key][] };

interface Spec {
  key: string;
  label: Key;
  kind: Kind;
  /** data-test of the control (default `config-<key>`). */
  test?: string;
  hint?: Key;
  /** A placeholder (machine text, not translated). */
  example?: string;
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
  { key: 'ldap_url', label: 'cfg.ldap.url', kind: 'text', example: 'ldaps://ldap.example.com' },
  { key: 'ldap_search_dn', label: 'cfg.ldap.searchDn', kind: 'text' },
  { key: 'ldap_search_password', label: 'cfg.ldap.searchPassword', kind: 'secret' },
  { key: 'ldap_base_dn', label: 'cfg.ldap.baseDn', kind: 'text', example: 'dc=example,dc=com' },
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
  { key: 'oidc_endpoint', label: 'cfg.oidc.endpoint', kind: 'text', example: 'https://sso.example.com/realms/main' },
  { key: 'oidc_client_id', label: 'cfg.oidc.clientId', kind: 'text' },
  { key: 'oidc_client_secret', label: 'cfg.oidc.clientSecret', kind: 'secret' },
  { key: 'oidc_scope', label: 'cfg.oidc.scope', kind: 'text', hint: 'cfg.oidc.scopeHint', example: 'openid,profile,email,offline_access' },
  { key: 'oidc_groups_claim', label: 'cfg.oidc.groupsClaim', kind: 'text' },
  { key: 'oidc_admin_group', label: 'cfg.oidc.adminGroup', kind: 'text' },
  { key: 'oidc_user_claim', label: 'cfg.oidc.userClaim', kind: 'text' },
  { key: 'oidc_verify_cert', label: 'cfg.oidc.verifyCert', kind: 'bool' },
  { key: 'oidc_auto_onboard', label: 'cfg.oidc.autoOnboard', kind: 'bool' },
];

const AUTH: Spec[] = [{ key: 'auth_mode', label: 'cfg.authMode', kind: { options: AUTH_MODES }, test: 'config-auth-mode' }, ...LDAP, ...OIDC];

/** Never shown, whatever the server sends. */
const SECRET = /secret|password|passwd|token_key|private|credential/i;
const KNOWN = new Set([...SYSTEM, ...AUTH].map((s) => s.key));

/** The settings and the form's changes; what a field shows, whether it may change, and saving. */
function useSettings() {
  const c = useLoad(() => get<Settings>('/configurations'), []);
  const [changes, setChanges] = useState<Record<string, unknown>>({});
  const data = c.data ?? {};
  const value = (k: string) => (k in changes ? changes[k] : data[k]?.value);
  const fixed = (k: string) => data[k]?.editable === false;
  const set = (k: string, v: unknown) => {
    const next = { ...changes };
    if (JSON.stringify(v) === JSON.stringify(data[k]?.value) || (v === '' && SECRET.test(k))) delete next[k];
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
  return { c, data, changes, value, fixed, set, save };
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
  if (spec.kind === 'secret')
    control = (
      <input type="password" autoComplete="new-password" value={String(s.changes[k] ?? '')} placeholder={t('cfg.secretUnchanged')} disabled={disabled} data-test={test} onInput={(e) => s.set(k, str(e))} />
    );
  else if (spec.kind === 'number') control = <input type="number" value={v == null ? '' : String(v)} disabled={disabled} data-test={test} onInput={(e) => s.set(k, str(e) === '' ? null : Number(str(e)))} />;
  else if (spec.kind === 'text')
    control = <input value={v == null ? '' : String(v)} placeholder={spec.example} data-raw={spec.example ? '' : undefined} disabled={disabled} data-test={test} onInput={(e) => s.set(k, str(e))} />;
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
    <Field label={t(spec.label)} hint={hint}>
      {control}
    </Field>
  );
}

/** A form of settings with its own Save (only its changed keys), note and error. */
function SettingsForm(props: { s: S; specs: Spec[]; title: Key; test: string; children?: ComponentChildren; extraKeys?: string[] }) {
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  const id = `${props.test}-title`;
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setNote(null);
    try {
      const r = await props.s.save([...props.specs.map((x) => x.key), ...(props.extraKeys ?? [])]);
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

function Fields(props: { s: S; specs: Spec[] }) {
  const bools = props.specs.filter((x) => x.kind === 'bool');
  const unreported = props.specs.filter((x) => !(x.key in props.s.data)).length;
  return (
    <>
      {unreported ? (
        <p class="muted" data-test="config-unreported">
          {unreported === props.specs.length ? t('cfg.unreportedAll') : t('cfg.unreported', { n: unreported })}
        </p>
      ) : null}
      <div class="filters wide-fields">
        {props.specs
          .filter((x) => x.kind !== 'bool')
          .map((spec) => (
            <SettingField s={props.s} spec={spec} />
          ))}
      </div>
      {bools.map((spec) => (
        <SettingField s={props.s} spec={spec} />
      ))}
    </>
  );
}

/** POST /ldap/ping with the form's LDAP settings: Harbor answers {success, message}. */
function LdapPing(props: { s: S }) {
  const { busy, error, run } = useAction();
  const [ok, setOk] = useState<string | null>(null);
  const ping = () => {
    const v = props.s.value;
    setOk(null);
    void run(async () => {
      const body: Record<string, unknown> = {
        ldap_url: v('ldap_url') ?? '',
        ldap_search_dn: v('ldap_search_dn') ?? '',
        ldap_base_dn: v('ldap_base_dn') ?? '',
        ldap_filter: v('ldap_filter') ?? '',
        ldap_uid: v('ldap_uid') ?? '',
        ldap_scope: Number(v('ldap_scope') ?? 2),
        ldap_connection_timeout: Number(v('ldap_timeout') ?? 5),
        ldap_verify_cert: v('ldap_verify_cert') ?? true,
      };
      const pw = props.s.changes.ldap_search_password;
      if (pw) body.ldap_search_password = pw;
      const r = await call<{ success?: boolean; message?: string } | undefined>('POST', '/ldap/ping', body);
      if (r && r.success === false) throw new Error(r.message || t('cfg.ldap.pingFailed'));
      setOk(r?.message ? `${t('cfg.ldap.pingOk')} ${r.message}` : t('cfg.ldap.pingOk'));
    });
  };
  return (
    <div>
      <button type="button" disabled={busy || !props.s.value('ldap_url')} data-test="config-ldap-ping" onClick={ping}>
        {t('cfg.ldap.ping')}
      </button>
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
    .filter(([k, v]) => v?.editable !== false && !KNOWN.has(k) && !SECRET.test(k))
    .map(([k, v]) => ({ key: k, label: 'config.value' as Key, kind: typeof v?.value === 'boolean' ? 'bool' : typeof v?.value === 'number' ? 'number' : 'text' }));
  const entries = Object.entries(data)
    .filter(([k]) => !SECRET.test(k))
    .sort(([a], [b]) => a.localeCompare(b));
  const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  return (
    <div>
      <p class="muted">{t('cfg.hint')}</p>
      <ErrorBox error={c.error} />
      <Loading when={c.loading && !c.data} />
      {c.data ? (
        <>
          <SettingsForm s={s} specs={[...SYSTEM, ...others]} title="cfg.system" test="config">
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
          <SettingsForm s={s} specs={AUTH} title="cfg.auth" test="config-auth">
            <div class="filters wide-fields">
              <SettingField s={s} spec={AUTH[0]!} />
            </div>
            {s.fixed('auth_mode') ? (
              <p class="muted" data-test="config-auth-fixed">
                {t('cfg.authFixed')}
              </p>
            ) : null}
            <details open={mode === 'ldap_auth'} data-test="config-ldap">
              <summary>{t('cfg.ldap.title')}</summary>
              <Fields s={s} specs={LDAP} />
              <LdapPing s={s} />
            </details>
            <details open={mode === 'oidc_auth'} data-test="config-oidc">
              <summary>{t('cfg.oidc.title')}</summary>
              <Fields s={s} specs={OIDC} />
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
