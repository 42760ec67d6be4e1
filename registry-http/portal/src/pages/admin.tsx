// Administration (system admins): the tabs, users, garbage collection and the audit log.
import { useState } from 'preact/hooks';
import { API, call, getText, list, qValue, raw, type AuditLog, type GcRun, type User } from '../api';
import { t, type Key } from '../i18n';
import { BASE } from '../router';
import { DateText, DeleteButton, Dialog, DialogActions, Empty, ErrorBox, Field, Link, ListToolbar, Loading, PagedTable, Raw, SizeText, useAct, useAction, useAuthMode, useLoad, usePaged } from '../ui';
import { AuditTable } from './project';
import { ScheduleCard, type ScheduleParams } from './schedule';
import { Groups } from './groups';
import { SystemRobots } from './system';
import { Registries, Replication } from './replication';
import { Config } from './config';
import { ScanAll, Scanners } from './scanners';
import { Quotas } from './quotas';
import { Labels } from './labels';
import { LdapImport } from './ldap';

export const ADMIN_TABS = ['users', 'groups', 'robots', 'registries', 'replication', 'scanners', 'vulnerability', 'quotas', 'labels', 'gc', 'audit', 'config'];
const TAB_LABEL: Record<string, Key> = {
  users: 'admin.tab.users',
  groups: 'admin.tab.groups',
  robots: 'admin.tab.robots',
  registries: 'admin.tab.registries',
  replication: 'admin.tab.replication',
  scanners: 'admin.tab.scanners',
  vulnerability: 'admin.tab.vulnerability',
  quotas: 'admin.tab.quotas',
  labels: 'admin.tab.labels',
  gc: 'admin.tab.gc',
  audit: 'admin.tab.audit',
  config: 'admin.tab.config',
};

export function AdminPage(props: { tab: string; me: User }) {
  return (
    <section>
      <h1>{t('nav.admin')}</h1>
      <nav class="tabs" aria-label={t('admin.tabs')}>
        {ADMIN_TABS.map((tab) => (
          <Link href={`${BASE}/admin/${tab}`} class={tab === props.tab ? 'tab active' : 'tab'} aria-current={tab === props.tab ? 'page' : undefined} data-test={`admin-tab-${tab}`}>
            {t(TAB_LABEL[tab]!)}
          </Link>
        ))}
      </nav>
      {props.tab === 'users' ? <Users me={props.me} /> : null}
      {props.tab === 'groups' ? <Groups /> : null}
      {props.tab === 'robots' ? <SystemRobots /> : null}
      {props.tab === 'registries' ? <Registries /> : null}
      {props.tab === 'replication' ? <Replication /> : null}
      {props.tab === 'scanners' ? <Scanners /> : null}
      {props.tab === 'vulnerability' ? <ScanAll /> : null}
      {props.tab === 'quotas' ? <Quotas /> : null}
      {props.tab === 'labels' ? <Labels /> : null}
      {props.tab === 'gc' ? <Gc /> : null}
      {props.tab === 'audit' ? <Audit /> : null}
      {props.tab === 'config' ? <Config /> : null}
    </section>
  );
}

