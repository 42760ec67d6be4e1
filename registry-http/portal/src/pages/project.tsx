// One project: tabs for repositories, members, robot accounts, logs and configuration.
import { useState } from 'preact/hooks';
import { call, get, list, qValue, type AuditLog, type Member, type Project, type Repository, type Robot, type RobotCreated, type User } from '../api';
import { t, type Key } from '../i18n';
import { BASE, navigate } from '../router';
import { Breadcrumbs, DateText, DeleteButton, Dialog, DialogActions, Empty, ErrorBox, Field, Link, ListTable, ListToolbar, Loading, Note, PagedTable, Raw, useAct, useAction, useAuthMode, useLoad, usePaged } from '../ui';
import { Labels } from './labels';
import { Policies } from './policies';
import { listGroups } from './groups';
import { directoryNames, importIfInDirectory } from './ldap';
import { PublicBadge, QuotaBar, roleName } from './projects';
import { neverByDuration, RobotRow, RobotSecret } from '../robots';

export const PROJECT_TABS = ['repositories', 'members', 'labels', 'policies', 'robots', 'logs', 'configuration'];
const TAB_LABEL: Record<string, Key> = {
  repositories: 'project.tab.repositories',
  members: 'project.tab.members',
  labels: 'project.tab.labels',
  policies: 'project.tab.policies',
  robots: 'project.tab.robots',
  logs: 'project.tab.logs',
  configuration: 'project.tab.configuration',
};

export function useProject(id: string) {
  return useLoad(() => get<Project>(`/projects/${encodeURIComponent(id)}`), [id]);
}

export function ProjectPage(props: { id: string; tab: string; user: User }) {
  const pr = useProject(props.id);
  const project = pr.data;
  return (
    <section>
      <Breadcrumbs />
      <ErrorBox error={pr.error} />
      <Loading when={pr.loading && !project} />
      {project ? (
        <>
          <div class="page-head">
            <h1>
              <Raw>{project.name}</Raw> <PublicBadge project={project} />
            </h1>
            <div class="head-quota">
              <span class="muted">{t('projects.quota')}</span> <QuotaBar projectId={project.project_id} />
            </div>
          </div>
          <nav class="tabs" aria-label={t('project.tabs')}>
            {PROJECT_TABS.map((tab) => (
              <Link href={`${BASE}/projects/${project.project_id}/${tab}`} class={tab === props.tab ? 'tab active' : 'tab'} aria-current={tab === props.tab ? 'page' : undefined} data-test={`tab-${tab}`}>
                {t(TAB_LABEL[tab]!)}
              </Link>
            ))}
          </nav>
          {props.tab === 'repositories' ? <Repositories project={project} /> : null}
          {props.tab === 'members' ? <Members project={project} user={props.user} /> : null}
          {props.tab === 'labels' ? <Labels projectId={project.project_id} /> : null}
          {props.tab === 'policies' ? <Policies project={project} onChanged={pr.reload} /> : null}
          {props.tab === 'robots' ? <Robots project={project} /> : null}
          {props.tab === 'logs' ? <Logs project={project} /> : null}
          {props.tab === 'configuration' ? <Configuration project={project} onSaved={pr.reload} /> : null}
        </>
      ) : null}
    </section>
  );
}

const pname = (p: Project) => encodeURIComponent(p.name);

export function repoHref(projectId: number, projectName: string, fullName: string): string {
  const rest = fullName.startsWith(projectName + '/') ? fullName.slice(projectName.length + 1) : fullName;
  return `${BASE}/projects/${projectId}/repositories/${encodeURIComponent(rest)}`;
}

function Repositories(props: { project: Project }) {
  const p = usePaged<Repository>((page, pageSize, q) => list(`/projects/${pname(props.project)}/repositories`, { page, pageSize, q: q ? `name=~${qValue(q)}` : undefined, sort: 'name' }), [props.project.name]);
  return (
    <div>
      <ListToolbar q={p.q} onSearch={p.setQ} label={t('repos.search')} test="repo-search" />
      <PagedTable
        p={p}
        always
        test="repo-list"
        cols={['repos.name', 'repos.artifacts', 'repos.pulls', 'common.updated']}
        row={(r) => (
          <tr key={r.id} data-test="repo-row" data-name={r.name}>
            <td>
              <Link href={repoHref(props.project.project_id, props.project.name, r.name)} data-test="repo-link">
                <Raw>{r.name}</Raw>
              </Link>
            </td>
            <td>{r.artifact_count ?? 0}</td>
            <td>{r.pull_count ?? 0}</td>
            <td>
              <DateText value={r.update_time ?? r.creation_time} />
            </td>
          </tr>
        )}
      />
    </div>
  );
}

