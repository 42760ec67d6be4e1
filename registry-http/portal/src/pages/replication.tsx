// Administration → registries and replication: registry endpoints (create, edit, test, delete),
// replication policies (one dialog creates and edits them), their runs (start, stop), each run's
// tasks and each task's log.
import { useState } from 'preact/hooks';
import { call, get, list, qValue } from '../api';
import { t, type Key } from '../i18n';
import { DateText, DeleteButton, Dialog, DialogActions, ErrorBox, Field, ListToolbar, Note, PagedTable, Raw, useAct, useAction, useLoad, usePaged, usePoll } from '../ui';
import { statusName } from './admin';
import { TextDialog } from './policies';
import { Health } from './system';

const val = (e: Event) => (e.target as HTMLInputElement).value;
const checked = (e: Event) => (e.target as HTMLInputElement).checked;

// ---- registries ---------------------------------------------------------------------------------

interface Registry {
  id: number;
  name: string;
  type: string;
  url: string;
  insecure?: boolean;
  status?: string;
  description?: string;
  credential?: { type?: string; access_key?: string; access_secret?: string } | null;
  creation_time?: string;
}

export function Registries() {
  const p = usePaged<Registry>((page, pageSize, q) => list('/registries', { page, pageSize, q: q ? `name=~${qValue(q)}` : undefined }), []);
  const { error, note, act } = useAct(p.reload);
  const [editing, setEditing] = useState<Registry | 'new' | null>(null);
  return (
    <div>
      <ListToolbar q={p.q} onSearch={p.setQ} label={t('registries.search')} test="registry-search" newLabel={t('registries.new')} newTest="registry-new" onNew={() => setEditing('new')} />
      <Note text={note} test="registry-note" />
      <PagedTable
        p={p}
        error={error}
        test="registry-list"
        cols={['registries.name', 'registries.type', 'registries.url', 'registries.status', 'common.created', null]}
        row={(r) => (
          <tr data-test="registry-row" data-name={r.name}>
            <td>
              <Raw>{r.name}</Raw>
            </td>
            <td>
              <Raw>{r.type}</Raw>
            </td>
            <td>
              <code data-raw="">{r.url}</code>
            </td>
            <td data-test="registry-status">
              <Health value={r.status} />
            </td>
            <td>
              <DateText value={r.creation_time} />
            </td>
            <td class="right nowrap">
              <button type="button" class="small" data-test="registry-ping" aria-label={t('registries.pingOf', { name: r.name })} onClick={() => void act(() => call('POST', '/registries/ping', { id: r.id }), t('registries.pingOk', { name: r.name }))}>
                {t('registries.ping')}
              </button>{' '}
              <button type="button" class="small" data-test="registry-edit" aria-label={t('registries.editOf', { name: r.name })} onClick={() => setEditing(r)}>
                {t('common.edit')}
              </button>{' '}
              <DeleteButton
                test="registry-delete"
                label={t('registries.deleteOf', { name: r.name })}
                confirm={t('registries.confirmDelete', { name: r.name })}
                onConfirmed={() => act(() => call('DELETE', `/registries/${r.id}`))}
              />
            </td>
          </tr>
        )}
      />
      {editing ? <RegistryDialog registry={editing === 'new' ? undefined : editing} onClose={() => setEditing(null)} onSaved={() => (setEditing(null), p.reload())} /> : null}
    </div>
  );
}