function Users(props: { me: User }) {
  const [creating, setCreating] = useState(false);
  const [importing, setImporting] = useState(false);
  const ldap = useAuthMode() === 'ldap_auth';
  const p = usePaged<User>((page, pageSize, q) => list('/users', { page, pageSize, q: q ? `username=~${qValue(q)}` : undefined, sort: 'username' }), []);
  const { error, act } = useAct(p.reload);
  return (
    <div>
      <ListToolbar q={p.q} onSearch={p.setQ} label={t('users.search')} test="user-search" newLabel={t('users.new')} newTest="user-new" onNew={() => setCreating(true)}>
        {ldap ? (
          <button type="button" data-test="ldap-import" onClick={() => setImporting(true)}>
            {t('ldap.importTitle')}
          </button>
        ) : null}
      </ListToolbar>
      <PagedTable
        p={p}
        error={error}
        always
        test="user-list"
        cols={['users.username', 'users.realname', 'users.email', 'users.admin', 'common.created', null]}
        row={(u) => (
          <tr key={u.user_id} data-test="user-row" data-name={u.username}>
            <td>
              <Raw>{u.username}</Raw>
            </td>
            <td>
              <Raw>{u.realname ?? ''}</Raw>
            </td>
            <td>
              <Raw>{u.email ?? ''}</Raw>
            </td>
            <td>
              <label class="check">
                <input
                  type="checkbox"
                  checked={!!u.sysadmin_flag}
                  aria-label={t('users.adminOf', { name: u.username })}
                  onChange={async (e) => {
                    // on failure too: the box shows the stored flag again
                    if (!(await act(() => call('PUT', `/users/${u.user_id}/sysadmin`, { sysadmin_flag: (e.target as HTMLInputElement).checked })))) p.reload();
                  }}
                />
              </label>
            </td>
            <td>
              <DateText value={u.creation_time} />
            </td>
            <td class="right">
              <DeleteButton
                test="user-delete"
                disabled={u.user_id === props.me.user_id}
                label={t('users.deleteOf', { name: u.username })}
                confirm={t('users.confirmDelete', { name: u.username })}
                onConfirmed={() => act(() => call('DELETE', `/users/${u.user_id}`))}
              />
            </td>
          </tr>
        )}
      />
      {creating ? <CreateUser onClose={() => setCreating(false)} onCreated={() => (setCreating(false), p.reload())} /> : null}
      {importing ? (
        <LdapImport
          onClose={() => setImporting(false)}
          onImported={(all) => {
            if (all) setImporting(false);
            p.reload();
          }}
        />
      ) : null}
    </div>
  );
}

function CreateUser(props: { onClose: () => void; onCreated: () => void }) {
  const { busy, error, onSubmit } = useAction();
  const [f, setF] = useState({ username: '', email: '', realname: '', password: '', comment: '' });
  const upd = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value });
  const submit = onSubmit(async () => {
    await call('POST', '/users', f);
    props.onCreated();
  });
  return (
    <Dialog title={t('users.new')} onClose={props.onClose} test="user-dialog">
      <form onSubmit={submit}>
        <Field label={t('users.username')}>
          <input required value={f.username} autoComplete="off" data-test="user-username" onInput={upd('username')} />
        </Field>
        <Field label={t('users.email')}>
          <input type="email" required value={f.email} data-test="user-email" onInput={upd('email')} />
        </Field>
        <Field label={t('users.realname')}>
          <input value={f.realname} data-test="user-realname" onInput={upd('realname')} />
        </Field>
        <Field label={t('users.password')} hint={t('users.passwordHint')}>
          <input type="password" required autoComplete="new-password" value={f.password} data-test="user-password" onInput={upd('password')} />
        </Field>
        <Field label={t('users.comment')}>
          <input value={f.comment} onInput={upd('comment')} />
        </Field>
        <DialogActions error={error} busy={busy} onCancel={props.onClose} test="user-create" label={t('common.create')} />
      </form>
    </Dialog>
  );
}

const STATUS_KEY: Record<string, Key> = {
  pending: 'status.pending',
  running: 'status.running',
  success: 'status.success',
  succeed: 'status.success',
  failed: 'status.error',
  error: 'status.error',
  stopped: 'status.stopped',
  inprogress: 'status.running',
  in_progress: 'status.running',
  scheduled: 'status.pending',
};
export function statusName(s: string): string {
  const k = STATUS_KEY[s.toLowerCase()];
  return k ? t(k) : s;
}

function gcParams(run: GcRun): Record<string, unknown> {
  try {
    return JSON.parse(run.job_parameters || '{}') as Record<string, unknown>;
  } catch {
    return {};
  }
}

