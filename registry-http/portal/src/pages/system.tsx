// Administration, continued: system robot accounts, registries and replication.
import { useState } from 'preact/hooks';
import { call, get, list, qValue, type RobotCreated } from '../api';
import { t } from '../i18n';
import { CopyButton, DateText, DeleteButton, Dialog, DialogActions, Empty, ErrorBox, Field, ListTable, ListToolbar, Loading, Note, PagedTable, Raw, useAct, useAction, useLoad, usePaged } from '../ui';
import { statusName } from './admin';

export function Health(props: { value?: string | undefined }) {
  const v = (props.value ?? '').toLowerCase();
  if (v === 'healthy') return <span class="ok">{t('health.healthy')}</span>;
  if (v === 'unhealthy') return <span class="danger-text">{t('health.unhealthy')}</span>;
  return <span class="muted">{t('health.unknown')}</span>;
}

// ---- system robots ------------------------------------------------------------------------------

interface Robot {
  id: number;
  name: string;
  description?: string;
  disable?: boolean;
  expires_at?: number;
  creation_time?: string;
  permissions?: { kind: string; namespace: string; access: { resource: string; action: string }[] }[];
}

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
        row={(r) => (
          <tr data-test="sysrobot-row" data-name={r.name}>
            <td>
              <Raw>{r.name}</Raw>
            </td>
            <td>
              {(r.permissions ?? []).flatMap((x) =>
                x.access.map((a) => (
                  <span class="chip">
                    <Raw>{`${x.namespace === '*' ? '*' : x.namespace}: ${a.resource} ${a.action}`}</Raw>
                  </span>
                )),
              )}
            </td>
            <td>{!r.expires_at || r.expires_at < 0 ? t('robots.never') : <DateText value={new Date(r.expires_at * 1000).toISOString()} />}</td>
            <td>
              <DateText value={r.creation_time} />
            </td>
            <td class="right">
              <DeleteButton
                test="sysrobot-delete"
                label={t('robots.deleteOf', { name: r.name })}
                confirm={t('robots.confirmDelete', { name: r.name })}
                onConfirmed={() => act(() => call('DELETE', `/robots/${r.id}`))}
              />
            </td>
          </tr>
        )}
      />
      {creating ? <CreateSystemRobot onClose={() => setCreating(false)} onCreated={(r) => (setCreating(false), setCreated(r), p.reload())} /> : null}
      {created ? (
        <Dialog title={t('robots.createdTitle')} onClose={() => setCreated(null)} test="sysrobot-secret-dialog">
          <p>{t('robots.secretOnce')}</p>
          <Field label={t('robots.name')}>
            <span class="copyrow">
              <code data-raw="" data-test="sysrobot-created-name">
                {created.name}
              </code>
              <CopyButton text={created.name} label={t('robots.copyName')} />
            </span>
          </Field>
          <Field label={t('robots.secret')}>
            <span class="copyrow">
              <code data-raw="" data-test="sysrobot-secret">
                {created.secret}
              </code>
              <CopyButton text={created.secret} label={t('robots.copySecret')} />
            </span>
          </Field>
          <div class="actions">
            <button type="button" class="primary" onClick={() => setCreated(null)}>
              {t('common.close')}
            </button>
          </div>
        </Dialog>
      ) : null}
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

// ---- registries ---------------------------------------------------------------------------------

interface Registry {
  id: number;
  name: string;
  type: string;
  url: string;
  insecure?: boolean;
  status?: string;
  description?: string;
  creation_time?: string;
}

export function Registries() {
  const p = usePaged<Registry>((page, pageSize, q) => list('/registries', { page, pageSize, q: q ? `name=~${qValue(q)}` : undefined }), []);
  const { error, note, act } = useAct(p.reload);
  const [creating, setCreating] = useState(false);
  return (
    <div>
      <ListToolbar q={p.q} onSearch={p.setQ} label={t('registries.search')} test="registry-search" newLabel={t('registries.new')} newTest="registry-new" onNew={() => setCreating(true)} />
      <ErrorBox error={p.error ?? error} />
      <Note text={note} test="registry-note" />
      <Loading when={p.loading && !p.data} />
      {p.data && p.data.items.length ? (
        <ListTable
          test="registry-list"
          cols={['registries.name', 'registries.type', 'registries.url', 'registries.status', 'common.created', null]}
          items={p.data.items}
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
      ) : null}
      <Empty when={!!p.data && !p.data.items.length} />
      {p.pager}
      {creating ? <CreateRegistry onClose={() => setCreating(false)} onCreated={() => (setCreating(false), p.reload())} /> : null}
    </div>
  );
}

