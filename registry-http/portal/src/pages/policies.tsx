// A project's policies: tag retention (rules, dry run and run, executions with their tasks and
// logs), immutable tag rules, and webhooks (with their delivery log).
import { useState } from 'preact/hooks';
import { call, create, get, getText, list, type Project } from '../api';
import { t, type Key } from '../i18n';
import { DateText, DeleteButton, Dialog, DialogActions, ErrorBox, Field, ListTable, Loading, Note, PagedTable, Raw, useAct, useAction, useLoad, usePaged, usePoll } from '../ui';
import { statusName } from './admin';

export interface Selector {
  kind: string;
  decoration: string;
  pattern: string;
  extras?: string;
}

export interface PolicyRule {
  id?: number;
  priority?: number;
  disabled?: boolean;
  action: string;
  template: string;
  params?: Record<string, unknown>;
  tag_selectors: Selector[];
  scope_selectors: { repository: Selector[] };
}

interface RetentionPolicy {
  id: number;
  algorithm: string;
  rules: PolicyRule[];
  trigger?: { kind: string; settings?: { cron?: string } };
  scope: { level: string; ref: number };
}

interface RetentionExecution {
  id: number;
  status: string;
  trigger: string;
  dry_run: boolean;
  start_time: string;
  end_time?: string | null;
}

interface RetentionTask {
  id: number;
  repository: string;
  status: string;
  total: number;
  retained: number;
  start_time?: string;
  end_time?: string | null;
}

interface WebhookTarget {
  type?: string;
  address: string;
  auth_header?: string;
  skip_cert_verify?: boolean;
  payload_format?: string;
}

interface WebhookPolicy {
  id: number;
  name: string;
  description?: string;
  enabled: boolean;
  event_types: string[];
  targets: WebhookTarget[];
  creation_time?: string;
}

interface Execution {
  id: number;
  status: string;
  status_message?: string;
  trigger?: string;
  start_time?: string;
  end_time?: string | null;
  extra_attrs?: Record<string, unknown> | null;
}

interface Task {
  id: number;
  status: string;
  status_message?: string;
  run_count?: number;
  start_time?: string | null;
  end_time?: string | null;
}

const TEMPLATES = ['latestPushedK', 'latestPulledN', 'nDaysSinceLastPush', 'nDaysSinceLastPull', 'always'] as const;
const TEMPLATE_KEY: Record<string, Key> = {
  latestPushedK: 'retention.tpl.latestPushedK',
  latestPulledN: 'retention.tpl.latestPulledN',
  nDaysSinceLastPush: 'retention.tpl.nDaysSinceLastPush',
  nDaysSinceLastPull: 'retention.tpl.nDaysSinceLastPull',
  always: 'retention.tpl.always',
};

const EVENT_KEY: Record<string, Key> = {
  PUSH_ARTIFACT: 'event.PUSH_ARTIFACT',
  PULL_ARTIFACT: 'event.PULL_ARTIFACT',
  DELETE_ARTIFACT: 'event.DELETE_ARTIFACT',
  SCANNING_COMPLETED: 'event.SCANNING_COMPLETED',
  SCANNING_FAILED: 'event.SCANNING_FAILED',
  SCANNING_STOPPED: 'event.SCANNING_STOPPED',
  QUOTA_EXCEED: 'event.QUOTA_EXCEED',
  QUOTA_WARNING: 'event.QUOTA_WARNING',
  REPLICATION: 'event.REPLICATION',
  TAG_RETENTION: 'event.TAG_RETENTION',
};
function EventName(props: { type: string }) {
  const k = EVENT_KEY[props.type];
  return <span class="chip">{k ? t(k) : <Raw>{props.type}</Raw>}</span>;
}

const pname = (p: Project) => encodeURIComponent(p.name);
const running = (s: string) => ['running', 'pending', 'scheduled', 'inprogress'].includes(s.toLowerCase());

function patterns(r: PolicyRule) {
  const repo = r.scope_selectors?.repository?.map((s) => `${s.decoration === 'repoExcludes' ? '!' : ''}${s.pattern}`).join(', ') ?? '';
  const tag = r.tag_selectors?.map((s) => `${s.decoration === 'excludes' ? '!' : ''}${s.pattern}`).join(', ') ?? '';
  return { repo, tag };
}

