// Interrogation services: the scanners (register an external scanner adapter, edit, test, set as
// default, enable or disable, its metadata, delete), the system CVE allowlist, and scan all (its
// schedule, scan now, stop, progress) with the vulnerability database's age.
import { useEffect, useState } from 'preact/hooks';
import { call, get, list, type ApiError } from '../api';
import { t, type Key } from '../i18n';
import { DateText, Dialog, DialogActions, ErrorBox, Field, ListTable, Loading, Note, PagedTable, Raw, useAct, useAction, useLoad, usePaged } from '../ui';
import { ScheduleCard } from './schedule';
import { Health } from './system';

// ---- scanners -----------------------------------------------------------------------------------

interface Scanner {
  uuid: string;
  name: string;
  description?: string;
  url?: string;
  auth?: string;
  access_credential?: string;
  skip_certVerify?: boolean;
  use_internal_addr?: boolean;
  disabled?: boolean;
  is_default?: boolean;
  builtin?: boolean;
  adapter?: string;
  vendor?: string;
  version?: string;
  health?: string;
}

/** What the adapter says of itself (`GET /scanners/{id}/metadata`, the adapter's `/api/v1/metadata`). */
interface ScannerMetadata {
  scanner?: { name?: string; vendor?: string; version?: string };
  capabilities?: { type?: string; consumes_mime_types?: string[]; produces_mime_types?: string[] }[];
  properties?: Record<string, string>;
}

/** The adapter property Harbor's adapters (Trivy, Clair) give their database's age in. */
const DB_UPDATED = 'harbor.scanner-adapter/vulnerability-database-updated-at';
const AUTH_TYPES = ['', 'Basic', 'Bearer', 'X-ScannerAdapter-API-Key'];
const MASK = '*****';
const scannerPath = (s: Scanner) => `/scanners/${encodeURIComponent(s.uuid)}`;

export function Scanners() {
  const p = usePaged<Scanner>((page, pageSize) => list('/scanners', { page, pageSize }), []);
  const { error, note, act } = useAct(p.reload);
  const [editing, setEditing] = useState<Scanner | 'new' | null>(null);
  const [meta, setMeta] = useState<Scanner | null>(null);
  // Enable or disable: PUT of the whole registration, the masked credential keeping the stored one.
  const toggle = (s: Scanner) => act(() => call('PUT', scannerPath(s), { ...registration(s), disabled: !s.disabled }), t(s.disabled ? 'scanners.enabledOk' : 'scanners.disabledOk', { name: s.name }));
  return (
    <div>
      <section class="card" aria-labelledby="scanners-title">
        <div class="toolbar">
          <h2 id="scanners-title">{t('scanners.title')}</h2>
          <button type="button" class="primary" data-test="scanner-new" onClick={() => setEditing('new')}>
            {t('scanners.new')}
          </button>
        </div>
        <Note text={note} test="scanner-note" />
        <PagedTable
          p={p}
          error={error}
          test="scanner-list"
          cols={['scanners.name', 'scanners.vendor', 'scanners.health', 'scanners.default', 'scanners.state', null]}
          row={(s) => (
            <tr data-test="scanner-row" data-uuid={s.uuid} data-name={s.name}>
              <td>
                <Raw>{s.name}</Raw> {s.builtin ? <span class="badge">{t('scanners.builtin')}</span> : null}
                {s.url ? (
                  <div>
                    <code data-raw="">{s.url}</code>
                  </div>
                ) : null}
                {s.description ? (
                  <div class="muted">
                    <Raw>{s.description}</Raw>
                  </div>
                ) : null}
              </td>
              <td>
                <Raw>{[s.vendor, s.version].filter(Boolean).join(' ')}</Raw>
              </td>
              <td>
                <Health value={s.health} />
              </td>
              <td data-test="scanner-default">{s.is_default ? t('common.yes') : t('common.no')}</td>
              <td data-test="scanner-state">{s.disabled ? t('policy.off') : t('policy.on')}</td>
              <td class="right nowrap">
                <button type="button" class="small" data-test="scanner-ping" aria-label={t('scanners.pingOf', { name: s.name })} onClick={() => void act(() => get(`${scannerPath(s)}/metadata`), t('registries.pingOk', { name: s.name }))}>
                  {t('registries.ping')}
                </button>{' '}
                <button type="button" class="small" data-test="scanner-metadata" aria-label={t('scanners.metadataOf', { name: s.name })} onClick={() => setMeta(s)}>
                  {t('scanners.metadata')}
                </button>{' '}
                <button type="button" class="small" data-test="scanner-make-default" disabled={!!s.is_default} onClick={() => void act(() => call('PATCH', scannerPath(s), { is_default: true }))}>
                  {t('scanners.makeDefault')}
                </button>{' '}
                <button type="button" class="small" data-test="scanner-edit" aria-label={t('scanners.editOf', { name: s.name })} onClick={() => setEditing(s)}>
                  {t('common.edit')}
                </button>{' '}
                <button type="button" class="small" data-test="scanner-toggle" onClick={() => void toggle(s)}>
                  {s.disabled ? t('scanners.enable') : t('scanners.disable')}
                </button>{' '}
                <button
                  type="button"
                  class="small danger"
                  data-test="scanner-delete"
                  disabled={!!s.builtin}
                  title={s.builtin ? t('scanners.builtinHint') : undefined}
                  onClick={() => {
                    if (confirm(t('scanners.confirmDelete', { name: s.name }))) void act(() => call('DELETE', scannerPath(s)));
                  }}
                >
                  {t('common.delete')}
                </button>
              </td>
            </tr>
          )}
        />
      </section>
      <Allowlist />
      {editing ? <ScannerDialog scanner={editing === 'new' ? null : editing} onClose={() => setEditing(null)} onSaved={() => (setEditing(null), p.reload())} /> : null}
      {meta ? <MetadataDialog scanner={meta} onClose={() => setMeta(null)} /> : null}
    </div>
  );
}