const ROLES = [1, 4, 2, 3, 5];

function RoleSelect(props: { value: number; onChange: (r: number) => void; label: string; test?: string }) {
  return (
    <select value={String(props.value)} aria-label={props.label} data-test={props.test} onChange={(e) => props.onChange(Number((e.target as HTMLSelectElement).value))}>
      {ROLES.map((r) => (
        <option value={String(r)}>{roleName(r)}</option>
      ))}
    </select>
  );
}

function Members(props: { project: Project; user: User }) {
  const [adding, setAdding] = useState(false);
  const p = usePaged<Member>(
    (page, pageSize, q) => list(`/projects/${pname(props.project)}/members`, { page, pageSize, extra: q ? { entityname: q } : undefined }),
    [props.project.name],
  );
  const { error: actionError, act } = useAct(p.reload);
  const base = `/projects/${pname(props.project)}/members`;
  return (
    <div>
      <ListToolbar q={p.q} onSearch={p.setQ} label={t('members.search')} test="member-search" newLabel={t('members.add')} newTest="member-add" onNew={() => setAdding(true)} />
      <PagedTable
        p={p}
        error={actionError}
        always
        test="member-list"
        cols={['members.name', 'members.type', 'members.role', null]}
        row={(m) => (
          <tr key={m.id} data-test="member-row" data-name={m.entity_name}>
            <td>
              <Raw>{m.entity_name}</Raw>
            </td>
            <td>{m.entity_type === 'g' ? t('members.group') : t('members.user')}</td>
            <td>
              <RoleSelect value={m.role_id} label={t('members.roleOf', { name: m.entity_name })} test="member-role" onChange={(r) => act(() => call('PUT', `${base}/${m.id}`, { role_id: r }))} />
            </td>
            <td class="right">
              <DeleteButton
                test="member-remove"
                disabled={m.entity_name === props.user.username}
                label={t('members.removeOf', { name: m.entity_name })}
                confirm={t('members.confirmRemove', { name: m.entity_name })}
                text={t('common.remove')}
                onConfirmed={() => act(() => call('DELETE', `${base}/${m.id}`))}
              />
            </td>
          </tr>
        )}
      />
      {adding ? <AddMember project={props.project} onClose={() => setAdding(false)} onAdded={() => (setAdding(false), p.reload())} /> : null}
    </div>
  );
}

function AddMember(props: { project: Project; onClose: () => void; onAdded: () => void }) {
  const { busy, error, onSubmit } = useAction();
  const [kind, setKind] = useState<'user' | 'group'>('user');
  const [username, setUsername] = useState('');
  const [role, setRole] = useState(2);
  const [hints, setHints] = useState<string[]>([]);
  // Under LDAP a directory user who never signed in is suggested too, and imported before being added.
  const ldap = useAuthMode() === 'ldap_auth';
  const submit = onSubmit(async () => {
    const name = username.trim();
    if (kind === 'group') {
      const found = (await listGroups(1, 10, name)).items.find((g) => g.group_name === name);
      if (!found) throw new Error(t('members.noGroup', { name }));
      await call('POST', `/projects/${pname(props.project)}/members`, { role_id: role, member_group: { id: found.id } });
    } else {
      if (ldap) await importIfInDirectory(name);
      await call('POST', `/projects/${pname(props.project)}/members`, { role_id: role, member_user: { username: name } });
    }
    props.onAdded();
  });
  const suggest = async (v: string) => {
    if (v.trim().length < (kind === 'group' ? 1 : 2)) return setHints([]);
    try {
      if (kind === 'group') setHints((await listGroups(1, 10, v.trim())).items.map((g) => g.group_name));
      else {
        const local = (await get<User[]>(`/users/search?username=${encodeURIComponent(v.trim())}&page_size=10`)).map((u) => u.username);
        const dir = ldap ? await directoryNames(v.trim()) : [];
        setHints([...new Set([...local, ...dir])].slice(0, 10));
      }
    } catch {
      setHints([]);
    }
  };
  return (
    <Dialog title={t('members.add')} onClose={props.onClose} test="member-dialog">
      <form onSubmit={submit}>
        <fieldset class="inline">
          <legend>{t('members.kind')}</legend>
          <label class="check">
            <input type="radio" name="member-kind" checked={kind === 'user'} data-test="member-kind-user" onChange={() => (setKind('user'), setHints([]))} /> {t('members.user')}
          </label>
          <label class="check">
            <input type="radio" name="member-kind" checked={kind === 'group'} data-test="member-kind-group" onChange={() => (setKind('group'), setHints([]))} /> {t('members.group')}
          </label>
        </fieldset>
        <Field label={kind === 'group' ? t('members.groupName') : t('members.username')} hint={ldap && kind === 'user' ? t('ldap.memberHint') : undefined}>
          <input
            required
            value={username}
            list="member-hints"
            autoComplete="off"
            data-test="member-username"
            onInput={(e) => {
              const v = (e.target as HTMLInputElement).value;
              setUsername(v);
              void suggest(v);
            }}
          />
        </Field>
        <datalist id="member-hints">
          {hints.map((h) => (
            <option value={h} />
          ))}
        </datalist>
        <Field label={t('members.role')}>
          <RoleSelect value={role} onChange={setRole} label={t('members.role')} test="member-new-role" />
        </Field>
        <DialogActions error={error} busy={busy} onCancel={props.onClose} test="member-save" label={t('common.add')} />
      </form>
    </Dialog>
  );
}