function CreateRegistry(props: { onClose: () => void; onCreated: () => void }) {
  const { busy, error, setError, onSubmit } = useAction();
  const adapters = useLoad(() => get<string[]>('/replication/adapters'), []);
  const [name, setName] = useState('');
  const [type, setType] = useState('docker-registry');
  const [url, setUrl] = useState('');
  const [user, setUser] = useState('');
  const [secret, setSecret] = useState('');
  const [insecure, setInsecure] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const body = () => ({
    name: name.trim(),
    type,
    url: url.trim(),
    insecure,
    credential: user || secret ? { type: 'basic', access_key: user, access_secret: secret } : null,
  });
  const submit = onSubmit(async () => {
    await call('POST', '/registries', body());
    props.onCreated();
  });
  const test = async () => {
    setError(null);
    setNote(null);
    try {
      await call('POST', '/registries/ping', { type, url: url.trim(), insecure, access_key: user || null, access_secret: secret || null, credential_type: 'basic' });
      setNote(t('registries.pingOk', { name: url.trim() }));
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Dialog title={t('registries.new')} onClose={props.onClose} test="registry-dialog">
      <form onSubmit={submit}>
        <Field label={t('registries.type')}>
          <select value={type} data-test="registry-type" onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
            {(adapters.data ?? ['docker-registry', 'harbor', 'docker-hub']).map((a) => (
              <option value={a} data-raw="">
                {a}
              </option>
            ))}
          </select>
        </Field>
        <Field label={t('registries.name')}>
          <input required value={name} data-test="registry-name" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('registries.url')}>
          <input required type="url" value={url} data-test="registry-url" onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('registries.accessKey')}>
          <input value={user} autoComplete="off" data-test="registry-user" onInput={(e) => setUser((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('registries.accessSecret')}>
          <input type="password" value={secret} autoComplete="new-password" data-test="registry-secret" onInput={(e) => setSecret((e.target as HTMLInputElement).value)} />
        </Field>
        <label class="check">
          <input type="checkbox" checked={insecure} data-test="registry-insecure" onChange={(e) => setInsecure((e.target as HTMLInputElement).checked)} /> {t('registries.insecure')}
        </label>
        <DialogActions error={error} note={note} busy={busy} onCancel={props.onClose} test="registry-save" label={t('common.create')}>
          <button type="button" data-test="registry-test" onClick={() => void test()} disabled={!url.trim()}>
            {t('registries.ping')}
          </button>
        </DialogActions>
      </form>
    </Dialog>
  );
}

// ---- replication --------------------------------------------------------------------------------

interface ReplicationPolicy {
  id: number;
  name: string;
  enabled: boolean;
  src_registry?: { id: number; name?: string } | null;
  dest_registry?: { id: number; name?: string } | null;
  dest_namespace?: string;
  filters?: { type: string; value: unknown }[];
  trigger?: { type: string } | null;
  creation_time?: string;
}

interface ReplicationExecution {
  id: number;
  policy_id: number;
  status: string;
  trigger: string;
  total: number;
  succeed: number;
  failed: number;
  start_time: string;
  end_time?: string | null;
}

export function Replication() {
  const p = usePaged<ReplicationPolicy>((page, pageSize, q) => list('/replication/policies', { page, pageSize, q: q ? `name=~${qValue(q)}` : undefined }), []);
  const [runs, setRuns] = useState(0);
  const { error, note, act } = useAct(() => setRuns((x) => x + 1));
  const [creating, setCreating] = useState(false);
  const [selected, setSelected] = useState<number | null>(null);
  return (
    <div>
      <ListToolbar q={p.q} onSearch={p.setQ} label={t('replication.search')} test="replication-search" newLabel={t('replication.new')} newTest="replication-new" onNew={() => setCreating(true)} />
      <ErrorBox error={p.error ?? error} />
      <Note text={note} test="replication-note" />
      <Loading when={p.loading && !p.data} />
      {p.data && p.data.items.length ? (
        <ListTable
          test="replication-list"
          cols={['replication.name', 'replication.mode', 'replication.registry', 'replication.filter', 'policy.enabled', null]}
          items={p.data.items}
          row={(r) => (
            <tr data-test="replication-row" data-name={r.name}>
              <td>
                <Raw>{r.name}</Raw>
              </td>
              <td>{r.src_registry ? t('replication.pull') : t('replication.push')}</td>
              <td>
                <Raw>{(r.src_registry ?? r.dest_registry)?.name ?? ''}</Raw>
              </td>
              <td>
                {(r.filters ?? []).map((f) => (
                  <span class="chip">
                    <Raw>{`${f.type}: ${String(f.value)}`}</Raw>
                  </span>
                ))}
              </td>
              <td>{r.enabled ? t('policy.on') : t('policy.off')}</td>
              <td class="right nowrap">
                <button type="button" class="small" data-test="replication-start" onClick={() => void act(async () => (await call('POST', '/replication/executions', { policy_id: r.id }), setSelected(r.id)), t('replication.started'))}>
                  {t('replication.start')}
                </button>{' '}
                <button type="button" class="small" aria-pressed={selected === r.id} data-test="replication-runs" onClick={() => setSelected(selected === r.id ? null : r.id)}>
                  {t('replication.runs')}
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
      ) : null}
      <Empty when={!!p.data && !p.data.items.length} />
      {p.pager}
      <ReplicationRuns policyId={selected} key={`${selected}-${runs}`} />
      {creating ? <CreateReplication onClose={() => setCreating(false)} onCreated={() => (setCreating(false), p.reload())} /> : null}
    </div>
  );
}

function ReplicationRuns(props: { policyId: number | null }) {
  const p = usePaged<ReplicationExecution>(
    (page, pageSize) => list('/replication/executions', { page, pageSize, sort: '-start_time', extra: props.policyId ? { policy_id: String(props.policyId) } : undefined }),
    [props.policyId],
    10,
  );
  return (
    <section class="card" aria-labelledby="repl-runs">
      <h2 id="repl-runs">{t('replication.executions')}</h2>
      <ErrorBox error={p.error} />
      {p.data && p.data.items.length ? (
        <ListTable
          test="replication-executions"
          cols={['retention.runId', 'gc.status', 'retention.trigger', 'replication.progress', 'retention.started']}
          items={p.data.items}
          row={(e) => (
            <tr data-test="replication-execution" data-policy={String(e.policy_id)}>
              <td>{e.id}</td>
              <td data-test="replication-execution-status">{statusName(e.status)}</td>
              <td>{e.trigger === 'manual' || e.trigger === 'MANUAL' ? t('retention.manual') : e.trigger === 'scheduled' ? t('retention.scheduled') : t('replication.event')}</td>
              <td>{t('replication.counts', { ok: e.succeed, failed: e.failed, total: e.total })}</td>
              <td>
                <DateText value={e.start_time} />
              </td>
            </tr>
          )}
        />
      ) : null}
      <Empty when={!!p.data && !p.data.items.length} />
      {p.pager}
    </section>
  );
}

function CreateReplication(props: { onClose: () => void; onCreated: () => void }) {
  const { busy, error, onSubmit } = useAction();
  const regs = useLoad(() => list<Registry>('/registries', { page: 1, pageSize: 100 }), []);
  const [name, setName] = useState('');
  const [mode, setMode] = useState<'pull' | 'push'>('pull');
  const [registry, setRegistry] = useState('');
  const [filter, setFilter] = useState('');
  const [dest, setDest] = useState('');
  const items = regs.data?.items ?? [];
  const regId = Number(registry || items[0]?.id || 0);
  const submit = onSubmit(async () => {
    await call('POST', '/replication/policies', {
      name: name.trim(),
      enabled: true,
      src_registry: mode === 'pull' ? { id: regId } : null,
      dest_registry: mode === 'push' ? { id: regId } : null,
      dest_namespace: dest.trim(),
      filters: filter.trim() ? [{ type: 'name', value: filter.trim() }] : [],
      trigger: { type: 'manual' },
      override: true,
    });
    props.onCreated();
  });
  return (
    <Dialog title={t('replication.new')} onClose={props.onClose} test="replication-dialog">
      <form onSubmit={submit}>
        <Field label={t('replication.name')}>
          <input required value={name} data-test="replication-name" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('replication.mode')}>
          <select value={mode} data-test="replication-mode" onChange={(e) => setMode((e.target as HTMLSelectElement).value as 'pull' | 'push')}>
            <option value="pull">{t('replication.pull')}</option>
            <option value="push">{t('replication.push')}</option>
          </select>
        </Field>
        <Field label={mode === 'pull' ? t('replication.source') : t('replication.destination')}>
          <select required value={String(regId || '')} data-test="replication-registry" onChange={(e) => setRegistry((e.target as HTMLSelectElement).value)}>
            {items.map((r) => (
              <option value={String(r.id)} data-raw="">
                {r.name}
              </option>
            ))}
          </select>
        </Field>
        {regs.data && !items.length ? <p class="muted">{t('replication.noRegistries')}</p> : null}
        <Field label={t('replication.filter')} hint={t('replication.filterHint')}>
          <input value={filter} data-test="replication-filter" onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('replication.destNamespace')} hint={t('replication.destHint')}>
          <input value={dest} data-test="replication-dest" onInput={(e) => setDest((e.target as HTMLInputElement).value)} />
        </Field>
        <DialogActions error={error} busy={busy || !regId} onCancel={props.onClose} test="replication-save" label={t('common.create')} />
      </form>
    </Dialog>
  );
}