function Gc() {
  const [dryRun, setDryRun] = useState(false);
  const [untagged, setUntagged] = useState(false);
  const [logOf, setLogOf] = useState<number | null>(null);
  const p = usePaged<GcRun>((page, pageSize) => list('/system/gc', { page, pageSize, sort: '-creation_time' }), [], 10);
  const action = useAction();
  const { busy, error } = action;
  const run = (dry: boolean) =>
    action.run(async () => {
      await call('POST', '/system/gc/schedule', { schedule: { type: 'Manual' }, parameters: { dry_run: dry, delete_untagged: untagged, workers: 1 } });
      p.reload();
    });
  return (
    <div>
      <ScheduleCard path="/system/gc/schedule" title={t('gc.schedule')} test="gc-schedule" params={GC_PARAMS} />
      <div class="card" role="group" aria-labelledby="gc-now-title">
        <h2 id="gc-now-title">{t('gc.runNow')}</h2>
        <label class="check">
          <input type="checkbox" checked={untagged} data-test="gc-untagged" onChange={(e) => setUntagged((e.target as HTMLInputElement).checked)} /> {t('gc.untagged')}
        </label>
        <label class="check">
          <input type="checkbox" checked={dryRun} data-test="gc-dryrun-check" onChange={(e) => setDryRun((e.target as HTMLInputElement).checked)} /> {t('gc.dryRunLabel')}
        </label>
        <div class="actions left">
          <button type="button" class="primary" disabled={busy} onClick={() => run(dryRun)} data-test="gc-run">
            {t('gc.runNow')}
          </button>
          <button type="button" disabled={busy} onClick={() => run(true)} data-test="gc-dryrun">
            {t('gc.dryRun')}
          </button>
          <button type="button" onClick={p.reload} data-test="gc-refresh">
            {t('common.refresh')}
          </button>
        </div>
        <ErrorBox error={error} />
      </div>
      <h2 class="sub">{t('gc.history')}</h2>
      <PagedTable
        p={p}
        always
        test="gc-list"
        cols={['gc.id', 'gc.trigger', 'gc.mode', 'gc.status', 'gc.result', 'common.created', null]}
        row={(r) => {
          const ps = gcParams(r);
          const freed = typeof ps.freed_space === 'number' ? ps.freed_space : null;
          const blobs = ps.purged_blobs ?? ps.deleted_blobs ?? ps.blobs_deleted;
          return (
            <tr key={r.id} data-test="gc-row" data-status={r.job_status} data-dry-run={String(!!ps.dry_run)}>
              <td>
                <Raw>{String(r.id)}</Raw>
              </td>
              <td>{r.job_kind === 'SCHEDULE' ? t('gc.scheduled') : t('gc.manual')}</td>
              <td data-test="gc-mode">{ps.dry_run ? t('gc.modeDry') : t('gc.modeReal')}</td>
              <td data-test="gc-status">{statusName(r.job_status)}</td>
              <td>
                {freed != null ? (
                  <>
                    {t('gc.freed')} <SizeText bytes={freed} />
                  </>
                ) : null}
                {typeof blobs === 'number' ? <> · {t('gc.blobs', { n: blobs })}</> : null}
              </td>
              <td>
                <DateText value={r.creation_time} />
              </td>
              <td class="right">
                <button type="button" class="small" data-test="gc-log" onClick={() => setLogOf(r.id)} aria-label={t('gc.logOf', { id: r.id })}>
                  {t('gc.log')}
                </button>
              </td>
            </tr>
          );
        }}
      />
      {logOf != null ? <GcLog id={logOf} onClose={() => setLogOf(null)} /> : null}
    </div>
  );
}

/** The GC job's own parameters on its schedule: workers and whether untagged artifacts go too. */
const GC_PARAMS: ScheduleParams<{ untagged: boolean; workers: string }> = {
  read: (ps) => ({ untagged: !!ps.delete_untagged, workers: String(ps.workers ?? 1) }),
  body: (p) => ({ delete_untagged: p.untagged, workers: Math.max(1, Number(p.workers) || 1) }),
  fields: (p, upd) => (
    <>
      <Field label={t('gc.workers')}>
        <input type="number" min="1" max="5" value={p.workers} data-test="gc-schedule-workers" onInput={(e) => upd({ workers: (e.target as HTMLInputElement).value })} />
      </Field>
      <label class="check">
        <input type="checkbox" checked={p.untagged} data-test="gc-schedule-untagged" onChange={(e) => upd({ untagged: (e.target as HTMLInputElement).checked })} /> {t('gc.untagged')}
      </label>
    </>
  ),
};