function Robots(props: { project: Project }) {
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<RobotCreated | null>(null);
  const p = usePaged<Robot>(
    (page, pageSize, q) => list('/robots', { page, pageSize, q: `Level=project,ProjectID=${props.project.project_id}${q ? `,name=~${qValue(q)}` : ''}` }),
    [props.project.project_id],
  );
  const { error: actionError, act } = useAct(p.reload);
  return (
    <div>
      <ListToolbar q={p.q} onSearch={p.setQ} label={t('robots.search')} test="robot-search" newLabel={t('robots.new')} newTest="robot-new" onNew={() => setCreating(true)} />
      <PagedTable
        p={p}
        error={actionError}
        always
        test="robot-list"
        cols={['robots.name', 'robots.permissions', 'robots.expires', 'common.created', null]}
        row={(r) => <RobotRow robot={r} test="robot" never={neverByDuration} access={(_, a) => `${a.resource}:${a.action}`} act={act} />}
      />
      {creating ? (
        <CreateRobot
          project={props.project}
          onClose={() => setCreating(false)}
          onCreated={(r) => {
            setCreating(false);
            setCreated(r);
            p.reload();
          }}
        />
      ) : null}
      {created ? <RobotSecret created={created} test="robot" onClose={() => setCreated(null)} /> : null}
    </div>
  );
}

function CreateRobot(props: { project: Project; onClose: () => void; onCreated: (r: RobotCreated) => void }) {
  const { busy, error, onSubmit } = useAction();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [days, setDays] = useState('-1');
  const [pull, setPull] = useState(true);
  const [push, setPush] = useState(false);
  const submit = onSubmit(async () => {
    const access = [];
    if (pull) access.push({ resource: 'repository', action: 'pull' });
    if (push) access.push({ resource: 'repository', action: 'push' });
    const r = await call<RobotCreated>('POST', '/robots', {
      name: name.trim(),
      description,
      level: 'project',
      duration: Number(days) || -1,
      permissions: [{ kind: 'project', namespace: props.project.name, access }],
    });
    props.onCreated(r);
  });
  return (
    <Dialog title={t('robots.new')} onClose={props.onClose} test="robot-dialog">
      <form onSubmit={submit}>
        <Field label={t('robots.name')}>
          <input required value={name} data-test="robot-name" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('robots.description')}>
          <input value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
        </Field>
        <Field label={t('robots.days')} hint={t('robots.daysHint')}>
          <input type="number" min="-1" value={days} data-test="robot-days" onInput={(e) => setDays((e.target as HTMLInputElement).value)} />
        </Field>
        <fieldset>
          <legend>{t('robots.permissions')}</legend>
          <label class="check">
            <input type="checkbox" checked={pull} data-test="robot-pull" onChange={(e) => setPull((e.target as HTMLInputElement).checked)} /> {t('robots.pull')}
          </label>
          <label class="check">
            <input type="checkbox" checked={push} data-test="robot-push" onChange={(e) => setPush((e.target as HTMLInputElement).checked)} /> {t('robots.push')}
          </label>
        </fieldset>
        <DialogActions error={error} busy={busy || (!pull && !push)} onCancel={props.onClose} test="robot-create" label={t('common.create')} />
      </form>
    </Dialog>
  );
}