function ruleText(r: PolicyRule): string {
  const k = TEMPLATE_KEY[r.template];
  const n = r.params?.[r.template];
  return k ? t(k, { n: n == null ? '' : String(n) }) : r.template;
}

export function Policies(props: { project: Project; onChanged: () => void }) {
  return (
    <div>
      <Retention project={props.project} onChanged={props.onChanged} />
      <ImmutableRules project={props.project} />
      <Webhooks project={props.project} />
    </div>
  );
}

// ---- tag retention ------------------------------------------------------------------------------

function Retention(props: { project: Project; onChanged: () => void }) {
  const rid = props.project.metadata?.retention_id;
  const pol = useLoad<RetentionPolicy | null>(() => (rid ? get<RetentionPolicy>(`/retentions/${encodeURIComponent(rid)}`) : Promise.resolve(null)), [rid]);
  const { error, act } = useAct(pol.reload);
  const [adding, setAdding] = useState(false);
  const [runs, setRuns] = useState(0);
  const policy = pol.data;
  const save = async (rules: PolicyRule[]) => {
    if (policy) {
      await call('PUT', `/retentions/${policy.id}`, { ...policy, rules });
    } else {
      await create('/retentions', {
        algorithm: 'or',
        rules,
        trigger: { kind: 'Schedule', settings: { cron: '' } },
        scope: { level: 'project', ref: props.project.project_id },
      });
      props.onChanged();
    }
  };
  const run = (dry: boolean) =>
    act(async () => {
      if (!policy) return;
      if (!dry && !confirm(t('retention.confirmRun'))) return;
      await call('POST', `/retentions/${policy.id}/executions`, { dry_run: dry });
      setRuns((x) => x + 1);
    });
  return (
    <section class="card" aria-labelledby="ret-title" data-test="retention">
      <h2 id="ret-title">{t('retention.title')}</h2>
      <p class="muted">{t('retention.hint')}</p>
      <ErrorBox error={pol.error ?? error} />
      <Loading when={pol.loading && !policy} />
      {policy && policy.rules.length ? (
        <ListTable
          test="retention-rules"
          cols={['retention.rule', 'policy.repos', 'policy.tags', null]}
          items={policy.rules}
          row={(r, i) => {
            const p = patterns(r);
            return (
              <tr data-test="retention-rule">
                <td>{ruleText(r)}</td>
                <td>
                  <code data-raw="">{p.repo}</code>
                </td>
                <td>
                  <code data-raw="">{p.tag}</code>
                </td>
                <td class="right">
                  <DeleteButton
                    test="retention-rule-delete"
                    label={t('retention.deleteRule', { n: i + 1 })}
                    confirm={t('retention.confirmDeleteRule')}
                    onConfirmed={() => act(() => save(policy.rules.filter((_, j) => j !== i)))}
                  />
                </td>
              </tr>
            );
          }}
        />
      ) : !pol.loading ? (
        <p class="muted" data-test="retention-none">
          {t('retention.none')}
        </p>
      ) : null}
      <div class="actions left">
        <button type="button" class="primary" data-test="retention-add" onClick={() => setAdding(true)}>
          {t('retention.addRule')}
        </button>
        <button type="button" data-test="retention-dryrun" disabled={!policy || !policy.rules.length} onClick={() => void run(true)}>
          {t('retention.dryRun')}
        </button>
        <button type="button" class="danger" data-test="retention-run" disabled={!policy || !policy.rules.length} onClick={() => void run(false)}>
          {t('retention.runNow')}
        </button>
      </div>
      {policy ? <RetentionSchedule policy={policy} onSaved={pol.reload} key={`sched-${policy.id}`} /> : null}
      {policy ? <RetentionRuns policyId={policy.id} key={`${policy.id}-${runs}`} /> : null}
      {adding ? (
        <RuleDialog
          title={t('retention.addRule')}
          retention
          onClose={() => setAdding(false)}
          onSave={async (r) => {
            await save([...(policy?.rules ?? []), r]);
            setAdding(false);
            pol.reload();
          }}
        />
      ) : null}
    </section>
  );
}

const RETENTION_CRON: Record<string, string> = { Daily: '0 0 0 * * *', Weekly: '0 0 0 * * 0' };
const RETENTION_SCHEDULES = ['None', 'Daily', 'Weekly', 'Custom'] as const;
const RETENTION_SCHEDULE_KEY: Record<(typeof RETENTION_SCHEDULES)[number], Key> = {
  None: 'gc.sched.None',
  Daily: 'gc.sched.Daily',
  Weekly: 'gc.sched.Weekly',
  Custom: 'gc.sched.Custom',
};

