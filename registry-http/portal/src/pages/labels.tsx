// Labels: a project's own labels and the global ones (create, edit, delete), and attaching labels
// to an artifact.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { call, list, type Artifact, type Label } from '../api';
import { t } from '../i18n';
import { DateText, DeleteButton, Dialog, DialogActions, ErrorBox, Field, ListToolbar, PagedTable, Raw, useAct, useAction, useLoad, usePaged } from '../ui';

interface FullLabel extends Label {
  description?: string;
  scope?: string;
  creation_time?: string;
}

/** The labels of one scope: a project's own (projectId given, `scope=p`) or the global ones (`scope=g`). */
export function Labels(props: { projectId?: number | undefined }) {
  const pid = props.projectId;
  const scope: Record<string, string> = pid == null ? { scope: 'g' } : { scope: 'p', project_id: String(pid) };
  const p = usePaged<FullLabel>((page, pageSize, q) => list('/labels', { page, pageSize, extra: { ...scope, ...(q ? { name: q } : {}) } }), [pid]);
  const [editing, setEditing] = useState<FullLabel | 'new' | null>(null);
  const { error, act } = useAct(p.reload);
  return (
    <div>
      <ListToolbar q={p.q} onSearch={p.setQ} label={t('labels.search')} test="label-search" newLabel={t('labels.new')} newTest="label-new" onNew={() => setEditing('new')} />
      <PagedTable
        p={p}
        error={error}
        test="label-list"
        cols={['labels.name', 'labels.description', 'common.created', null]}
        empty={<p class="muted">{pid == null ? t('labels.noneGlobal') : t('labels.none')}</p>}
        row={(l) => (
          <tr data-test="label-row" data-name={l.name}>
            <td>
              <LabelChip label={l} />
            </td>
            <td>{l.description ? <Raw>{l.description}</Raw> : <span class="muted">—</span>}</td>
            <td>
              <DateText value={l.creation_time} />
            </td>
            <td class="right nowrap">
              <button type="button" class="small" data-test="label-edit" aria-label={t('labels.editOf', { name: l.name })} onClick={() => setEditing(l)}>
                {t('common.edit')}
              </button>{' '}
              <DeleteButton
                test="label-delete"
                label={t('labels.deleteOf', { name: l.name })}
                confirm={t('labels.confirmDelete', { name: l.name })}
                onConfirmed={() => act(() => call('DELETE', `/labels/${l.id}`))}
              />
            </td>
          </tr>
        )}
      />
      {editing ? <LabelDialog projectId={pid} label={editing === 'new' ? null : editing} onClose={() => setEditing(null)} onSaved={() => (setEditing(null), p.reload())} /> : null}
    </div>
  );
}

export function LabelChip(props: { label: Label; children?: ComponentChildren }) {
  return (
    <span class="chip label" style={props.label.color ? { borderColor: props.label.color } : undefined}>
      {props.label.color ? <span class="swatch" style={{ background: props.label.color }} aria-hidden="true" /> : null}
      <Raw>{props.label.name}</Raw>
      {props.children}
    </span>
  );
}

/** Creates a label in the scope (projectId or global), or edits one (PUT of the whole label). */
function LabelDialog(props: { projectId?: number | undefined; label: FullLabel | null; onClose: () => void; onSaved: () => void }) {
  const old = props.label;
  const [name, setName] = useState(old?.name ?? '');
  const [color, setColor] = useState(old?.color || '#2f6fde');
  const [description, setDescription] = useState(old?.description ?? '');
  const { busy, error, onSubmit } = useAction();
  const scope = props.projectId == null ? { scope: 'g' } : { scope: 'p', project_id: props.projectId };
  return (
    <Dialog title={old ? t('labels.edit') : t('labels.new')} onClose={props.onClose} test="label-dialog">
      <form
        onSubmit={onSubmit(async () => {
          const body = { name: name.trim(), color, description };
          if (old) await call('PUT', `/labels/${old.id}`, { ...old, ...body });
          else await call('POST', '/labels', { ...body, ...scope });
          props.onSaved();
        })}
      >
        <Field label={t('labels.name')}>
          <input required value={name} data-test="label-name" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('labels.color')}>
          <input type="color" value={color} data-test="label-color" onInput={(e) => setColor((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('labels.description')}>
          <input value={description} data-test="label-description" onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
        </Field>
        <DialogActions error={error} busy={busy} onCancel={props.onClose} test="label-save" label={old ? t('common.save') : t('common.create')} />
      </form>
    </Dialog>
  );
}

/** The labels of an artifact, each removable, and a picker of the project's and global labels. */
export function ArtifactLabels(props: { base: string; artifact: Artifact; projectId: number; reload: () => void }) {
  const attached = props.artifact.labels ?? [];
  const avail = useLoad(async () => {
    const [pl, gl] = await Promise.all([
      list<Label>('/labels', { page: 1, pageSize: 100, extra: { scope: 'p', project_id: String(props.projectId) } }),
      list<Label>('/labels', { page: 1, pageSize: 100, extra: { scope: 'g' } }),
    ]);
    return [...pl.items, ...gl.items];
  }, [props.projectId]);
  const [pick, setPick] = useState('');
  const { error, act } = useAct(props.reload);
  const choices = (avail.data ?? []).filter((l) => !attached.some((a) => a.id === l.id));
  return (
    <div data-test="artifact-labels">
      {attached.length ? (
        attached.map((l) => (
          <LabelChip label={l}>
            {' '}
            <button type="button" class="icon chip-x" data-test="artifact-label-remove" aria-label={t('labels.removeOf', { name: l.name })} onClick={() => void act(() => call('DELETE', `${props.base}/labels/${l.id}`))}>
              ×
            </button>
          </LabelChip>
        ))
      ) : (
        <span class="muted">—</span>
      )}
      {choices.length ? (
        <span class="inline-form">
          <select value={pick} aria-label={t('labels.pick')} data-test="artifact-label-pick" onChange={(e) => setPick((e.target as HTMLSelectElement).value)}>
            <option value="">{t('labels.pick')}</option>
            {choices.map((l) => (
              <option value={String(l.id)} data-raw="">
                {l.name}
              </option>
            ))}
          </select>{' '}
          <button type="button" class="small" disabled={!pick} data-test="artifact-label-add" onClick={() => void act(async () => (await call('POST', `${props.base}/labels`, { id: Number(pick) }), setPick('')))}>
            {t('labels.attach')}
          </button>
        </span>
      ) : null}
      <ErrorBox error={avail.error ?? error} />
    </div>
  );
}