export function AuditTable(props: { items: AuditLog[] }) {
  return (
    <ListTable
      test="log-list"
      cols={['logs.user', 'logs.resource', 'logs.resourceType', 'logs.operation', 'logs.time']}
      items={props.items}
      row={(l) => (
        <tr key={l.id} data-test="log-row">
          <td>
            <Raw>{l.username}</Raw>
          </td>
          <td>
            <Raw>{l.resource}</Raw>
          </td>
          <td>
            <Raw>{l.resource_type}</Raw>
          </td>
          <td>
            <Raw>{l.operation}</Raw>
          </td>
          <td>
            <DateText value={l.op_time} />
          </td>
        </tr>
      )}
    />
  );
}

function Logs(props: { project: Project }) {
  const p = usePaged<AuditLog>(
    (page, pageSize, q) => list(`/projects/${pname(props.project)}/logs`, { page, pageSize, q: q ? `username=~${qValue(q)}` : undefined, sort: '-op_time' }),
    [props.project.name],
  );
  return (
    <div>
      <ListToolbar q={p.q} onSearch={p.setQ} label={t('logs.searchUser')} test="log-search" />
      <ErrorBox error={p.error} />
      <Loading when={p.loading && !p.data} />
      {p.data ? <AuditTable items={p.data.items} /> : null}
      <Empty when={!!p.data && p.data.items.length === 0} />
      {p.pager}
    </div>
  );
}

const SEVERITIES = ['none', 'low', 'medium', 'high', 'critical'] as const;
const SEVERITY_KEY: Record<string, Key> = { none: 'severity.none', negligible: 'severity.negligible', low: 'severity.low', medium: 'severity.medium', high: 'severity.high', critical: 'severity.critical', unknown: 'severity.unknown' };
export function severityName(s: string): string {
  const k = SEVERITY_KEY[s.toLowerCase()];
  return k ? t(k) : s;
}

function Configuration(props: { project: Project; onSaved: () => void }) {
  const md = props.project.metadata ?? {};
  const [pub, setPub] = useState(md.public === 'true');
  const [autoScan, setAutoScan] = useState(md.auto_scan === 'true');
  const [prevent, setPrevent] = useState(md.prevent_vul === 'true');
  const [severity, setSeverity] = useState(md.severity || 'low');
  const [trust, setTrust] = useState(md.enable_content_trust_cosign === 'true' || md.enable_content_trust === 'true');
  const [reuse, setReuse] = useState(md.reuse_sys_cve_allowlist !== 'false');
  const [cves, setCves] = useState((props.project.cve_allowlist?.items ?? []).map((x) => x.cve_id).join(', '));
  const [cvesEdited, setCvesEdited] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setSaved(false);
    try {
      await call('PUT', `/projects/${props.project.project_id}`, {
        metadata: {
          public: String(pub),
          auto_scan: String(autoScan),
          prevent_vul: String(prevent),
          severity,
          enable_content_trust_cosign: String(trust),
          reuse_sys_cve_allowlist: String(reuse),
        },
        // The project's own list only when it was edited or read: the server may not report it.
        ...(cvesEdited || props.project.cve_allowlist
          ? {
              cve_allowlist: {
                ...props.project.cve_allowlist,
                items: [...new Set(cves.split(/[\s,]+/).map((x) => x.trim().toUpperCase()).filter(Boolean))].map((cve_id) => ({ cve_id })),
              },
            }
          : {}),
      });
      setSaved(true);
      props.onSaved();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <form class="card narrow" onSubmit={save} data-test="project-config">
        <label class="check">
          <input type="checkbox" checked={pub} data-test="cfg-public" onChange={(e) => setPub((e.target as HTMLInputElement).checked)} /> {t('config.public')}
        </label>
        <label class="check">
          <input type="checkbox" checked={autoScan} data-test="cfg-autoscan" onChange={(e) => setAutoScan((e.target as HTMLInputElement).checked)} /> {t('config.autoScan')}
        </label>
        <label class="check">
          <input type="checkbox" checked={prevent} data-test="cfg-prevent" onChange={(e) => setPrevent((e.target as HTMLInputElement).checked)} /> {t('config.prevent')}
        </label>
        <Field label={t('config.severity')}>
          <select value={severity} disabled={!prevent} onChange={(e) => setSeverity((e.target as HTMLSelectElement).value)}>
            {SEVERITIES.filter((s) => s !== 'none').map((s) => (
              <option value={s}>{severityName(s)}</option>
            ))}
          </select>
        </Field>
        <label class="check">
          <input type="checkbox" checked={trust} data-test="cfg-trust" onChange={(e) => setTrust((e.target as HTMLInputElement).checked)} /> {t('config.trust')}
        </label>
        <fieldset data-test="cfg-allowlist">
          <legend>{t('config.allowlist')}</legend>
          <label class="check">
            <input type="checkbox" checked={reuse} data-test="cfg-reuse-allowlist" onChange={(e) => setReuse((e.target as HTMLInputElement).checked)} /> {t('config.reuseAllowlist')}
          </label>
          {!reuse ? (
            <Field label={t('config.projectCves')} hint={props.project.cve_allowlist ? t('allowlist.cveIds') : t('config.projectCvesHint')}>
              <input value={cves} data-test="cfg-cves" onInput={(e) => (setCves((e.target as HTMLInputElement).value), setCvesEdited(true))} />
            </Field>
          ) : null}
        </fieldset>
        <ErrorBox error={error} />
        <Note text={saved ? t('common.saved') : null} test="cfg-saved" />
        <div class="actions">
          <button type="submit" class="primary" data-test="cfg-save">
            {t('common.save')}
          </button>
        </div>
      </form>
      <ProjectScanner project={props.project} />
      <section class="card narrow" aria-labelledby="project-delete-title">
        <h2 id="project-delete-title">{t('project.delete')}</h2>
        <p class="muted">{t('project.deleteHint')}</p>
        <ErrorBox error={deleteError} test="project-delete-error" />
        <div class="actions left">
          <button
            type="button"
            class="danger"
            data-test="project-delete"
            onClick={async () => {
              if (!confirm(t('project.confirmDelete', { name: props.project.name }))) return;
              setDeleteError(null);
              try {
                await call('DELETE', `/projects/${props.project.project_id}`);
                navigate(`${BASE}/projects`, true);
              } catch (err) {
                setDeleteError(err);
              }
            }}
          >
            {t('project.delete')}
          </button>
        </div>
      </section>
    </>
  );
}