function GcLog(props: { id: number; onClose: () => void }) {
  const l = useLoad(() => getText(`/system/gc/${props.id}/log`), [props.id]);
  return (
    <Dialog title={t('gc.logOf', { id: props.id })} onClose={props.onClose} test="gc-log-dialog" wide>
      <ErrorBox error={l.error} />
      <Loading when={l.loading} />
      {l.data != null ? (
        <pre class="log" data-raw="" data-test="gc-log-text" tabIndex={0}>
          {l.data}
        </pre>
      ) : null}
    </Dialog>
  );
}

function Audit() {
  const [f, setF] = useState({ username: '', resource: '', resource_type: '', operation: '', from: '', to: '' });
  const [applied, setApplied] = useState(f);
  const q = (() => {
    const parts: string[] = [];
    if (applied.username) parts.push(`username=~${qValue(applied.username)}`);
    if (applied.resource) parts.push(`resource=~${qValue(applied.resource)}`);
    if (applied.resource_type) parts.push(`resource_type=${qValue(applied.resource_type)}`);
    if (applied.operation) parts.push(`operation=${qValue(applied.operation)}`);
    if (applied.from || applied.to) {
      const a = applied.from ? `${applied.from} 00:00:00` : '1970-01-01 00:00:00';
      const b = applied.to ? `${applied.to} 23:59:59` : '9999-12-31 23:59:59';
      parts.push(`op_time=[${a}~${b}]`);
    }
    return parts.join(',');
  })();
  const p = usePaged<AuditLog>((page, pageSize) => list('/audit-logs', { page, pageSize, q: q || undefined, sort: '-op_time' }), [q]);
  const upd = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value });
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<unknown>(null);
  // Fetched (not a plain link) so the session's headers apply and an API error is shown here.
  const download = async (format: string) => {
    setExporting(true);
    setExportError(null);
    try {
      const res = await raw('GET', `${API}/audit-logs/export?${new URLSearchParams({ format, sort: '-op_time', ...(q ? { q } : {}) })}`);
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = `audit-log.${format}`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      setExportError(e);
    } finally {
      setExporting(false);
    }
  };
  return (
    <div>
      <form
        class="filters card"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(f);
        }}
        data-test="audit-filters"
      >
        <Field label={t('logs.user')}>
          <input value={f.username} data-test="audit-username" onInput={upd('username')} />
        </Field>
        <Field label={t('logs.resource')}>
          <input value={f.resource} onInput={upd('resource')} />
        </Field>
        <Field label={t('logs.resourceType')}>
          <input value={f.resource_type} onInput={upd('resource_type')} />
        </Field>
        <Field label={t('logs.operation')}>
          <input value={f.operation} data-test="audit-operation" onInput={upd('operation')} />
        </Field>
        <Field label={t('logs.from')}>
          <input type="date" value={f.from} onInput={upd('from')} />
        </Field>
        <Field label={t('logs.to')}>
          <input type="date" value={f.to} onInput={upd('to')} />
        </Field>
        <div class="actions left">
          <button type="submit" class="primary" data-test="audit-apply">
            {t('logs.apply')}
          </button>
          <button type="button" disabled={exporting} onClick={() => download('csv')} data-test="audit-export-csv">
            {t('logs.exportCsv')}
          </button>
          <button type="button" disabled={exporting} onClick={() => download('json')} data-test="audit-export-json">
            {t('logs.exportJson')}
          </button>
        </div>
      </form>
      <ErrorBox error={p.error ?? exportError} />
      <Loading when={p.loading && !p.data} />
      {p.data ? <AuditTable items={p.data.items} /> : null}
      <Empty when={!!p.data && p.data.items.length === 0} />
      {p.pager}
    </div>
  );
}
