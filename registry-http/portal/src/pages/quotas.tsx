// Project quotas (administration): every project's storage used and limit (`/quotas`, paged and
// sorted by the server), and editing a project's storage limit (`PUT /quotas/{id}`).
import { useState } from 'preact/hooks';
import { call, list, type Quota } from '../api';
import { t, type Key } from '../i18n';
import { BASE } from '../router';
import { Dialog, DialogActions, Field, Link, PagedTable, Raw, useAction, usePaged } from '../ui';
import { QuotaMeter } from './projects';

const SORTS: [string, Key][] = [
  ['-used.storage', 'quotas.sortUsedDesc'],
  ['used.storage', 'quotas.sortUsedAsc'],
  ['-hard.storage', 'quotas.sortHardDesc'],
  ['hard.storage', 'quotas.sortHardAsc'],
  ['-creation_time', 'quotas.sortNewest'],
];

const UNITS: [string, number][] = [
  ['MiB', 1024 ** 2],
  ['GiB', 1024 ** 3],
  ['TiB', 1024 ** 4],
];

export function Quotas() {
  const [sort, setSort] = useState(SORTS[0]![0]);
  const p = usePaged<Quota>((page, pageSize) => list('/quotas', { page, pageSize, sort, extra: { reference: 'project' } }), [sort]);
  const [editing, setEditing] = useState<Quota | null>(null);
  return (
    <div>
      <div class="toolbar">
        <label>
          {t('quotas.sort')}{' '}
          <select value={sort} data-test="quota-sort" onChange={(e) => (setSort((e.target as HTMLSelectElement).value), p.setPage(1))}>
            {SORTS.map(([v, k]) => (
              <option value={v}>{t(k)}</option>
            ))}
          </select>
        </label>
      </div>
      <PagedTable
        p={p}
        test="quota-list"
        cols={['projects.name', 'projects.quota', null]}
        row={(q) => (
          <tr data-test="quota-row" data-project={q.ref?.name ?? ''} data-id={String(q.id)}>
            <td>
              {q.ref?.id != null ? (
                <Link href={`${BASE}/projects/${q.ref.id}/repositories`} data-test="quota-project">
                  <Raw>{q.ref.name ?? String(q.ref.id)}</Raw>
                </Link>
              ) : (
                <Raw>{q.ref?.name ?? ''}</Raw>
              )}
            </td>
            <td data-test="quota-meter">
              <QuotaMeter quota={q} />
            </td>
            <td class="right">
              <button type="button" class="small" data-test="quota-edit" aria-label={t('quotas.editOf', { name: q.ref?.name ?? String(q.id) })} onClick={() => setEditing(q)}>
                {t('common.edit')}
              </button>
            </td>
          </tr>
        )}
      />
      {editing ? <EditQuota quota={editing} onClose={() => setEditing(null)} onSaved={() => (setEditing(null), p.reload())} /> : null}
    </div>
  );
}

/** The limit in the largest unit that divides it evenly (GiB for an unlimited one). */
function splitLimit(bytes: number): { n: string; unit: string } {
  if (bytes < 0) return { n: '', unit: 'GiB' };
  for (const [u, f] of [...UNITS].reverse()) if (bytes >= f && bytes % f === 0) return { n: String(bytes / f), unit: u };
  return { n: String(Math.round((bytes / 1024 ** 2) * 100) / 100), unit: 'MiB' };
}

function EditQuota(props: { quota: Quota; onClose: () => void; onSaved: () => void }) {
  const hard = props.quota.hard?.storage ?? -1;
  const init = splitLimit(hard);
  const [unlimited, setUnlimited] = useState(hard < 0);
  const [n, setN] = useState(init.n);
  const [unit, setUnit] = useState(init.unit);
  const { busy, error, onSubmit } = useAction();
  const name = props.quota.ref?.name ?? String(props.quota.id);
  const submit = onSubmit(async () => {
    const factor = UNITS.find(([u]) => u === unit)?.[1] ?? 1024 ** 3;
    const storage = unlimited ? -1 : Math.round(Number(n) * factor);
    await call('PUT', `/quotas/${props.quota.id}`, { hard: { storage } });
    props.onSaved();
  });
  return (
    <Dialog title={t('quotas.editOf', { name })} onClose={props.onClose} test="quota-dialog">
      <form onSubmit={submit}>
        <div class="field">
          <span class="field-label">{t('quotas.used')}</span>
          <QuotaMeter quota={props.quota} />
        </div>
        <label class="check">
          <input type="checkbox" checked={unlimited} data-test="quota-unlimited" onChange={(e) => setUnlimited((e.target as HTMLInputElement).checked)} /> {t('quotas.unlimited')}
        </label>
        {unlimited ? null : (
          <div class="sched">
            <Field label={t('quotas.limit')}>
              <input type="number" required min="0" step="any" value={n} data-test="quota-limit" onInput={(e) => setN((e.target as HTMLInputElement).value)} />
            </Field>
            <Field label={t('quotas.unit')}>
              <select value={unit} data-test="quota-unit" onChange={(e) => setUnit((e.target as HTMLSelectElement).value)}>
                {UNITS.map(([u]) => (
                  <option value={u} data-raw="">
                    {u}
                  </option>
                ))}
              </select>
            </Field>
          </div>
        )}
        <DialogActions error={error} busy={busy} onCancel={props.onClose} test="quota-save" label={t('common.save')} />
      </form>
    </Dialog>
  );
}
