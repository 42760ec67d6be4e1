// Administration, continued: system robot accounts, scanners and the system CVE allowlist.
import { useState } from 'preact/hooks';
import { call, get, list, qValue, type Robot, type RobotCreated } from '../api';
import { t } from '../i18n';
import { Dialog, DialogActions, ErrorBox, Field, ListTable, ListToolbar, Loading, Note, PagedTable, Raw, useAct, useAction, useLoad, usePaged } from '../ui';
import { neverByExpiry, RobotRow, RobotSecret } from '../robots';

export function Health(props: { value?: string | undefined }) {
  const v = (props.value ?? '').toLowerCase();
  if (v === 'healthy') return <span class="ok">{t('health.healthy')}</span>;
  if (v === 'unhealthy') return <span class="danger-text">{t('health.unhealthy')}</span>;
  return <span class="muted">{t('health.unknown')}</span>;
}

// ---- system robots ------------------------------------------------------------------------------


export function SystemRobots() {
  const p = usePaged<Robot>((page, pageSize, q) => list('/robots', { page, pageSize, q: `Level=system${q ? `,name=~${qValue(q)}` : ''}` }), []);
  const { error, act } = useAct(p.reload);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<RobotCreated | null>(null);
  return (
    <div>
      <ListToolbar q={p.q} onSearch={p.setQ} label={t('robots.search')} test="sysrobot-search" newLabel={t('robots.new')} newTest="sysrobot-new" onNew={() => setCreating(true)} />
      <p class="muted">{t('sysrobots.hint')}</p>
      <PagedTable
        p={p}
        error={error}
        test="sysrobot-list"
        cols={['robots.name', 'robots.permissions', 'robots.expires', 'common.created', null]}
        row={(r) => <RobotRow robot={r} test="sysrobot" never={neverByExpiry} access={(x, a) => `${x.namespace}: ${a.resource} ${a.action}`} act={act} />}
      />
      {creating ? <CreateSystemRobot onClose={() => setCreating(false)} onCreated={(r) => (setCreating(false), setCreated(r), p.reload())} /> : null}
      {created ? <RobotSecret created={created} test="sysrobot" onClose={() => setCreated(null)} /> : null}
    </div>
  );
}

function CreateSystemRobot(props: { onClose: () => void; onCreated: (r: RobotCreated) => void }) {
  const { busy, error, onSubmit } = useAction();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [days, setDays] = useState('-1');
  const [push, setPush] = useState(false);
  const submit = onSubmit(async () => {
    const access = [{ resource: 'repository', action: 'pull' }];
    if (push) access.push({ resource: 'repository', action: 'push' });
    props.onCreated(
      await call<RobotCreated>('POST', '/robots', {
        name: name.trim(),
        description,
        level: 'system',
        duration: Number(days) || -1,
        permissions: [{ kind: 'project', namespace: '*', access }],
      }),
    );
  });
  return (
    <Dialog title={t('robots.new')} onClose={props.onClose} test="sysrobot-dialog">
      <form onSubmit={submit}>
        <Field label={t('robots.name')}>
          <input required value={name} data-test="sysrobot-name" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('robots.description')}>
          <input value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('robots.days')} hint={t('robots.daysHint')}>
          <input type="number" min="-1" value={days} onInput={(e) => setDays((e.target as HTMLInputElement).value)} />
        </Field>
        <fieldset>
          <legend>{t('sysrobots.allProjects')}</legend>
          <label class="check">
            <input type="checkbox" checked disabled /> {t('robots.pull')}
          </label>
          <label class="check">
            <input type="checkbox" checked={push} data-test="sysrobot-push" onChange={(e) => setPush((e.target as HTMLInputElement).checked)} /> {t('robots.push')}
          </label>
        </fieldset>
        <DialogActions error={error} busy={busy} onCancel={props.onClose} test="sysrobot-create" label={t('common.create')} />
      </form>
    </Dialog>
  );
}

// ---- scanners and the CVE allowlist -------------------------------------------------------------

interface Scanner {
  uuid: string;
  name: string;
  description?: string;
  url?: string;
  disabled?: boolean;
  is_default?: boolean;
  builtin?: boolean;
  adapter?: string;
  vendor?: string;
  version?: string;
  health?: string;
}

export function Scanners() {
  const p = usePaged<Scanner>((page, pageSize) => list('/scanners', { page, pageSize }), []);
  const { error, note, act } = useAct(p.reload);
  return (
    <div>
      <section class="card" aria-labelledby="scanners-title">
        <h2 id="scanners-title">{t('scanners.title')}</h2>
        <ErrorBox error={p.error ?? error} />
        <Note text={note} test="scanner-note" />
        <Loading when={p.loading && !p.data} />
        {p.data && p.data.items.length ? (
          <ListTable
            test="scanner-list"
            cols={['scanners.name', 'scanners.vendor', 'scanners.health', 'scanners.default', null]}
            items={p.data.items}
            row={(s) => (
              <tr data-test="scanner-row" data-uuid={s.uuid}>
                <td>
                  <Raw>{s.name}</Raw> {s.builtin ? <span class="badge">{t('scanners.builtin')}</span> : null}
                  {s.url ? (
                    <div>
                      <code data-raw="">{s.url}</code>
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
                <td class="right nowrap">
                  <button type="button" class="small" data-test="scanner-ping" aria-label={t('scanners.pingOf', { name: s.name })} onClick={() => void act(() => get(`/scanners/${encodeURIComponent(s.uuid)}/metadata`), t('registries.pingOk', { name: s.name }))}>
                    {t('registries.ping')}
                  </button>{' '}
                  <button type="button" class="small" data-test="scanner-make-default" disabled={!!s.is_default} onClick={() => void act(() => call('PATCH', `/scanners/${encodeURIComponent(s.uuid)}`, { is_default: true }))}>
                    {t('scanners.makeDefault')}
                  </button>{' '}
                  <button
                    type="button"
                    class="small danger"
                    data-test="scanner-delete"
                    disabled={!!s.builtin}
                    title={s.builtin ? t('scanners.builtinHint') : undefined}
                    onClick={() => {
                      if (confirm(t('scanners.confirmDelete', { name: s.name }))) void act(() => call('DELETE', `/scanners/${encodeURIComponent(s.uuid)}`));
                    }}
                  >
                    {t('common.delete')}
                  </button>
                </td>
              </tr>
            )}
          />
        ) : null}
        {p.pager}
      </section>
      <Allowlist />
    </div>
  );
}

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