interface ScannerChoice {
  uuid: string;
  name: string;
  is_default?: boolean;
  builtin?: boolean;
}

/** The project's vulnerability scanner: one of the candidates, saved with PUT /projects/{p}/scanner. */
function ProjectScanner(props: { project: Project }) {
  const base = `/projects/${encodeURIComponent(props.project.name)}/scanner`;
  const cur = useLoad(() => get<ScannerChoice | null>(base), [base]);
  const cands = useLoad(() => list<ScannerChoice>(`${base}/candidates`, { page: 1, pageSize: 100 }), [base]);
  const [uuid, setUuid] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  const { busy, error, onSubmit } = useAction();
  const chosen = uuid ?? cur.data?.uuid ?? '';
  const submit = onSubmit(async () => {
    setSaved(false);
    await call('PUT', base, { uuid: chosen });
    setSaved(true);
    setUuid(null);
    cur.reload();
  });
  return (
    <form class="card narrow" onSubmit={submit} data-test="project-scanner" aria-labelledby="project-scanner-title">
      <h2 id="project-scanner-title">{t('config.scanner')}</h2>
      <ErrorBox error={cur.error ?? cands.error ?? error} />
      <Loading when={cands.loading && !cands.data} />
      {cands.data ? (
        <Field label={t('config.scannerChoice')}>
          <select value={chosen} data-test="cfg-scanner" onChange={(e) => (setUuid((e.target as HTMLSelectElement).value), setSaved(false))}>
            {cands.data.items.map((x) => (
              <option value={x.uuid} data-raw="">
                {x.name}
              </option>
            ))}
          </select>
        </Field>
      ) : null}
      {cur.data ? (
        <p class="muted" data-test="cfg-scanner-current">
          {t('config.scannerCurrent')}: <Raw>{cur.data.name}</Raw>
        </p>
      ) : null}
      <Note text={saved ? t('common.saved') : null} test="cfg-scanner-saved" />
      <div class="actions">
        <button type="submit" class="primary" disabled={busy || !chosen} data-test="cfg-scanner-save">
          {t('config.scannerSave')}
        </button>
      </div>
    </form>
  );
}