/** Creates a registry endpoint, or edits one (a secret is sent only when typed). */
function RegistryDialog(props: { registry?: Registry | undefined; onClose: () => void; onSaved: () => void }) {
  const r = props.registry;
  const { busy, error, setError, onSubmit } = useAction();
  const adapters = useLoad(() => get<string[]>('/replication/adapters'), []);
  const [f, setF] = useState({
    name: r?.name ?? '',
    type: r?.type ?? 'docker-registry',
    url: r?.url ?? '',
    description: r?.description ?? '',
    user: r?.credential?.access_key ?? '',
    secret: '',
    insecure: !!r?.insecure,
  });
  const upd = (x: Partial<typeof f>) => setF({ ...f, ...x });
  const [note, setNote] = useState<string | null>(null);
  // A new address or user without a new secret drops the stored one (the API's rule).
  const secretLost = !!r && !f.secret && (f.url.trim() !== r.url || f.user !== (r.credential?.access_key ?? ''));
  const submit = onSubmit(async () => {
    if (r) {
      await call('PUT', `/registries/${r.id}`, {
        name: f.name.trim(),
        description: f.description,
        url: f.url.trim(),
        insecure: f.insecure,
        credential_type: 'basic',
        access_key: f.user,
        ...(f.secret ? { access_secret: f.secret } : {}),
      });
    } else {
      await call('POST', '/registries', {
        name: f.name.trim(),
        type: f.type,
        url: f.url.trim(),
        description: f.description,
        insecure: f.insecure,
        credential: f.user || f.secret ? { type: 'basic', access_key: f.user, access_secret: f.secret } : null,
      });
    }
    props.onSaved();
  });
  const test = async () => {
    setError(null);
    setNote(null);
    try {
      await call('POST', '/registries/ping', {
        ...(r ? { id: r.id } : { type: f.type }),
        url: f.url.trim(),
        insecure: f.insecure,
        credential_type: 'basic',
        access_key: f.user || null,
        ...(f.secret || !r ? { access_secret: f.secret || null } : {}),
      });
      setNote(t('registries.pingOk', { name: f.url.trim() }));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog title={r ? t('registries.edit') : t('registries.new')} onClose={props.onClose} test="registry-dialog">
      <form onSubmit={submit}>
        <Field label={t('registries.type')}>
          <select value={f.type} disabled={!!r} data-test="registry-type" onChange={(e) => upd({ type: val(e) })}>
            {(adapters.data ?? ['docker-registry', 'harbor', 'docker-hub']).map((a) => (
              <option value={a} data-raw="">
                {a}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('registries.name')}>
          <input required value={f.name} data-test="registry-name" onInput={(e) => upd({ name: val(e) })} />
        </Field>
        <Field label={t('registries.description')}>
          <input value={f.description} data-test="registry-description" onInput={(e) => upd({ description: val(e) })} />
        </Field>
        <Field label={t('registries.url')}>
          <input required type="url" value={f.url} data-test="registry-url" onInput={(e) => upd({ url: val(e) })} />
        </Field>
        <Field label={t('registries.accessKey')}>
          <input value={f.user} autoComplete="off" data-test="registry-user" onInput={(e) => upd({ user: val(e) })} />
        </Field>
        <Field label={t('registries.accessSecret')} hint={r ? (secretLost ? t('registries.secretAgain') : t('registries.secretKept')) : undefined}>
          <input type="password" value={f.secret} autoComplete="new-password" data-test="registry-secret" onInput={(e) => upd({ secret: val(e) })} />
        </Field>
        <label class="check">
          <input type="checkbox" checked={f.insecure} data-test="registry-insecure" onChange={(e) => upd({ insecure: checked(e) })} /> {t('registries.insecure')}
        </label>
        <ErrorBox error={error} />
        <Note text={note} />
        <div class="actions">
          <button type="button" data-test="registry-test" onClick={() => void test()} disabled={!f.url.trim()}>
            {t('registries.ping')}
          </button>
          <button type="button" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="primary" disabled={busy} data-test="registry-save">
            {r ? t('common.save') : t('common.create')}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// ---- replication policies -----------------------------------------------------------------------

interface Filter {
  type: string;
  value: unknown;
  decoration?: string;
}

interface ReplicationPolicy {
  id: number;
  name: string;
  description?: string;
  enabled: boolean;
  src_registry?: { id: number; name?: string } | null;
  dest_registry?: { id: number; name?: string } | null;
  dest_namespace?: string;
  dest_namespace_replace_count?: number;
  filters?: Filter[] | null;
  trigger?: { type: string; trigger_settings?: { cron?: string } | null } | null;
  replicate_deletion?: boolean;
  override?: boolean;
  speed?: number;
  copy_by_chunk?: boolean;
  single_active_replication?: boolean;
  creation_time?: string;
}

interface ReplicationExecution {
  id: number;
  policy_id: number;
  status: string;
  status_text?: string;
  trigger: string;
  total: number;
  succeed: number;
  failed: number;
  in_progress?: number;
  stopped?: number;
  start_time: string;
  end_time?: string | null;
}

interface ReplicationTask {
  id: number;
  execution_id: number;
  status: string;
  operation?: string;
  resource_type?: string;
  src_resource: string;
  dst_resource: string;
  start_time?: string | null;
  end_time?: string | null;
}

const TRIGGER_KEY: Record<string, Key> = { manual: 'replication.trigger.manual', scheduled: 'replication.trigger.scheduled', event_based: 'replication.trigger.event_based' };
const triggerName = (x: string | undefined) => {
  const k = TRIGGER_KEY[(x ?? 'manual').toLowerCase()];
  return k ? t(k) : (x ?? '');
};

/** A run still going: its status is InProgress (or Pending). */
const isRunning = (s: string) => /^(inprogress|in_progress|running|pending)$/i.test(s);

function filterText(f: Filter): string {
  const v = Array.isArray(f.value) ? f.value.join(', ') : String(f.value);
  return `${f.type}${f.decoration === 'excludes' ? ' ≠' : ':'} ${v}`;
}

export function Replication() {
  const p = usePaged<ReplicationPolicy>((page, pageSize, q) => list('/replication/policies', { page, pageSize, q: q ? `name=~${qValue(q)}` : undefined }), []);
  const [runs, setRuns] = useState(0);
  const { error, note, act } = useAct(() => setRuns((x) => x + 1));
  const [editing, setEditing] = useState<ReplicationPolicy | 'new' | null>(null);
  const [selected, setSelected] = useState<number | null>(null);
  return (
    <div>
      <ListToolbar q={p.q} onSearch={p.setQ} label={t('replication.search')} test="replication-search" newLabel={t('replication.new')} newTest="replication-new" onNew={() => setEditing('new')} />
      <Note text={note} test="replication-note" />
      <PagedTable
        p={p}
        error={error}
        test="replication-list"
        cols={['replication.name', 'replication.mode', 'replication.registry', 'replication.filters', 'replication.trigger', 'policy.enabled', null]}
        row={(r) => (
          <tr data-test="replication-row" data-name={r.name} data-id={String(r.id)}>
            <td>
              <Raw>{r.name}</Raw>
              {r.description ? <div class="muted">{<Raw>{r.description}</Raw>}</div> : null}
            </td>
            <td>{r.src_registry ? t('replication.pull') : t('replication.push')}</td>
            <td>
              <Raw>{(r.src_registry ?? r.dest_registry)?.name ?? ''}</Raw>
            </td>
            <td>
              {(r.filters ?? []).map((f) => (
                <span class="chip">
                  <Raw>{filterText(f)}</Raw>
                </span>
              ))}
            </td>
            <td>
              {triggerName(r.trigger?.type)}
              {r.trigger?.trigger_settings?.cron ? (
                <>
                  {' '}
                  <code data-raw="">{r.trigger.trigger_settings.cron}</code>
                </>
              ) : null}
            </td>
            <td>{r.enabled ? t('policy.on') : t('policy.off')}</td>
            <td class="right nowrap">
              <button
                type="button"
                class="small"
                data-test="replication-start"
                aria-label={t('replication.startOf', { name: r.name })}
                onClick={() => void act(async () => (await call('POST', '/replication/executions', { policy_id: r.id }), setSelected(r.id)), t('replication.started'))}
              >
                {t('replication.start')}
              </button>{' '}
              <button type="button" class="small" aria-pressed={selected === r.id} data-test="replication-runs" onClick={() => setSelected(selected === r.id ? null : r.id)}>
                {t('replication.runs')}
              </button>{' '}
              <button type="button" class="small" data-test="replication-edit" aria-label={t('replication.editOf', { name: r.name })} onClick={() => setEditing(r)}>
                {t('common.edit')}
              </button>{' '}
              <DeleteButton
                test="replication-delete"
                label={t('replication.deleteOf', { name: r.name })}
                confirm={t('replication.confirmDelete', { name: r.name })}
                onConfirmed={() => act(async () => (await call('DELETE', `/replication/policies/${r.id}`), p.reload()))}
              />
            </td>
          </tr>
        )}
      />
      <ReplicationRuns policyId={selected} key={`${selected}-${runs}`} />
      {editing ? <PolicyDialog policy={editing === 'new' ? undefined : editing} onClose={() => setEditing(null)} onSaved={() => (setEditing(null), p.reload())} /> : null}
    </div>
  );
}

function ReplicationRuns(props: { policyId: number | null }) {
  const p = usePaged<ReplicationExecution>(
    (page, pageSize) => list('/replication/executions', { page, pageSize, sort: '-start_time', extra: props.policyId ? { policy_id: String(props.policyId) } : undefined }),
    [props.policyId],
    10,
  );
  const { error, note, act } = useAct(p.reload);
  const [open, setOpen] = useState<number | null>(null);
  usePoll(!!p.data?.items.some((e) => isRunning(e.status)), p.reload, [p.data]);
  return (
    <section class="card" aria-labelledby="repl-runs">
      <h2 id="repl-runs">{props.policyId ? t('replication.executionsOf', { id: props.policyId }) : t('replication.executions')}</h2>
      <Note text={note} test="replication-stop-note" />
      <PagedTable
        p={p}
        error={error}
        test="replication-executions"
        cols={['retention.runId', 'gc.status', 'retention.trigger', 'replication.progress', 'retention.started', 'replication.ended', null]}
        row={(e) => (
          <>
            <tr data-test="replication-execution" data-policy={String(e.policy_id)} data-id={String(e.id)} data-status={e.status}>
              <td>{e.id}</td>
              <td data-test="replication-execution-status">
                {statusName(e.status)}
                {e.status_text ? (
                  <div class="muted">
                    <Raw>{e.status_text}</Raw>
                  </div>
                ) : null}
              </td>
              <td>{triggerName(e.trigger)}</td>
              <td data-test="replication-execution-counts">{t('replication.counts', { ok: e.succeed, failed: e.failed, total: e.total })}</td>
              <td>
                <DateText value={e.start_time} />
              </td>
              <td>
                <DateText value={e.end_time} />
              </td>
              <td class="right nowrap">
                {isRunning(e.status) ? (
                  <>
                    <button type="button" class="small danger" data-test="replication-stop" aria-label={t('replication.stopOf', { id: e.id })} onClick={() => void act(() => call('PUT', `/replication/executions/${e.id}`), t('replication.stopping'))}>
                      {t('replication.stop')}
                    </button>{' '}
                  </>
                ) : null}
                <button type="button" class="small" aria-expanded={open === e.id} data-test="replication-tasks-toggle" onClick={() => setOpen(open === e.id ? null : e.id)}>
                  {t('replication.tasks')}
                </button>
              </td>
            </tr>
            {open === e.id ? (
              <tr>
                <td colSpan={7}>
                  <ReplicationTasks execution={e} />
                </td>
              </tr>
            ) : null}
          </>
        )}
      />
    </section>
  );
}

function ReplicationTasks(props: { execution: ReplicationExecution }) {
  const base = `/replication/executions/${props.execution.id}/tasks`;
  const p = usePaged<ReplicationTask>((page, pageSize) => list(base, { page, pageSize }), [base], 10);
  const [log, setLog] = useState<ReplicationTask | null>(null);
  usePoll(isRunning(props.execution.status) || !!p.data?.items.some((x) => isRunning(x.status)), p.reload, [p.data]);
  return (
    <div data-test="replication-tasks">
      <PagedTable
        p={p}
        cols={['replication.srcResource', 'replication.dstResource', 'replication.operation', 'gc.status', 'retention.started', null]}
        row={(x) => (
          <tr data-test="replication-task" data-id={String(x.id)} data-status={x.status}>
            <td>
              <Raw>{x.src_resource}</Raw>
            </td>
            <td>
              <Raw>{x.dst_resource}</Raw>
            </td>
            <td>
              <Raw>{x.operation ?? ''}</Raw>
            </td>
            <td>{statusName(x.status)}</td>
            <td>
              <DateText value={x.start_time} />
            </td>
            <td class="right">
              <button type="button" class="small" data-test="replication-task-log" aria-label={t('replication.logOf', { name: x.src_resource })} onClick={() => setLog(x)}>
                {t('gc.log')}
              </button>
            </td>
          </tr>
        )}
      />
      {log ? <TextDialog title={t('replication.logTitle', { id: log.id })} url={`${base}/${log.id}/log`} live={isRunning(log.status)} onClose={() => setLog(null)} test="replication-log" /> : null}
    </div>
  );
}

/** A filter's decoration: matching or excluding. */
function Decoration(props: { label: Key; test: string; excludes: boolean; onChange: (excludes: boolean) => void }) {
  return (
    <Field label={t(props.label)}>
      <select value={props.excludes ? 'excludes' : 'matches'} data-test={props.test} onChange={(e) => props.onChange(val(e) === 'excludes')}>
        <option value="matches">{t('replication.matches')}</option>
        <option value="excludes">{t('replication.excludes')}</option>
      </select>
    </Field>
  );
}

const FLATTEN: [number, Key][] = [
  [-1, 'replication.flatten.all'],
  [0, 'replication.flatten.none'],
  [1, 'replication.flatten.1'],
  [2, 'replication.flatten.2'],
  [3, 'replication.flatten.3'],
];

/** Creates a replication policy or, given one, edits it (prefilled; PUT of the whole policy). */
function PolicyDialog(props: { policy?: ReplicationPolicy | undefined; onClose: () => void; onSaved: () => void }) {
  const r = props.policy;
  const { busy, error, onSubmit } = useAction();
  const regs = useLoad(() => list<Registry>('/registries', { page: 1, pageSize: 100 }), []);
  const filter = (type: string) => r?.filters?.find((x) => x.type === type);
  const text = (x: Filter | undefined) => (x ? (Array.isArray(x.value) ? x.value.join(', ') : String(x.value ?? '')) : '');
  const [f, setF] = useState({
    name: r?.name ?? '',
    description: r?.description ?? '',
    mode: (r ? (r.src_registry ? 'pull' : 'push') : 'push') as 'pull' | 'push',
    registry: String((r?.src_registry ?? r?.dest_registry)?.id ?? ''),
    nameFilter: text(filter('name')),
    tag: text(filter('tag')),
    tagExcludes: filter('tag')?.decoration === 'excludes',
    label: text(filter('label')),
    labelExcludes: filter('label')?.decoration === 'excludes',
    resource: text(filter('resource')),
    dest: r?.dest_namespace ?? '',
    replaceCount: String(r?.dest_namespace_replace_count ?? -1),
    trigger: r?.trigger?.type ?? 'manual',
    cron: r?.trigger?.trigger_settings?.cron ?? '',
    deletion: !!r?.replicate_deletion,
    override: r?.override ?? true,
    enabled: r?.enabled ?? true,
    chunk: !!r?.copy_by_chunk,
    speed: String(r?.speed ?? -1),
    single: !!r?.single_active_replication,
  });
  const upd = (x: Partial<typeof f>) => setF({ ...f, ...x });
  // Until the registries are loaded, the policy's own registry is the one choice.
  const own = r?.src_registry ?? r?.dest_registry;
  const items: { id: number; name?: string }[] = regs.data?.items ?? (own ? [own] : []);
  const regId = Number(f.registry || items[0]?.id || 0);
  const submit = onSubmit(async () => {
    const filters: Filter[] = [];
    if (f.nameFilter.trim()) filters.push({ type: 'name', value: f.nameFilter.trim() });
    if (f.tag.trim()) filters.push({ type: 'tag', value: f.tag.trim(), decoration: f.tagExcludes ? 'excludes' : 'matches' });
    const labels = f.label
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
    if (labels.length) filters.push({ type: 'label', value: labels, decoration: f.labelExcludes ? 'excludes' : 'matches' });
    if (f.resource) filters.push({ type: 'resource', value: f.resource });
    const body = {
      name: f.name.trim(),
      description: f.description,
      src_registry: f.mode === 'pull' ? { id: regId } : null,
      dest_registry: f.mode === 'push' ? { id: regId } : null,
      dest_namespace: f.dest.trim(),
      dest_namespace_replace_count: Number(f.replaceCount),
      filters,
      trigger: f.trigger === 'scheduled' ? { type: 'scheduled', trigger_settings: { cron: f.cron.trim() } } : { type: f.trigger },
      replicate_deletion: f.trigger === 'event_based' && f.deletion,
      override: f.override,
      enabled: f.enabled,
      copy_by_chunk: f.chunk,
      speed: Number(f.speed) > 0 ? Number(f.speed) : -1,
      single_active_replication: f.single,
    };
    if (r) await call('PUT', `/replication/policies/${r.id}`, body);
    else await call('POST', '/replication/policies', body);
    props.onSaved();
  });
  return (
    <Dialog title={r ? t('replication.edit') : t('replication.new')} onClose={props.onClose} test="replication-dialog" wide>
      <form onSubmit={submit}>
        <div class="filters">
          <Field label={t('replication.name')}>
            <input required value={f.name} data-test="replication-name" onInput={(e) => upd({ name: val(e) })} />
          </Field>
          <Field label={t('replication.description')}>
            <input value={f.description} data-test="replication-description" onInput={(e) => upd({ description: val(e) })} />
          </Field>
          <Field label={t('replication.mode')}>
            <select value={f.mode} data-test="replication-mode" onChange={(e) => upd({ mode: val(e) as 'pull' | 'push', ...(val(e) === 'pull' && f.trigger === 'event_based' ? { trigger: 'manual' } : {}) })}>
              <option value="push">{t('replication.push')}</option>
              <option value="pull">{t('replication.pull')}</option>
            </select>
          </Field>
          <Field label={f.mode === 'pull' ? t('replication.source') : t('replication.destination')}>
            <select required value={String(regId || '')} data-test="replication-registry" onChange={(e) => upd({ registry: val(e) })}>
              {items.map((x) => (
                <option value={String(x.id)} data-raw="">
                  {x.name ?? x.id}
                </option>
              ))}
            </select>
          </Field>
        </div>
        {regs.data && !items.length ? <p class="muted">{t('replication.noRegistries')}</p> : null}
        <fieldset>
          <legend>{t('replication.filters')}</legend>
          <div class="filters">
            <Field label={t('replication.filter')} hint={t('replication.filterHint')}>
              <input value={f.nameFilter} data-test="replication-filter" onInput={(e) => upd({ nameFilter: val(e) })} />
            </Field>
            <Field label={t('replication.tagFilter')} hint={t('replication.tagHint')}>
              <input value={f.tag} data-test="replication-tag" onInput={(e) => upd({ tag: val(e) })} />
            </Field>
            <Decoration label="replication.tagDecoration" test="replication-tag-decoration" excludes={f.tagExcludes} onChange={(x) => upd({ tagExcludes: x })} />
            <Field label={t('replication.labelFilter')} hint={t('replication.labelHint')}>
              <input value={f.label} data-test="replication-label" onInput={(e) => upd({ label: val(e) })} />
            </Field>
            <Decoration label="replication.labelDecoration" test="replication-label-decoration" excludes={f.labelExcludes} onChange={(x) => upd({ labelExcludes: x })} />
            <Field label={t('replication.resource')}>
              <select value={f.resource} data-test="replication-resource" onChange={(e) => upd({ resource: val(e) })}>
                <option value="">{t('replication.resource.all')}</option>
                <option value="image">{t('replication.resource.image')}</option>
                <option value="artifact">{t('replication.resource.artifact')}</option>
              </select>
            </Field>
          </div>
        </fieldset>
        <div class="filters">
          <Field label={t('replication.destNamespace')} hint={t('replication.destHint')}>
            <input value={f.dest} data-test="replication-dest" onInput={(e) => upd({ dest: val(e) })} />
          </Field>
          <Field label={t('replication.flatten')}>
            <select value={f.replaceCount} data-test="replication-flatten" onChange={(e) => upd({ replaceCount: val(e) })}>
              {FLATTEN.map(([n, k]) => (
                <option value={String(n)}>{t(k)}</option>
              ))}
            </select>
          </Field>
          <Field label={t('replication.trigger')}>
            <select value={f.trigger} data-test="replication-trigger" onChange={(e) => upd({ trigger: val(e) })}>
              <option value="manual">{t('replication.trigger.manual')}</option>
              <option value="scheduled">{t('replication.trigger.scheduled')}</option>
              {f.mode === 'push' ? <option value="event_based">{t('replication.trigger.event_based')}</option> : null}
            </select>
          </Field>
          {f.trigger === 'scheduled' ? (
            <Field label={t('gc.cron')} hint={t('gc.cronHint')}>
              <input required value={f.cron} data-test="replication-cron" onInput={(e) => upd({ cron: val(e) })} />
            </Field>
          ) : null}
          <Field label={t('replication.speed')} hint={t('replication.speedHint')}>
            <input type="number" min="-1" value={f.speed} data-test="replication-speed" onInput={(e) => upd({ speed: val(e) })} />
          </Field>
        </div>
        {f.trigger === 'event_based' ? (
          <label class="check">
            <input type="checkbox" checked={f.deletion} data-test="replication-deletion" onChange={(e) => upd({ deletion: checked(e) })} /> {t('replication.deletion')}
          </label>
        ) : null}
        <label class="check">
          <input type="checkbox" checked={f.override} data-test="replication-override" onChange={(e) => upd({ override: checked(e) })} /> {t('replication.override')}
        </label>
        <label class="check">
          <input type="checkbox" checked={f.chunk} data-test="replication-chunk" onChange={(e) => upd({ chunk: checked(e) })} /> {t('replication.chunk')}
        </label>
        <label class="check">
          <input type="checkbox" checked={f.single} data-test="replication-single" onChange={(e) => upd({ single: checked(e) })} /> {t('replication.single')}
        </label>
        <label class="check">
          <input type="checkbox" checked={f.enabled} data-test="replication-enabled" onChange={(e) => upd({ enabled: checked(e) })} /> {t('policy.enabled')}
        </label>
        <DialogActions error={error} busy={busy || !regId} onCancel={props.onClose} test="replication-save" label={r ? t('common.save') : t('common.create')} />
      </form>
    </Dialog>
  );
}
