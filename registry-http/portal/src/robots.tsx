// What the project's robot accounts and the system's share: a list row and the dialog showing a
// new robot's secret once. The two lists differ only in how a robot that never expires looks in
// the API and how its permissions read, so both are parameters.
import { call, type Robot, type RobotCreated, type RobotPermission } from './api';
import { t } from './i18n';
import { CopyButton, DateText, DeleteButton, Dialog, Raw } from './ui';

/** A project robot never expires when its duration is -1; a system robot when expires_at < 0. */
export const neverByDuration = (r: Robot) => r.duration === -1 || !r.expires_at || r.expires_at <= 0;
export const neverByExpiry = (r: Robot) => !r.expires_at || r.expires_at < 0;

export function RobotRow(props: {
  robot: Robot;
  /** data-test prefix: `robot` or `sysrobot`. */
  test: string;
  never: (r: Robot) => boolean;
  access: (p: RobotPermission, a: RobotPermission['access'][number]) => string;
  act: (f: () => Promise<unknown>) => unknown;
}) {
  const r = props.robot;
  return (
    <tr key={r.id} data-test={`${props.test}-row`} data-name={r.name}>
      <td>
        <Raw>{r.name}</Raw> {r.disable ? <span class="badge private">{t('robots.disabled')}</span> : null}
      </td>
      <td>
        {(r.permissions ?? []).flatMap((pm) =>
          pm.access.map((a) => (
            <span class="chip">
              <Raw>{props.access(pm, a)}</Raw>
            </span>
          )),
        )}
      </td>
      <td>{props.never(r) ? t('robots.never') : <DateText value={new Date(r.expires_at! * 1000).toISOString()} />}</td>
      <td>
        <DateText value={r.creation_time} />
      </td>
      <td class="right">
        <DeleteButton
          test={`${props.test}-delete`}
          label={t('robots.deleteOf', { name: r.name })}
          confirm={t('robots.confirmDelete', { name: r.name })}
          onConfirmed={() => props.act(() => call('DELETE', `/robots/${r.id}`))}
        />
      </td>
    </tr>
  );
}

/** A new robot's name and secret, shown once. */
export function RobotSecret(props: { created: RobotCreated; test: string; onClose: () => void }) {
  const { created, test } = props;
  return (
    <Dialog title={t('robots.createdTitle')} onClose={props.onClose} test={`${test}-secret-dialog`}>
      <p>{t('robots.secretOnce')}</p>
      <div class="field">
        <span class="field-label">{t('robots.name')}</span>
        <div class="copyrow">
          <code data-raw="" data-test={`${test}-created-name`}>
            {created.name}
          </code>
          <CopyButton text={created.name} label={t('robots.copyName')} />
        </div>
      </div>
      <div class="field">
        <span class="field-label">{t('robots.secret')}</span>
        <div class="copyrow">
          <code data-raw="" data-test={`${test}-secret`}>
            {created.secret}
          </code>
          <CopyButton text={created.secret} label={t('robots.copySecret')} test={`${test}-secret-copy`} />
        </div>
      </div>
      <div class="actions">
        <button type="button" class="primary" onClick={props.onClose} data-test={`${test}-secret-close`}>
          {t('common.close')}
        </button>
      </div>
    </Dialog>
  );
}
