// Labels: a project's own labels (create, delete), and attaching labels to an artifact.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { call, list, type Artifact, type Label, type Project } from '../api';
import { t } from '../i18n';
import { DateText, Dialog, ErrorBox, Field, Loading, Raw, SearchBox, useLoad, usePaged } from '../ui';

interface FullLabel extends Label {
  description?: string;
  scope?: string;
  creation_time?: string;
}

export function ProjectLabels(props: { project: Project }) {
  const pid = props.project.project_id;
  const p = usePaged<FullLabel>((page, pageSize, q) => list('/labels', { page, pageSize, extra: { scope: 'p', project_id: String(pid), ...(q ? { name: q } : {}) } }), [pid]);
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <div>
      <div class="toolbar">
        <SearchBox value={p.q} onSearch={p.setQ} label={t('labels.search')} test="label-search" />
        <button type="button" class="primary" data-test="label-new" onClick={() => setCreating(true)}>
          {t('labels.new')}
        </button>
      </div>
      <ErrorBox error={p.error ?? error} />
      <Loading when={p.loading && !p.data} />
      {p.data && p.data.items.length ? (
        <table class="list" data-test="label-list">
          <thead>
            <tr>
              <th scope="col">{t('labels.name')}</th>
              <th scope="col">{t('labels.description')}</th>
              <th scope="col">{t('common.created')}</th>
              <th scope="col">
                <span class="sr-only">{t('common.actions')}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {p.data.items.map((l) => (
              <tr data-test="label-row" data-name={l.name}>
                <td>
                  <LabelChip label={l} />
                </td>
                <td>{l.description ? <Raw>{l.description}</Raw> : <span class="muted">—</span>}</td>
                <td>
                  <DateText value={l.creation_time} />
                </td>
                <td class="right">
                  <button
                    type="button"
                    class="small danger"
                    data-test="label-delete"
                    aria-label={t('labels.deleteOf', { name: l.name })}
                    onClick={async () => {
                      if (!confirm(t('labels.confirmDelete', { name: l.name }))) return;
                      setError(null);
                      try {
                        await call('DELETE', `/labels/${l.id}`);
                        p.reload();
                      } catch (e) {
                        setError(e);
                      }
                    }}
                  >
                    {t('common.delete')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {p.data && !p.data.items.length ? <p class="muted">{t('labels.none')}</p> : null}
      {p.pager}
      {creating ? <NewLabel projectId={pid} onClose={() => setCreating(false)} onCreated={() => (setCreating(false), p.reload())} /> : null}
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

function NewLabel(props: { projectId: number; onClose: () => void; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [color, setColor] = useState('#2f6fde');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await call('POST', '/labels', { name: name.trim(), color, description, scope: 'p', project_id: props.projectId });
      props.onCreated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog title={t('labels.new')} onClose={props.onClose} test="label-dialog">
      <form onSubmit={submit}>
        <Field label={t('labels.name')}>
          <input required value={name} data-test="label-name" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('labels.color')}>
          <input type="color" value={color} data-test="label-color" onInput={(e) => setColor((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('labels.description')}>
          <input value={description} data-test="label-description" onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
        </Field>
        <ErrorBox error={error} />
        <div class="actions">
          <button type="button" onClick={props.onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" class="primary" disabled={busy} data-test="label-save">
            {t('common.create')}
          </button>
        </div>
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
  const [error, setError] = useState<unknown>(null);
  const act = async (f: () => Promise<unknown>) => {
    setError(null);
    try {
      await f();
      props.reload();
    } catch (e) {
      setError(e);
    }
  };
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
