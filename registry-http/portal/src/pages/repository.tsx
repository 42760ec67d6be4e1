// A repository's artifacts: paged on the server, searched by tag, with tags, short digest + copy,
// size, push and pull time, type and labels.
import { list, qValue, repoPath, type Artifact } from '../api';
import { t, type Key } from '../i18n';
import { BASE } from '../router';
import { Breadcrumbs, CopyButton, DateText, Empty, ErrorBox, Link, ListTable, ListToolbar, Loading, Raw, shortDigest, SizeText, usePaged } from '../ui';
import { severityName, useProject } from './project';
import { statusName } from './admin';

const TYPE_KEY: Record<string, Key> = { IMAGE: 'artifact.type.image', CHART: 'artifact.type.chart', CNAB: 'artifact.type.other' };

export function artifactKind(a: Artifact): string {
  const mt = a.manifest_media_type ?? a.media_type ?? '';
  if (mt.includes('index') || mt.includes('manifest.list')) return t('artifact.type.index');
  const k = TYPE_KEY[(a.type ?? '').toUpperCase()];
  return k ? t(k) : t('artifact.type.other');
}

export function Labels(props: { artifact: Artifact }) {
  const ls = props.artifact.labels ?? [];
  if (!ls.length) return <span class="muted">—</span>;
  return (
    <>
      {ls.map((l) => (
        <span class="chip label" style={l.color ? { borderColor: l.color } : undefined}>
          <Raw>{l.name}</Raw>
        </span>
      ))}
    </>
  );
}

/** The scan overview in one cell: not scanned, the status while it runs, or the count and worst severity. */
export function ScanCell(props: { artifact: Artifact }) {
  const o = Object.values(props.artifact.scan_overview ?? {})[0];
  if (!o) return <span class="muted">{t('scan.none')}</span>;
  if ((o.scan_status ?? '').toLowerCase() !== 'success') return <>{statusName(o.scan_status ?? '')}</>;
  const total = o.summary?.total ?? 0;
  if (!total) return <span class="ok">{t('vul.none')}</span>;
  return (
    <span class={`chip sev-${(o.severity ?? '').toLowerCase()}`}>
      {t('scan.total', { n: total })} · {severityName(o.severity ?? 'unknown')}
    </span>
  );
}

export function RepositoryPage(props: { id: string; repo: string }) {
  const pr = useProject(props.id);
  const project = pr.data;
  const full = project ? `${project.name}/${props.repo}` : props.repo;
  const p = usePaged<Artifact>(
    (page, pageSize, q) =>
      project
        ? list(`${repoPath(project.name, full)}/artifacts`, {
            page,
            pageSize,
            q: q ? `tags=~${qValue(q)}` : undefined,
            sort: '-push_time',
            extra: { with_tag: 'true', with_label: 'true', with_scan_overview: 'true', with_accessory: 'false' },
          })
        : new Promise(() => {}),
    [project?.name, props.repo],
  );
  return (
    <section>
      <Breadcrumbs project={project} />
      <ErrorBox error={pr.error} />
      <h1>
        <Raw>{full}</Raw>
      </h1>
      <h2 class="sub">{t('repo.artifacts')}</h2>
      <ListToolbar q={p.q} onSearch={p.setQ} label={t('repo.searchTag')} test="artifact-search" />
      <ErrorBox error={p.error} />
      <Loading when={p.loading && !p.data} />
      {p.data && project ? (
        <ListTable
          test="artifact-list"
          cols={['artifact.digest', 'artifact.tags', 'artifact.type', 'artifact.size', 'vul.title', 'artifact.labels', 'artifact.pushed', 'artifact.pulled']}
          items={p.data.items}
          row={(a) => (
            <tr key={a.id} data-test="artifact-row" data-digest={a.digest}>
              <td class="nowrap">
                <Link href={`${BASE}/projects/${project.project_id}/repositories/${encodeURIComponent(props.repo)}/artifacts/${encodeURIComponent(a.digest)}`} data-test="artifact-link">
                  <Raw title={a.digest}>{shortDigest(a.digest)}</Raw>
                </Link>{' '}
                <CopyButton text={a.digest} label={t('artifact.copyDigest')} test="digest-copy" />
              </td>
              <td data-test="artifact-tags">
                {(a.tags ?? []).length ? (
                  (a.tags ?? []).map((tg) => (
                    <span class="chip" data-test="tag">
                      <Raw>{tg.name}</Raw>
                    </span>
                  ))
                ) : (
                  <span class="muted">{t('artifact.untagged')}</span>
                )}
              </td>
              <td data-test="artifact-type">{artifactKind(a)}</td>
              <td>
                <SizeText bytes={a.size} />
              </td>
              <td>
                <ScanCell artifact={a} />
              </td>
              <td>
                <Labels artifact={a} />
              </td>
              <td>
                <DateText value={a.push_time} />
              </td>
              <td>
                <DateText value={a.pull_time && !a.pull_time.startsWith('0001') ? a.pull_time : null} />
              </td>
            </tr>
          )}
        />
      ) : null}
      <Empty when={!!p.data && p.data.items.length === 0} />
      {p.pager}
    </section>
  );
}