/** The policy's trigger: no cron (manual runs only), daily, weekly or a custom cron; PUT with the whole policy. */
function RetentionSchedule(props: { policy: RetentionPolicy; onSaved: () => void }) {
  const cur = props.policy.trigger?.settings?.cron?.trim() ?? '';
  const initial = !cur ? 'None' : Object.keys(RETENTION_CRON).find((k) => RETENTION_CRON[k] === cur) ?? 'Custom';
  const [type, setType] = useState<string>(initial);
  const [cron, setCron] = useState(cur);
  const [saved, setSaved] = useState(false);
  const { busy, error, onSubmit } = useAction();
  const submit = onSubmit(async () => {
    setSaved(false);
    const c = type === 'Custom' ? cron.trim() : (RETENTION_CRON[type] ?? '');
    await call('PUT', `/retentions/${props.policy.id}`, { ...props.policy, trigger: { ...props.policy.trigger, kind: 'Schedule', settings: { ...props.policy.trigger?.settings, cron: c } } });
    setSaved(true);
    props.onSaved();
  });
  return (
    <form onSubmit={submit} data-test="retention-schedule" aria-labelledby="ret-sched-title">
      <h3 id="ret-sched-title">{t('retention.schedule')}</h3>
      <ErrorBox error={error} />
      <div class="sched">
        <Field label={t('gc.scheduleType')}>
          <select value={type} data-test="retention-schedule-type" onChange={(e) => (setType((e.target as HTMLSelectElement).value), setSaved(false))}>
            {RETENTION_SCHEDULES.map((x) => (
              <option value={x}>{t(RETENTION_SCHEDULE_KEY[x])}</option>
            ))}
          </select>
        </Field>
        {type === 'Custom' ? (
          <Field label={t('gc.cron')} hint={t('gc.cronHint')}>
            <input required value={cron} data-test="retention-schedule-cron" onInput={(e) => (setCron((e.target as HTMLInputElement).value), setSaved(false))} />
          </Field>
        ) : null}
      </div>
      {cur ? (
        <p class="muted" data-test="retention-schedule-current">
          {t('retention.currentCron')}: <code data-raw="">{cur}</code>
        </p>
      ) : null}
      <Note text={saved ? t('common.saved') : null} test="retention-schedule-saved" />
      <div class="actions left">
        <button type="submit" class="primary" disabled={busy} data-test="retention-schedule-save">
          {t('retention.saveSchedule')}
        </button>
      </div>
    </form>
  );
}

function RetentionRuns(props: { policyId: number }) {
  const base = `/retentions/${props.policyId}/executions`;
  const p = usePaged<RetentionExecution>((page, pageSize) => list(base, { page, pageSize }), [base], 10);
  const [open, setOpen] = useState<number | null>(null);
  const busy = !!p.data?.items.some((e) => running(e.status));
  usePoll(busy, p.reload, [p.data]);
  return (
    <div>
      <h3>{t('retention.runs')}</h3>
      <ErrorBox error={p.error} />
      {p.data && p.data.items.length ? (
        <ListTable
          test="retention-runs"
          cols={['retention.runId', 'retention.mode', 'gc.status', 'retention.trigger', 'retention.started', null]}
          items={p.data.items}
          row={(e) => (
            <>
              <tr data-test="retention-run-row" data-id={String(e.id)}>
                <td>{e.id}</td>
                <td>{e.dry_run ? t('gc.modeDry') : t('gc.modeReal')}</td>
                <td data-test="retention-run-status">{statusName(e.status)}</td>
                <td>{e.trigger === 'SCHEDULE' ? t('retention.scheduled') : t('retention.manual')}</td>
                <td>
                  <DateText value={e.start_time} />
                </td>
                <td class="right">
                  <button type="button" class="small" aria-expanded={open === e.id} data-test="retention-run-details" onClick={() => setOpen(open === e.id ? null : e.id)}>
                    {t('retention.details')}
                  </button>
                </td>
              </tr>
              {open === e.id ? (
                <tr>
                  <td colSpan={6}>
                    <RetentionTasks base={`${base}/${e.id}/tasks`} />
                  </td>
                </tr>
              ) : null}
            </>
          )}
        />
      ) : null}
      {p.data && !p.data.items.length ? <p class="muted">{t('retention.noRuns')}</p> : null}
      {p.pager}
    </div>
  );
}