/** A stored registration as the API takes it back (the credential stays masked: the server keeps it). */
function registration(s: Scanner) {
  return {
    name: s.name,
    description: s.description ?? '',
    url: s.url ?? '',
    auth: s.auth ?? '',
    access_credential: s.auth ? MASK : '',
    skip_certVerify: !!s.skip_certVerify,
    use_internal_addr: !!s.use_internal_addr,
    disabled: !!s.disabled,
  };
}

function authLabel(a: string) {
  return a === '' ? t('scanners.authNone') : a;
}

function ScannerDialog(props: { scanner: Scanner | null; onClose: () => void; onSaved: () => void }) {
  const old = props.scanner;
  const [f, setF] = useState({
    name: old?.name ?? '',
    description: old?.description ?? '',
    url: old?.url ?? '',
    auth: old?.auth ?? '',
    user: '',
    secret: '',
    skip: !!old?.skip_certVerify,
    internal: !!old?.use_internal_addr,
  });
  const upd = (k: keyof typeof f) => (e: Event) => {
    const el = e.target as HTMLInputElement;
    setF({ ...f, [k]: el.type === 'checkbox' ? el.checked : el.value });
  };
  const { busy, error, setError, onSubmit } = useAction();
  const [note, setNote] = useState<string | null>(null);
  const typed = f.auth === 'Basic' ? (f.user || f.secret ? `${f.user}:${f.secret}` : '') : f.secret;
  // A stored credential is kept when none is typed, for the same address and kind of auth only.
  const keeps = !!old && !!old.auth && old.auth === f.auth && old.url === f.url.trim() && !typed;
  const needsCred = !!f.auth && !keeps;
  const body = () => ({
    name: f.name.trim(),
    description: f.description,
    url: f.url.trim(),
    auth: f.auth,
    access_credential: !f.auth ? '' : keeps ? MASK : typed,
    skip_certVerify: f.skip,
    use_internal_addr: f.internal,
    ...(old ? { disabled: !!old.disabled } : {}),
  });
  const test = async () => {
    setError(null);
    setNote(null);
    try {
      // With the stored credential the server tests the stored registration; otherwise what is typed.
      if (keeps && old) await get(`${scannerPath(old)}/metadata`);
      else await call('POST', '/scanners/ping', body());
      setNote(t('registries.pingOk', { name: f.url.trim() }));
    } catch (err) {
      setError(err);
    }
  };
  const submit = onSubmit(async () => {
    if (old) await call('PUT', scannerPath(old), body());
    else await call('POST', '/scanners', body());
    props.onSaved();
  });
  return (
    <Dialog title={old ? t('scanners.edit') : t('scanners.new')} onClose={props.onClose} test="scanner-dialog">
      <form onSubmit={submit}>
        <Field label={t('scanners.name')}>
          <input required value={f.name} data-test="scanner-name" onInput={upd('name')} />
        </Field>
        <Field label={t('labels.description')}>
          <input value={f.description} data-test="scanner-description" onInput={upd('description')} />
        </Field>
        <Field label={t('scanners.url')} hint={t('scanners.urlHint')}>
          <input required type="url" value={f.url} data-test="scanner-url" onInput={upd('url')} />
        </Field>
        <Field label={t('scanners.auth')}>
          <select value={f.auth} data-test="scanner-auth" onChange={upd('auth')}>
            {AUTH_TYPES.map((a) => (
              <option value={a} data-raw={a ? '' : undefined}>
                {authLabel(a)}
              </option>
            ))}
          </select>
        </Field>
        {f.auth === 'Basic' ? (
          <Field label={t('registries.accessKey')}>
            <input value={f.user} required={needsCred} autoComplete="off" data-test="scanner-user" onInput={upd('user')} />
          </Field>
        ) : null}
        {f.auth ? (
          <Field label={f.auth === 'Basic' ? t('signin.password') : t('scanners.credential')} hint={old?.auth ? (keeps ? t('scanners.credentialKept') : t('scanners.credentialAgain')) : undefined}>
            <input type="password" value={f.secret} required={needsCred} autoComplete="new-password" data-test="scanner-credential" onInput={upd('secret')} />
          </Field>
        ) : null}
        <label class="check">
          <input type="checkbox" checked={f.skip} data-test="scanner-skip-verify" onChange={upd('skip')} /> {t('scanners.skipVerify')}
        </label>
        <label class="check">
          <input type="checkbox" checked={f.internal} data-test="scanner-internal" onChange={upd('internal')} /> {t('scanners.internal')}
        </label>
        <DialogActions error={error} errorTest="scanner-dialog-error" note={note} noteTest="scanner-test-ok" busy={busy} onCancel={props.onClose} test="scanner-save" label={old ? t('common.save') : t('common.create')}>
          <button type="button" data-test="scanner-test" onClick={() => void test()} disabled={!f.url.trim()}>
            {t('registries.ping')}
          </button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

function MetadataDialog(props: { scanner: Scanner; onClose: () => void }) {
  const m = useLoad(() => get<ScannerMetadata>(`${scannerPath(props.scanner)}/metadata`), [props.scanner.uuid]);
  const d = m.data;
  const props_ = Object.entries(d?.properties ?? {});
  const dbTime = d?.properties?.[DB_UPDATED];
  return (
    <Dialog title={t('scanners.metadataOf', { name: props.scanner.name })} onClose={props.onClose} test="scanner-metadata-dialog" wide>
      <ErrorBox error={m.error} />
      <Loading when={m.loading} />
      {d ? (
        <>
          <dl class="facts">
            <dt>{t('scanners.name')}</dt>
            <dd data-test="scanner-meta-name">
              <Raw>{d.scanner?.name ?? ''}</Raw>
            </dd>
            <dt>{t('scanners.vendorOnly')}</dt>
            <dd data-test="scanner-meta-vendor">
              <Raw>{d.scanner?.vendor ?? ''}</Raw>
            </dd>
            <dt>{t('scanners.version')}</dt>
            <dd data-test="scanner-meta-version">
              <Raw>{d.scanner?.version ?? ''}</Raw>
            </dd>
            <dt>{t('scanall.dbUpdated')}</dt>
            <dd>{dbTime ? <DateText value={dbTime} /> : <span class="muted">—</span>}</dd>
          </dl>
          <h3>{t('scanners.capabilities')}</h3>
          <ListTable
            test="scanner-capabilities"
            cols={['scanners.capType', 'scanners.consumes', 'scanners.produces']}
            items={d.capabilities ?? []}
            row={(c) => (
              <tr>
                <td>
                  <Raw>{c.type ?? 'vulnerability'}</Raw>
                </td>
                <td>{(c.consumes_mime_types ?? []).map((x) => <div><code data-raw="">{x}</code></div>)}</td>
                <td>{(c.produces_mime_types ?? []).map((x) => <div><code data-raw="">{x}</code></div>)}</td>
              </tr>
            )}
          />
          {props_.length ? (
            <>
              <h3>{t('scanners.properties')}</h3>
              <dl class="facts" data-test="scanner-properties">
                {props_.map(([k, v]) => (
                  <>
                    <dt>
                      <code data-raw="">{k}</code>
                    </dt>
                    <dd>
                      <Raw>{v}</Raw>
                    </dd>
                  </>
                ))}
              </dl>
            </>
          ) : null}
        </>
      ) : null}
    </Dialog>
  );
}

// ---- scan all -----------------------------------------------------------------------------------

interface ScanAllMetrics {
  total?: number;
  completed?: number;
  ongoing?: boolean;
  trigger?: string;
  metrics?: Record<string, number>;
}

const SCAN_STATUS: Record<string, Key> = {
  Success: 'status.success',
  Error: 'status.error',
  Running: 'status.running',
  Pending: 'status.pending',
  Stopped: 'status.stopped',
  Scheduled: 'status.pending',
};

export function ScanAll() {
  const m = useLoad(() => get<ScanAllMetrics>('/scans/all/metrics'), []);
  const db = useLoad(() => get<{ updated_at?: string | null; advisories?: number }>('/system/vulndb').catch((e: ApiError) => (e.status === 404 ? null : Promise.reject(e))), []);
  const { busy, error, run } = useAction();
  const [note, setNote] = useState<string | null>(null);
  const [polling, setPolling] = useState(false);
  const ongoing = !!m.data?.ongoing;
  // Refreshed while a scan all runs (and for a moment after starting one, until it shows up).
  useEffect(() => {
    if (!ongoing && !polling) return;
    const id = window.setTimeout(() => (m.reload(), setPolling(false)), 2000);
    return () => window.clearTimeout(id);
  }, [ongoing, polling, m.data]);
  const start = () =>
    void run(async () => {
      setNote(null);
      await call('POST', '/system/scanAll/schedule', { schedule: { type: 'Manual' } });
      setNote(t('scanall.started'));
      m.reload();
      setPolling(true);
    });
  const stop = () =>
    void run(async () => {
      setNote(null);
      await call('POST', '/system/scanAll/stop');
      setNote(t('scanall.stopped'));
      m.reload();
    });
  const d = m.data;
  const total = d?.total ?? 0;
  const done = d?.completed ?? 0;
  const pct = total > 0 ? Math.min(100, (done / total) * 100) : 0;
  return (
    <div>
      <section class="card" aria-labelledby="scanall-title" data-test="scanall">
        <h2 id="scanall-title">{t('scanall.title')}</h2>
        <p class="muted">{t('scanall.hint')}</p>
        <dl class="facts">
          <dt>{t('scanall.dbUpdated')}</dt>
          <dd data-test="scanall-db">
            {db.data?.updated_at ? <DateText value={db.data.updated_at} /> : <span class="muted">{db.data ? t('scanall.dbNever') : '—'}</span>}
            {db.data?.advisories != null ? <span class="muted"> · {t('scanall.advisories', { n: db.data.advisories })}</span> : null}
          </dd>
        </dl>
        <ErrorBox error={db.error} />
        <div class="actions left">
          <button type="button" class="primary" disabled={busy || ongoing} data-test="scanall-now" onClick={start}>
            {t('scanall.now')}
          </button>
          <button type="button" disabled={busy || !ongoing} data-test="scanall-stop" onClick={stop}>
            {t('scanall.stop')}
          </button>
          <button type="button" data-test="scanall-refresh" onClick={m.reload}>
            {t('common.refresh')}
          </button>
        </div>
        <ErrorBox error={error ?? m.error} />
        <Note text={note} test="scanall-note" />
        <h3>{t('scanall.progress')}</h3>
        <Loading when={m.loading && !d} />
        {d ? (
          <div data-test="scanall-metrics" data-total={String(total)} data-completed={String(done)} data-ongoing={String(ongoing)}>
            <div class="quota">
              <div class="bar wide" role="progressbar" aria-valuemin={0} aria-valuemax={total} aria-valuenow={done} aria-label={t('scanall.progress')}>
                <div class="fill" style={{ width: `${pct}%` }} />
              </div>
              <span class="quota-text" data-test="scanall-counts">
                {t('scanall.counts', { done, total })}
              </span>
              <span class={ongoing ? 'badge' : 'muted'} data-test="scanall-state">
                {ongoing ? t('status.running') : total ? t('scanall.finished') : t('scanall.never')}
              </span>
            </div>
            <p>
              {Object.entries(d.metrics ?? {}).map(([k, n]) => (
                <span class="chip" data-test="scanall-status" data-status={k}>
                  {SCAN_STATUS[k] ? t(SCAN_STATUS[k]) : <Raw>{k}</Raw>}: {n}
                </span>
              ))}
            </p>
          </div>
        ) : null}
      </section>
      <ScheduleCard path="/system/scanAll/schedule" title={t('scanall.schedule')} test="scanall-schedule" />
    </div>
  );
}

// ---- the system CVE allowlist -------------------------------------------------------------------

interface AllowlistBody {
  id?: number;
  project_id?: number;
  expires_at?: number | null;
  items: { cve_id: string }[];
}

function Allowlist() {
  const l = useLoad(() => get<AllowlistBody>('/system/CVEAllowlist'), []);
  const [cve, setCve] = useState('');
  const { error, note, act } = useAct(l.reload);
  const save = (items: { cve_id: string }[], expires: number | null | undefined) => act(() => call('PUT', '/system/CVEAllowlist', { ...l.data, items, expires_at: expires ?? null }), t('common.saved'));
  const items = l.data?.items ?? [];
  const exp = l.data?.expires_at;
  const expDate = exp ? new Date(exp * 1000).toISOString().slice(0, 10) : '';
  return (
    <section class="card" aria-labelledby="allow-title" data-test="allowlist">
      <h2 id="allow-title">{t('allowlist.title')}</h2>
      <p class="muted">{t('allowlist.hint')}</p>
      <ErrorBox error={l.error ?? error} />
      <Note text={note} test="allowlist-note" />
      <Loading when={l.loading && !l.data} />
      {l.data ? (
        <>
          <div data-test="allowlist-items">
            {items.length ? (
              items.map((x) => (
                <span class="chip" data-test="allowlist-item" data-cve={x.cve_id}>
                  <Raw>{x.cve_id}</Raw>{' '}
                  <button type="button" class="icon chip-x" aria-label={t('allowlist.removeOf', { id: x.cve_id })} data-test="allowlist-remove" onClick={() => void save(items.filter((y) => y.cve_id !== x.cve_id), exp)}>
                    ×
                  </button>
                </span>
              ))
            ) : (
              <p class="muted">{t('allowlist.none')}</p>
            )}
          </div>
          <form
            class="toolbar"
            onSubmit={(e) => {
              e.preventDefault();
              const ids = cve
                .split(/[\s,]+/)
                .map((x) => x.trim().toUpperCase())
                .filter((x) => x && !items.some((y) => y.cve_id === x));
              if (ids.length) void save([...items, ...ids.map((cve_id) => ({ cve_id }))], exp).then(() => setCve(''));
            }}
          >
            <label>
              <span class="sr-only">{t('allowlist.cveIds')}</span>
              <input value={cve} aria-label={t('allowlist.cveIds')} data-test="allowlist-new" onInput={(e) => setCve((e.target as HTMLInputElement).value)} />
            </label>
            <button type="submit" class="small" data-test="allowlist-add">
              {t('common.add')}
            </button>
            <label>
              {t('allowlist.expires')}{' '}
              <input
                type="date"
                value={expDate}
                data-test="allowlist-expires"
                onChange={(e) => {
                  const v = (e.target as HTMLInputElement).value;
                  void save(items, v ? Math.floor(Date.parse(`${v}T00:00:00Z`) / 1000) : null);
                }}
              />
            </label>
            {exp ? (
              <button type="button" class="small" data-test="allowlist-never" onClick={() => void save(items, null)}>
                {t('allowlist.never')}
              </button>
            ) : (
              <span class="muted">{t('allowlist.neverExpires')}</span>
            )}
          </form>
        </>
      ) : null}
    </section>
  );
}
