// Search across projects and repositories: GET /search?q=.
import { get, type SearchResult } from '../api';
import { t } from '../i18n';
import { BASE, navigate } from '../router';
import { ErrorBox, Link, Loading, Raw, SearchBox, useLoad } from '../ui';
import { repoHref } from './project';

export function SearchPage(props: { q: string }) {
  const r = useLoad<SearchResult | null>(() => (props.q ? get<SearchResult>(`/search?q=${encodeURIComponent(props.q)}`) : Promise.resolve(null)), [props.q]);
  const projects = r.data?.project ?? [];
  const repos = r.data?.repository ?? [];
  return (
    <section>
      <h1>{t('search.title')}</h1>
      <div class="toolbar">
        <SearchBox value={props.q} onSearch={(v) => navigate(`${BASE}/search?q=${encodeURIComponent(v)}`, true)} label={t('header.search')} test="search-page-input" />
      </div>
      <ErrorBox error={r.error} />
      <Loading when={r.loading} />
      {r.data ? (
        <div class="cols">
          <div class="card">
            <h2>{t('search.projects', { n: projects.length })}</h2>
            {projects.length ? (
              <ul data-test="search-projects">
                {projects.map((p) => (
                  <li>
                    <Link href={`${BASE}/projects/${p.project_id}/repositories`}>
                      <Raw>{p.name}</Raw>
                    </Link>
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted">{t('common.empty')}</p>
            )}
          </div>
          <div class="card">
            <h2>{t('search.repositories', { n: repos.length })}</h2>
            {repos.length ? (
              <ul data-test="search-repos">
                {repos.map((x) => (
                  <li>
                    <Link href={repoHref(x.project_id, x.project_name, x.repository_name)}>
                      <Raw>{x.repository_name}</Raw>
                    </Link>{' '}
                    <span class="muted">{t('search.artifactCount', { n: x.artifact_count ?? 0 })}</span>
                  </li>
                ))}
              </ul>
            ) : (
              <p class="muted">{t('common.empty')}</p>
            )}
          </div>
        </div>
      ) : null}
    </section>
  );
}