function RetentionTasks(props: { base: string }) {
  const p = usePaged<RetentionTask>((page, pageSize) => list(props.base, { page, pageSize }), [props.base], 10);
  const [log, setLog] = useState<RetentionTask | null>(null);
  return (
    <div data-test="retention-tasks">
      <PagedTable
        p={p}
        cols={['repos.name', 'gc.status', 'retention.total', 'retention.retained', 'retention.deleted', null]}
        row={(x) => (
          <tr data-test="retention-task" data-repo={x.repository}>
            <td>
              <Raw>{x.repository}</Raw>
            </td>
            <td>{statusName(x.status)}</td>
            <td data-test="retention-task-total">{x.total}</td>
            <td data-test="retention-task-retained">{x.retained}</td>
            <td data-test="retention-task-deleted">{Math.max(0, x.total - x.retained)}</td>
            <td class="right">
              <button type="button" class="small" data-test="retention-task-log" onClick={() => setLog(x)}>
                {t('gc.log')}
              </button>
            </td>
          </tr>
        )}
      />
      {log ? <TextDialog title={t('retention.logOf', { repo: log.repository })} url={`${props.base}/${log.id}`} onClose={() => setLog(null)} test="retention-log" /> : null}
    </div>
  );
}

/** A log as preformatted text; live: asked for again while the job still runs. */
export function TextDialog(props: { title: string; url: string; onClose: () => void; test?: string; live?: boolean }) {
  const l = useLoad(() => getText(props.url), [props.url]);
  usePoll(!!props.live && !l.loading, l.reload, [l.data], 2000);
  return (
    <Dialog title={props.title} onClose={props.onClose} test={props.test} wide>
      <ErrorBox error={l.error} />
      <Loading when={l.loading && l.data == null} />
      {l.data != null ? (
        <pre class="log" data-raw="" data-test="text-log">
          {l.data}
        </pre>
      ) : null}
    </Dialog>
  );
}

