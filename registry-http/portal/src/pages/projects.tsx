// Projects: paged and searched on the server (q=name=~…), public/private badge, repository
// count, quota usage (GET /quotas?reference=project&reference_id=…), and the create dialog.
import { useState } from 'preact/hooks';
import { create, get, list, qValue, type Project, type Quota } from '../api';
import { t } from '../i18n';
import { BASE, navigate } from '../router';
import { DateText, Dialog, DialogActions, Field, Link, ListToolbar, PagedTable, Raw, SizeText, useAction, useLoad, usePaged } from '../ui';

export function ProjectsPage() {
  const [creating, setCreating] = useState(false);
  const p = usePaged<Project>((page, pageSize, q) => list<Project>('/projects', { page, pageSize, q: q ? `name=~${qValue(q)}` : undefined, sort: 'name' }), []);
  return (
    <section>
      <div class="page-head">
        <h1>{t('projects.title')}</h1>
        <button type="button" class="primary" onClick={() => setCreating(true)} data-test="project-new">
          {t('projects.new')}
        </button>
      </div>
      <ListToolbar q={p.q} onSearch={p.setQ} label={t('projects.search')} test="project-search" />
      <PagedTable
        p={p}
        always
        test="project-list"
        cols={['projects.name', 'projects.access', 'projects.role', 'projects.repos', 'projects.quota', 'common.created']}
        row={(pr) => (
          <tr key={pr.project_id} data-test="project-row" data-name={pr.name}>
            <td>
              <Link href={`${BASE}/projects/${pr.project_id}/repositories`} data-test="project-link">
                <Raw>{pr.name}</Raw>
              </Link>
            </td>
            <td>
              <PublicBadge project={pr} />
            </td>
            <td>{pr.current_user_role_id ? roleName(pr.current_user_role_id) : <span class="muted">—</span>}</td>
            <td data-test="project-repo-count">{pr.repo_count ?? 0}</td>
            <td>
              <QuotaBar projectId={pr.project_id} />
            </td>
            <td>
              <DateText value={pr.creation_time} />
            </td>
          </tr>
        )}
      />
      {creating ? (
        <CreateProject
          onClose={() => setCreating(false)}
          onCreated={(id) => {
            setCreating(false);
            if (id) navigate(`${BASE}/projects/${id}/repositories`);
            else p.reload();
          }}
        />
      ) : null}
    </section>
  );
}

export function PublicBadge(props: { project: Project }) {
  const pub = props.project.metadata?.public === 'true';
  return (
    <span class={pub ? 'badge public' : 'badge private'} data-test="project-access">
      {pub ? t('projects.public') : t('projects.private')}
    </span>
  );
}

export function roleName(id: number): string {
  switch (id) {
    case 1:
      return t('role.projectAdmin');
    case 2:
      return t('role.developer');
    case 3:
      return t('role.guest');
    case 4:
      return t('role.maintainer');
    case 5:
      return t('role.limitedGuest');
    default:
      return String(id);
  }
}

export function QuotaBar(props: { projectId: number }) {
  const q = useLoad(() => get<Quota[]>(`/quotas?reference=project&reference_id=${props.projectId}&page_size=1`), [props.projectId]);
  const quota = q.data?.[0];
  if (q.error || !quota) return <span class="muted">—</span>;
  return <QuotaMeter quota={quota} />;
}

/** Storage used of the limit, as a bar and as text (an unlimited quota has no bar to fill). */
export function QuotaMeter(props: { quota: Quota }) {
  const used = props.quota.used?.storage ?? 0;
  const hard = props.quota.hard?.storage ?? -1;
  const pct = hard > 0 ? Math.min(100, (used / hard) * 100) : 0;
  return (
    <div class="quota" data-test="quota">
      <div class="bar" role="meter" aria-valuemin={0} aria-valuemax={hard > 0 ? hard : 0} aria-valuenow={used} aria-label={t('projects.quota')}>
        <div class={pct > 90 ? 'fill warn' : 'fill'} style={{ width: `${hard > 0 ? pct : 0}%` }} />
      </div>
      <span class="quota-text">
        <SizeText bytes={used} /> / {hard > 0 ? <SizeText bytes={hard} /> : t('quota.unlimited')}
      </span>
    </div>
  );
}

function CreateProject(props: { onClose: () => void; onCreated: (id: string | null) => void }) {
  const { busy, error, onSubmit } = useAction();
  const [name, setName] = useState('');
  const [pub, setPub] = useState(false);
  const [limit, setLimit] = useState('');
  const submit = onSubmit(async () => {
    const gib = limit.trim() === '' ? -1 : Math.round(Number(limit) * 1024 * 1024 * 1024);
    const loc = await create('/projects', { project_name: name.trim(), metadata: { public: String(pub) }, storage_limit: gib });
    let id = loc?.split('/').pop() ?? null;
    if (!id || !/^\d+$/.test(id)) {
      const pr = await get<Project>(`/projects/${encodeURIComponent(name.trim())}`).catch(() => null);
      id = pr ? String(pr.project_id) : null;
    }
    props.onCreated(id);
  });
  return (
    <Dialog title={t('projects.new')} onClose={props.onClose} test="project-dialog">
      <form onSubmit={submit}>
        <Field label={t('projects.name')} hint={t('projects.nameHint')}>
          <input required value={name} pattern="[a-z0-9]+(?:[._\-][a-z0-9]+)*" maxLength={255} data-test="project-name" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </Field>
        <label class="check">
          <input type="checkbox" checked={pub} data-test="project-public" onChange={(e) => setPub((e.target as HTMLInputElement).checked)} /> {t('projects.publicLabel')}
        </label>
        <Field label={t('projects.limit')} hint={t('projects.limitHint')}>
          <input type="number" min="0" step="any" value={limit} data-test="project-limit" onInput={(e) => setLimit((e.target as HTMLInputElement).value)} />
        </Field>
        <DialogActions error={error} busy={busy} onCancel={props.onClose} test="project-create" label={t('common.create')} />
      </form>
    </Dialog>
  );
}
