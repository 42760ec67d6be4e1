// A job's schedule (Harbor's `{schedule: {type, cron}, parameters}`): None, Hourly, Daily, Weekly or
// a custom cron, read with GET and saved with PUT on the same path, and the next run time. Garbage
// collection and scan all use it; a job's own parameters come as extra fields.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { call, get } from '../api';
import { t, type Key } from '../i18n';
import { DateText, ErrorBox, Field, Loading, Note, useLoad } from '../ui';

export interface JobSchedule {
  schedule?: { type?: string; cron?: string; next_scheduled_time?: string | null } | null;
  parameters?: Record<string, unknown>;
  update_time?: string;
}

const SCHEDULE_TYPES = ['None', 'Hourly', 'Daily', 'Weekly', 'Custom'] as const;
const SCHEDULE_KEY: Record<(typeof SCHEDULE_TYPES)[number], Key> = {
  None: 'gc.sched.None',
  Hourly: 'gc.sched.Hourly',
  Daily: 'gc.sched.Daily',
  Weekly: 'gc.sched.Weekly',
  Custom: 'gc.sched.Custom',
};

/** The extra parameters of a job: their form state from the stored ones, their fields, and what PUT sends. */
export interface ScheduleParams<P> {
  read: (stored: Record<string, unknown>) => P;
  fields: (p: P, upd: (x: Partial<P>) => void) => JSX.Element;
  body: (p: P) => Record<string, unknown>;
}

/** test names the form; its controls are `${test}-type`, `-cron`, `-next`, `-saved`, `-save`. */
export function ScheduleCard<P extends object>(props: { path: string; title: string; test: string; params?: ScheduleParams<P> }) {
  const l = useLoad(() => get<JobSchedule>(props.path), [props.path]);
  const [form, setForm] = useState<{ type: string; cron: string; p: P } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const cur = l.data;
  const stype = cur?.schedule?.type ?? 'None';
  const f = form ?? {
    type: SCHEDULE_TYPES.includes(stype as 'None') ? stype : 'Custom',
    cron: cur?.schedule?.cron ?? '',
    p: props.params?.read(cur?.parameters ?? {}) ?? ({} as P),
  };
  const upd = (x: Partial<typeof f>) => (setForm({ ...f, ...x }), setSaved(false));
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      await call('PUT', props.path, {
        schedule: f.type === 'Custom' ? { type: 'Custom', cron: f.cron.trim() } : { type: f.type },
        parameters: props.params?.body(f.p) ?? {},
      });
      setSaved(true);
      setForm(null);
      l.reload();
    } catch (err) {
      setError(err);
    }
  };
  const next = cur?.schedule?.next_scheduled_time;
  const id = `${props.test}-title`;
  return (
    <form class="card" onSubmit={save} data-test={props.test} aria-labelledby={id}>
      <h2 id={id}>{props.title}</h2>
      <ErrorBox error={l.error ?? error} />
      <Loading when={l.loading && !l.data} />
      {cur ? (
        <>
          <div class="sched">
            <Field label={t('gc.scheduleType')}>
              <select value={f.type} data-test={`${props.test}-type`} onChange={(e) => upd({ type: (e.target as HTMLSelectElement).value })}>
                {SCHEDULE_TYPES.map((x) => (
                  <option value={x}>{t(SCHEDULE_KEY[x])}</option>
                ))}
              </select>
            </Field>
            {f.type === 'Custom' ? (
              <Field label={t('gc.cron')} hint={t('gc.cronHint')}>
                <input required value={f.cron} data-test={`${props.test}-cron`} onInput={(e) => upd({ cron: (e.target as HTMLInputElement).value })} />
              </Field>
            ) : null}
            {props.params?.fields(f.p, (x) => upd({ p: { ...f.p, ...x } }))}
          </div>
          {next && f.type !== 'None' ? (
            <p class="muted" data-test={`${props.test}-next`}>
              {t('gc.next')}: <DateText value={next} />
            </p>
          ) : null}
          <Note text={saved ? t('common.saved') : null} test={`${props.test}-saved`} />
          <div class="actions left">
            <button type="submit" class="primary" data-test={`${props.test}-save`}>
              {t('gc.saveSchedule')}
            </button>
          </div>
        </>
      ) : null}
    </form>
  );
}