function RuleDialog(props: { title: string; retention?: boolean; initial?: PolicyRule; submitLabel?: string; onClose: () => void; onSave: (r: PolicyRule) => Promise<void> }) {
  const { busy, error, onSubmit } = useAction();
  const init = props.initial;
  const [template, setTemplate] = useState<string>(init?.template ?? 'latestPushedK');
  const [n, setN] = useState(init?.params?.[init.template] != null ? String(init.params[init.template]) : '10');
  const [repo, setRepo] = useState(init?.scope_selectors?.repository?.[0]?.pattern ?? '**');
  const [tag, setTag] = useState(init?.tag_selectors?.[0]?.pattern ?? '**');
  const submit = onSubmit(async () => {
    const tpl = props.retention ? template : 'immutable_template';
    const rule: PolicyRule = {
      ...init,
      action: props.retention ? 'retain' : 'immutable',
      template: tpl,
      params: props.retention && tpl !== 'always' ? { [tpl]: Number(n) } : {},
      tag_selectors: [{ kind: 'doublestar', decoration: 'matches', ...init?.tag_selectors?.[0], pattern: tag.trim() || '**' }, ...(init?.tag_selectors?.slice(1) ?? [])],
      scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', ...init?.scope_selectors?.repository?.[0], pattern: repo.trim() || '**' }, ...(init?.scope_selectors?.repository?.slice(1) ?? [])] },
    };
    if (!props.retention) rule.disabled = init?.disabled ?? false;
    await props.onSave(rule);
  });
  return (
    <Dialog title={props.title} onClose={props.onClose} test="rule-dialog">
      <form onSubmit={submit}>
        {props.retention ? (
          <>
            <Field label={t('retention.template')}>
              <select value={template} data-test="rule-template" onChange={(e) => setTemplate((e.target as HTMLSelectElement).value)}>
                {TEMPLATES.map((x) => (
                  <option value={x}>{t(TEMPLATE_KEY[x]!, { n: '#' })}</option>
                ))}
              </select>
            </Field>
            {template !== 'always' ? (
              <Field label={template.startsWith('nDays') ? t('retention.days') : t('retention.count')}>
                <input type="number" min="0" required value={n} data-test="rule-count" onInput={(e) => setN((e.target as HTMLInputElement).value)} />
              </Field>
            ) : null}
          </>
        ) : null}
        <Field label={t('policy.repos')} hint={t('policy.patternHint')}>
          <input required value={repo} data-test="rule-repo" onInput={(e) => setRepo((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('policy.tags')} hint={t('policy.patternHint')}>
          <input required value={tag} data-test="rule-tag" onInput={(e) => setTag((e.target as HTMLInputElement).value)} />
        </Field>
        <DialogActions error={error} busy={busy} onCancel={props.onClose} test="rule-save" label={props.submitLabel ?? t('common.add')} />
      </form>
    </Dialog>
  );
}

// ---- immutable tag rules ------------------------------------------------------------------------

function ImmutableRules(props: { project: Project }) {
  const base = `/projects/${pname(props.project)}/immutabletagrules`;
  const p = usePaged<PolicyRule>((page, pageSize) => list(base, { page, pageSize }), [base], 10);
  const { error, act } = useAct(p.reload);
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<PolicyRule | null>(null);
  return (
    <section class="card" aria-labelledby="imm-title" data-test="immutable">
      <h2 id="imm-title">{t('immutable.title')}</h2>
      <p class="muted">{t('immutable.hint')}</p>
      <ErrorBox error={p.error ?? error} />
      <Loading when={p.loading && !p.data} />
      {p.data && p.data.items.length ? (
        <ListTable
          test="immutable-list"
          cols={['policy.repos', 'policy.tags', 'policy.enabled', null]}
          items={p.data.items}
          row={(r) => {
            const pt = patterns(r);
            return (
              <tr data-test="immutable-row" data-tag={pt.tag} data-id={String(r.id)}>
                <td>
                  <code data-raw="">{pt.repo}</code>
                </td>
                <td>
                  <code data-raw="">{pt.tag}</code>
                </td>
                <td>
                  <label>
                    <input
                      type="checkbox"
                      checked={!r.disabled}
                      data-test="immutable-enabled"
                      onChange={() => void act(() => call('PUT', `${base}/${r.id}`, { ...r, disabled: !r.disabled }))}
                    />{' '}
                    {r.disabled ? t('policy.off') : t('policy.on')}
                  </label>
                </td>
                <td class="right nowrap">
                  <button type="button" class="small" data-test="immutable-edit" aria-label={t('immutable.editOf', { pattern: pt.tag })} onClick={() => setEditing(r)}>
                    {t('common.edit')}
                  </button>{' '}
                  <DeleteButton
                    test="immutable-delete"
                    label={t('immutable.deleteOf', { pattern: pt.tag })}
                    confirm={t('immutable.confirmDelete')}
                    onConfirmed={() => act(() => call('DELETE', `${base}/${r.id}`))}
                  />
                </td>
              </tr>
            );
          }}
        />
      ) : null}
      {p.data && !p.data.items.length ? <p class="muted">{t('immutable.none')}</p> : null}
      {p.pager}
      <div class="actions left">
        <button type="button" class="primary" data-test="immutable-add" onClick={() => setAdding(true)}>
          {t('immutable.add')}
        </button>
      </div>
      {adding ? (
        <RuleDialog
          title={t('immutable.add')}
          onClose={() => setAdding(false)}
          onSave={async (r) => {
            await call('POST', base, r);
            setAdding(false);
            p.reload();
          }}
        />
      ) : null}
      {editing ? (
        <RuleDialog
          title={t('immutable.edit')}
          initial={editing}
          submitLabel={t('common.save')}
          onClose={() => setEditing(null)}
          onSave={async (r) => {
            await call('PUT', `${base}/${editing.id}`, r);
            setEditing(null);
            p.reload();
          }}
        />
      ) : null}
    </section>
  );
}

// ---- webhooks -----------------------------------------------------------------------------------

function Webhooks(props: { project: Project }) {
  const base = `/projects/${pname(props.project)}/webhook/policies`;
  const p = usePaged<WebhookPolicy>((page, pageSize) => list(base, { page, pageSize }), [base], 10);
  const { error, act } = useAct(p.reload);
  const [adding, setAdding] = useState(false);
  const [log, setLog] = useState<WebhookPolicy | null>(null);
  const [editing, setEditing] = useState<WebhookPolicy | null>(null);
  return (
    <section class="card" aria-labelledby="wh-title" data-test="webhooks">
      <h2 id="wh-title">{t('webhook.title')}</h2>
      <ErrorBox error={p.error ?? error} />
      <Loading when={p.loading && !p.data} />
      {p.data && p.data.items.length ? (
        <ListTable
          test="webhook-list"
          cols={['webhook.name', 'webhook.address', 'webhook.events', 'policy.enabled', null]}
          items={p.data.items}
          row={(w) => (
            <tr data-test="webhook-row" data-name={w.name}>
              <td>
                <Raw>{w.name}</Raw>
              </td>
              <td>
                {w.targets.map((x) => (
                  <div>
                    <code data-raw="">{x.address}</code>
                  </div>
                ))}
              </td>
              <td>
                {w.event_types.map((e) => (
                  <EventName type={e} />
                ))}
              </td>
              <td>
                <label>
                  <input
                    type="checkbox"
                    checked={w.enabled}
                    data-test="webhook-enabled"
                    aria-label={t('webhook.enabledOf', { name: w.name })}
                    onChange={() => void act(() => call('PUT', `${base}/${w.id}`, { ...w, enabled: !w.enabled }))}
                  />{' '}
                  {w.enabled ? t('policy.on') : t('policy.off')}
                </label>
              </td>
              <td class="right nowrap">
                <button type="button" class="small" data-test="webhook-log" onClick={() => setLog(w)}>
                  {t('webhook.deliveries')}
                </button>{' '}
                <button type="button" class="small" data-test="webhook-edit" aria-label={t('webhook.editOf', { name: w.name })} onClick={() => setEditing(w)}>
                  {t('common.edit')}
                </button>{' '}
                <DeleteButton
                  test="webhook-delete"
                  label={t('webhook.deleteOf', { name: w.name })}
                  confirm={t('webhook.confirmDelete', { name: w.name })}
                  onConfirmed={() => act(() => call('DELETE', `${base}/${w.id}`))}
                />
              </td>
            </tr>
          )}
        />
      ) : null}
      {p.data && !p.data.items.length ? <p class="muted">{t('webhook.none')}</p> : null}
      {p.pager}
      <div class="actions left">
        <button type="button" class="primary" data-test="webhook-add" onClick={() => setAdding(true)}>
          {t('webhook.add')}
        </button>
      </div>
      {adding ? <WebhookDialog project={props.project} base={base} onClose={() => setAdding(false)} onSaved={() => (setAdding(false), p.reload())} /> : null}
      {editing ? <WebhookDialog project={props.project} base={base} initial={editing} onClose={() => setEditing(null)} onSaved={() => (setEditing(null), p.reload())} /> : null}
      {log ? <Deliveries base={`${base}/${log.id}/executions`} name={log.name} onClose={() => setLog(null)} /> : null}
    </section>
  );
}

const MASKED = '***';

/** Adds a webhook policy, or edits `initial` (PUT of the whole policy; the masked auth header sent back keeps the stored one). */
function WebhookDialog(props: { project: Project; base: string; initial?: WebhookPolicy; onClose: () => void; onSaved: () => void }) {
  const { busy, error, onSubmit } = useAction();
  const ev = useLoad(() => get<{ event_type: string[]; notify_type: string[] }>(`/projects/${pname(props.project)}/webhook/events`), [props.project.name]);
  const init = props.initial;
  const target = init?.targets[0];
  const [name, setName] = useState(init?.name ?? '');
  const [address, setAddress] = useState(target?.address ?? '');
  const [type, setType] = useState(target?.type ?? 'http');
  const [auth, setAuth] = useState(target?.auth_header ?? '');
  const [skip, setSkip] = useState(!!target?.skip_cert_verify);
  const [events, setEvents] = useState<string[]>(init?.event_types ?? ['PUSH_ARTIFACT']);
  const submit = onSubmit(async () => {
    // The server keeps a stored header sent back masked only for the same address and type.
    if (target && auth === MASKED && (address.trim() !== target.address || type !== (target.type ?? 'http'))) throw new Error(t('webhook.authAgain'));
    const body = {
      ...init,
      name: name.trim(),
      enabled: init?.enabled ?? true,
      event_types: events,
      targets: [{ payload_format: 'Default', ...target, type, address: address.trim(), auth_header: auth, skip_cert_verify: skip }, ...(init?.targets.slice(1) ?? [])],
    };
    if (init) await call('PUT', `${props.base}/${init.id}`, body);
    else await call('POST', props.base, body);
    props.onSaved();
  });
  return (
    <Dialog title={init ? t('webhook.edit') : t('webhook.add')} onClose={props.onClose} test="webhook-dialog">
      <form onSubmit={submit}>
        <Field label={t('webhook.name')}>
          <input required value={name} data-test="webhook-name" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('webhook.notifyType')}>
          <select value={type} data-test="webhook-type" onChange={(e) => setType((e.target as HTMLSelectElement).value)}>
            {(ev.data?.notify_type ?? ['http', 'slack']).map((x) => (
              <option value={x}>{x === 'slack' ? t('webhook.slack') : t('webhook.http')}</option>
            ))}
          </select>
        </Field>
        <Field label={t('webhook.address')}>
          <input required type="url" value={address} data-test="webhook-address" onInput={(e) => setAddress((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('webhook.authHeader')} hint={t('webhook.authHint')}>
          <input value={auth} autoComplete="off" data-test="webhook-auth" onInput={(e) => setAuth((e.target as HTMLInputElement).value)} />
        </Field>
        <label class="check">
          <input type="checkbox" checked={skip} onChange={(e) => setSkip((e.target as HTMLInputElement).checked)} /> {t('webhook.skipVerify')}
        </label>
        <fieldset class="events">
          <legend>{t('webhook.events')}</legend>
          {(ev.data?.event_type ?? Object.keys(EVENT_KEY)).map((x) => (
            <label class="check">
              <input
                type="checkbox"
                value={x}
                data-test="webhook-event"
                checked={events.includes(x)}
                onChange={(e) => {
                  const on = (e.target as HTMLInputElement).checked;
                  setEvents((cur) => (on ? [...cur, x] : cur.filter((y) => y !== x)));
                }}
              />{' '}
              {EVENT_KEY[x] ? t(EVENT_KEY[x]!) : <Raw>{x}</Raw>}
            </label>
          ))}
        </fieldset>
        <DialogActions error={error} busy={busy || !events.length} onCancel={props.onClose} test="webhook-save" label={init ? t('common.save') : t('common.add')} />
      </form>
    </Dialog>
  );
}

function Deliveries(props: { base: string; name: string; onClose: () => void }) {
  const p = usePaged<Execution>((page, pageSize) => list(props.base, { page, pageSize, sort: '-start_time' }), [props.base], 10);
  const [open, setOpen] = useState<number | null>(null);
  return (
    <Dialog title={t('webhook.deliveriesOf', { name: props.name })} onClose={props.onClose} test="webhook-deliveries" wide>
      <ErrorBox error={p.error} />
      <Loading when={p.loading && !p.data} />
      {p.data && p.data.items.length ? (
        <ListTable
          cols={['retention.runId', 'webhook.event', 'gc.status', 'retention.started', null]}
          items={p.data.items}
          row={(x) => (
            <>
              <tr data-test="delivery-row">
                <td>{x.id}</td>
                <td>{typeof x.extra_attrs?.['event_type'] === 'string' ? <EventName type={x.extra_attrs['event_type']} /> : <span class="muted">—</span>}</td>
                <td>{statusName(x.status)}</td>
                <td>
                  <DateText value={x.start_time} />
                </td>
                <td class="right">
                  <button type="button" class="small" aria-expanded={open === x.id} onClick={() => setOpen(open === x.id ? null : x.id)}>
                    {t('retention.details')}
                  </button>
                </td>
              </tr>
              {open === x.id ? (
                <tr>
                  <td colSpan={5}>
                    <DeliveryTasks base={`${props.base}/${x.id}/tasks`} />
                  </td>
                </tr>
              ) : null}
            </>
          )}
        />
      ) : null}
      {p.data && !p.data.items.length ? <p class="muted">{t('webhook.noDeliveries')}</p> : null}
      {p.pager}
    </Dialog>
  );
}

function DeliveryTasks(props: { base: string }) {
  const p = usePaged<Task>((page, pageSize) => list(props.base, { page, pageSize }), [props.base], 10);
  return (
    <div>
      <ErrorBox error={p.error} />
      {p.data?.items.map((x) => (
        <p>
          {statusName(x.status)} · {t('webhook.attempts', { n: x.run_count ?? 0 })} · <DateText value={x.end_time ?? x.start_time} />{' '}
          {x.status_message ? <Raw>{x.status_message}</Raw> : null}
        </p>
      ))}
      {p.pager}
    </div>
  );
}
