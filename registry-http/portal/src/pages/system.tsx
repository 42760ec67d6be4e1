// Administration, continued: system robot accounts (and the health badge other admin pages use).
import { useState } from 'preact/hooks';
import { call, list, qValue, type Robot, type RobotCreated } from '../api';
import { t } from '../i18n';
import { Dialog, DialogActions, Field, ListToolbar, PagedTable, useAct, useAction, usePaged } from '../ui';
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

