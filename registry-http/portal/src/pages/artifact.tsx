// One artifact: summary, pull commands, tags, build history, accessories, scan summary and
// vulnerabilities.
import { useEffect, useState } from 'preact/hooks';
import { call, get, list, repoPath, type Accessory, type Artifact, type Tag, type Vulnerability } from '../api';
import { t, type Key } from '../i18n';
import { BASE, navigate } from '../router';
import { Breadcrumbs, CopyButton, DateText, DeleteButton, Empty, ErrorBox, Link, ListTable, Loading, Raw, shortDigest, SizeText, useAct, useAction, useLoad, usePaged } from '../ui';
import { severityName, useProject } from './project';
import { artifactKind, Labels } from './repository';
import { ArtifactLabels } from './labels';
import { BuildHistory, ChartAdditions, isChart } from './additions';
import { statusName } from './admin';

const ACCESSORY_KEY: Record<string, Key> = {
  'signature.cosign': 'accessory.cosign',
  'signature.notation': 'accessory.notation',
  'sbom.harbor': 'accessory.sbom',
  'accelerator.nydus': 'accessory.nydus',
  'subject.accessory': 'accessory.other',
};

const SEV_ORDER = ['Critical', 'High', 'Medium', 'Low', 'Negligible', 'Unknown', 'None'];

export function ArtifactPage(props: { id: string; repo: string; reference: string }) {
  const pr = useProject(props.id);
  const project = pr.data;
  const full = project ? `${project.name}/${props.repo}` : props.repo;
  const base = project ? `${repoPath(project.name, full)}/artifacts/${encodeURIComponent(props.reference)}` : null;
  const art = useLoad<Artifact>(
    () => (base ? get<Artifact>(`${base}?with_tag=true&with_label=true&with_scan_overview=true&with_accessory=true`) : new Promise(() => {})),
    [base],
  );
  const a = art.data;
  return (
    <section>
      <Breadcrumbs project={project} repo={props.repo} />
      <ErrorBox error={pr.error ?? art.error} />
      <h1>
        <Raw title={props.reference}>{`${full}@${shortDigest(props.reference)}`}</Raw>
      </h1>
      <Loading when={art.loading && !a} />
      {a && base ? (
        <>
          <dl class="facts card">
            <dt>{t('artifact.digest')}</dt>
            <dd>
              <code data-raw="" data-test="artifact-digest">
                {a.digest}
              </code>{' '}
              <CopyButton text={a.digest} label={t('artifact.copyDigest')} />
            </dd>
            <dt>{t('artifact.type')}</dt>
            <dd data-test="artifact-type">{artifactKind(a)}</dd>
            <dt>{t('artifact.mediaType')}</dt>
            <dd>
              <Raw>{a.manifest_media_type ?? a.media_type ?? ''}</Raw>
            </dd>
            <dt>{t('artifact.size')}</dt>
            <dd>
              <SizeText bytes={a.size} />
            </dd>
            <dt>{t('artifact.pushed')}</dt>
            <dd>
              <DateText value={a.push_time} />
            </dd>
            <dt>{t('artifact.pulled')}</dt>
            <dd>
              <DateText value={a.pull_time && !a.pull_time.startsWith('0001') ? a.pull_time : null} />
            </dd>
            <dt>{t('artifact.labels')}</dt>
            <dd>
              {project ? <ArtifactLabels base={base} artifact={a} projectId={project.project_id} reload={art.reload} /> : <Labels artifact={a} />}
            </dd>
            {a.references?.length ? (
              <>
                <dt>{t('artifact.platforms')}</dt>
                <dd>
                  {a.references.map((r) => (
                    <span class="chip">
                      <Raw>{`${r.platform?.os ?? '?'}/${r.platform?.architecture ?? '?'}`}</Raw>
                    </span>
                  ))}
                </dd>
              </>
            ) : null}
          </dl>
          {a.references?.length ? <IndexChildren projectId={props.id} repo={props.repo} full={full} base={base} artifact={a} /> : null}
          <DeleteArtifact base={base} back={`${BASE}/projects/${props.id}/repositories/${encodeURIComponent(props.repo)}`} digest={a.digest} />
          <PullCommands repo={full} artifact={a} />
          <Tags base={base} />
          <ScanSummary artifact={a} base={base} reload={art.reload} />
          <Vulnerabilities base={base} key={Object.values(a.scan_overview ?? {})[0]?.end_time ?? 'none'} />
          {isChart(a) ? <ChartAdditions base={base} /> : <BuildHistory base={base} />}
          <Accessories base={base} />
        </>
      ) : null}
    </section>
  );
}

type Ref = NonNullable<Artifact['references']>[number];

function platformOf(p?: { os?: string; architecture?: string; variant?: string } | null): string | null {
  if (!p || (!p.os && !p.architecture)) return null;
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** The manifests an index (manifest list) references: platform, digest (to its page), size. */
function IndexChildren(props: { projectId: string; repo: string; full: string; base: string; artifact: Artifact }) {
  const refs = props.artifact.references ?? [];
  // When the API's references carry no platform, the index manifest itself has them (read with
  // the same session through the registry API; a failure just leaves the platform unknown).
  const needManifest = refs.some((r) => !platformOf(r.platform));
  const manifest = useLoad<Record<string, string>>(async () => {
    if (!needManifest) return {};
    const res = await fetch(`/v2/${props.full}/manifests/${props.artifact.digest}`, {
      credentials: 'same-origin',
      headers: { Accept: 'application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json' },
    });
    if (!res.ok) return {};
    const body = (await res.json()) as { manifests?: { digest: string; platform?: { os?: string; architecture?: string; variant?: string } }[] };
    const out: Record<string, string> = {};
    for (const m of body.manifests ?? []) {
      const p = platformOf(m.platform);
      if (p) out[m.digest] = p;
    }
    return out;
  }, [props.artifact.digest]);
  return (
    <section class="card" aria-labelledby="children-title" data-test="index-children">
      <h2 id="children-title">{t('artifact.children')}</h2>
      <ListTable
        cols={['artifact.platform', 'artifact.digest', 'artifact.size']}
        items={refs}
        row={(r) => (
          <ChildRow key={r.child_digest} r={r} platform={manifest.data?.[r.child_digest]} href={`${BASE}/projects/${props.projectId}/repositories/${encodeURIComponent(props.repo)}/artifacts/${encodeURIComponent(r.child_digest)}`} api={props.base.replace(/\/artifacts\/[^/]+$/, `/artifacts/${encodeURIComponent(r.child_digest)}`)} />
        )}
      />
    </section>
  );
}

function ChildRow(props: { r: Ref; platform?: string | undefined; href: string; api: string }) {
  const c = useLoad(() => get<Artifact>(props.api), [props.api]);
  const extra = (c.data?.extra_attrs ?? {}) as { os?: string; architecture?: string; variant?: string };
  const platform = platformOf(props.r.platform) ?? props.platform ?? platformOf(extra);
  return (
    <tr data-test="index-child" data-digest={props.r.child_digest}>
      <td data-test="index-child-platform">{platform ? <Raw>{platform}</Raw> : <span class="muted">—</span>}</td>
      <td>
        <Link href={props.href} data-test="index-child-link" aria-label={t('artifact.childOf', { digest: props.r.child_digest })}>
          <code data-raw="">{shortDigest(props.r.child_digest)}</code>
        </Link>
      </td>
      <td data-test="index-child-size">{c.error ? <span class="muted">—</span> : <SizeText bytes={c.data?.size} />}</td>
    </tr>
  );
}

function DeleteArtifact(props: { base: string; back: string; digest: string }) {
  const [error, setError] = useState<unknown>(null);
  return (
    <div class="actions left">
      <button
        type="button"
        class="danger"
        data-test="artifact-delete"
        onClick={async () => {
          if (!confirm(t('artifact.confirmDelete', { digest: shortDigest(props.digest) }))) return;
          setError(null);
          try {
            await call('DELETE', props.base);
            navigate(props.back, true);
          } catch (e) {
            setError(e);
          }
        }}
      >
        {t('artifact.delete')}
      </button>
      <ErrorBox error={error} />
    </div>
  );
}

function PullCommands(props: { repo: string; artifact: Artifact }) {
  const ref = `${location.host}/${props.repo}`;
  const tag = props.artifact.tags?.[0]?.name;
  const byTag = tag ? `${ref}:${tag}` : `${ref}@${props.artifact.digest}`;
  const byDigest = `${ref}@${props.artifact.digest}`;
  // A Helm chart is pulled with helm (docker and podman refuse its config type); helm names the
  // version with --version, or takes the digest in the reference.
  const pull: [string, string][] = isChart(props.artifact)
    ? [['helm', `helm pull oci://${ref}${tag ? ` --version ${tag}` : `@${props.artifact.digest}`}`]]
    : [
        ['docker', `docker pull ${byTag}`],
        ['podman', `podman pull ${byTag}`],
      ];
  const cmds: [string, string][] = [...pull, ['oras', `oras pull ${byTag}`], ['cosign', `cosign download signature ${byDigest}`]];
  return (
    <section class="card" aria-labelledby="pull-title">
      <h2 id="pull-title">{t('artifact.pull')}</h2>
      <table class="cmds" data-test="pull-commands">
        <tbody>
          {cmds.map(([tool, cmd]) => (
            <tr>
              <th scope="row">
                <Raw>{tool}</Raw>
              </th>
              <td>
                <code data-raw="" data-test={`pull-${tool}`}>
                  {cmd}
                </code>
              </td>
              <td>
                <CopyButton text={cmd} label={t('artifact.copyCommand', { tool })} test={`copy-${tool}`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function Tags(props: { base: string }) {
  const p = usePaged<Tag>((page, pageSize) => list(`${props.base}/tags`, { page, pageSize, sort: 'name' }), [props.base], 10);
  const [name, setName] = useState('');
  const { error, act } = useAct(p.reload);
  return (
    <section class="card" aria-labelledby="tags-title">
      <h2 id="tags-title">{t('artifact.tags')}</h2>
      <form
        class="toolbar"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await act(() => call('POST', `${props.base}/tags`, { name: name.trim() }))) setName('');
        }}
      >
        <input value={name} required aria-label={t('tags.new')} placeholder={t('tags.new')} data-test="tag-new" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        <button type="submit" data-test="tag-add">
          {t('tags.add')}
        </button>
      </form>
      <ErrorBox error={p.error ?? error} />
      {p.data ? (
        <ListTable
          test="tag-list"
          cols={['artifact.tag', 'artifact.pushed', 'artifact.pulled', 'artifact.immutable', null]}
          items={p.data.items}
          row={(tg) => (
            <tr data-test="tag-row" data-name={tg.name}>
              <td>
                <Raw>{tg.name}</Raw>
              </td>
              <td>
                <DateText value={tg.push_time} />
              </td>
              <td>
                <DateText value={tg.pull_time && !tg.pull_time.startsWith('0001') ? tg.pull_time : null} />
              </td>
              <td>{tg.immutable ? t('common.yes') : t('common.no')}</td>
              <td class="right">
                <DeleteButton
                  test="tag-delete"
                  label={t('tags.deleteOf', { name: tg.name })}
                  confirm={t('tags.confirmDelete', { name: tg.name })}
                  onConfirmed={() => act(() => call('DELETE', `${props.base}/tags/${encodeURIComponent(tg.name)}`))}
                />
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

const FINAL = new Set(['success', 'error', 'stopped']);

function ScanSummary(props: { artifact: Artifact; base: string; reload: () => void }) {
  const o = Object.values(props.artifact.scan_overview ?? {})[0];
  const { busy, error, run } = useAction();
  const running = busy || (!!o && !FINAL.has((o.scan_status ?? '').toLowerCase()));
  // While a scan runs, ask for the artifact again every second.
  useEffect(() => {
    if (!running) return;
    const timer = window.setTimeout(props.reload, 1000);
    return () => window.clearTimeout(timer);
  }, [running, props.artifact]);
  const scan = async () => {
    await run(() => call('POST', `${props.base}/scan`));
    props.reload();
  };
  return (
    <section class="card" aria-labelledby="scan-title" data-test="scan-summary" data-status={o?.scan_status ?? ''}>
      <div class="page-head">
        <h2 id="scan-title">{t('scan.title')}</h2>
        <button type="button" onClick={scan} disabled={running} data-test="scan-run">
          {running ? t('scan.running') : t('scan.run')}
        </button>
      </div>
      <ErrorBox error={error} />
      {!o ? (
        <p class="muted">{t('scan.none')}</p>
      ) : (
        <>
          <p>
            {t('scan.status')}: <span data-test="scan-status">{statusName(o.scan_status ?? '')}</span> · {t('scan.severity')}: {severityName(o.severity ?? 'unknown')}
            {o.end_time ? (
              <>
                {' '}
                · <DateText value={o.end_time} />
              </>
            ) : null}
          </p>
          <p>
            {t('scan.total', { n: o.summary?.total ?? 0 })} · {t('scan.fixable', { n: o.summary?.fixable ?? 0 })}
          </p>
          <div class="sev-row">
            {SEV_ORDER.filter((s) => (o.summary?.summary?.[s] ?? 0) > 0).map((s) => (
              <span class={`chip sev-${s.toLowerCase()}`}>
                {severityName(s)} {o.summary?.summary?.[s]}
              </span>
            ))}
          </div>
        </>
      )}
    </section>
  );
}

function Vulnerabilities(props: { base: string }) {
  const v = useLoad(() => get<Record<string, { vulnerabilities?: Vulnerability[] | null }>>(`${props.base}/additions/vulnerabilities`), [props.base]);
  const [limit, setLimit] = useState(25);
  const vulns = Object.values(v.data ?? {}).flatMap((r) => r?.vulnerabilities ?? []);
  return (
    <section class="card" aria-labelledby="vul-title">
      <h2 id="vul-title">{t('vul.title')}</h2>
      <ErrorBox error={v.error} />
      <Loading when={v.loading} />
      {!v.loading && !v.error && vulns.length === 0 ? <p class="muted">{t('vul.none')}</p> : null}
      {vulns.length ? (
        <ListTable
          test="vul-list"
          cols={['vul.id', 'vul.severity', 'vul.package', 'vul.version', 'vul.fixed']}
          items={vulns.slice(0, limit)}
          row={(x) => (
            <tr>
              <td>
                <Raw>{x.id}</Raw>
              </td>
              <td>{severityName(x.severity)}</td>
              <td>
                <Raw>{x.package}</Raw>
              </td>
              <td>
                <Raw>{x.version}</Raw>
              </td>
              <td>
                <Raw>{x.fix_version ?? ''}</Raw>
              </td>
            </tr>
          )}
        />
      ) : null}
      {vulns.length > limit ? (
        <button type="button" onClick={() => setLimit(limit + 100)}>
          {t('common.more', { n: vulns.length - limit })}
        </button>
      ) : null}
    </section>
  );
}

function Accessories(props: { base: string }) {
  const p = usePaged<Accessory>((page, pageSize) => list(`${props.base}/accessories`, { page, pageSize }), [props.base], 10);
  return (
    <section class="card" aria-labelledby="acc-title">
      <h2 id="acc-title">{t('accessory.title')}</h2>
      <ErrorBox error={p.error} />
      {p.data && p.data.items.length ? (
        <ListTable
          test="accessory-list"
          cols={['accessory.type', 'artifact.digest', 'artifact.size', 'accessory.verification', 'common.created']}
          items={p.data.items}
          row={(x) => (
            <tr data-test="accessory-row">
              <td>{ACCESSORY_KEY[x.type] ? t(ACCESSORY_KEY[x.type]!) : <Raw>{x.type}</Raw>}</td>
              <td>
                <Raw title={x.digest}>{shortDigest(x.digest)}</Raw> <CopyButton text={x.digest} label={t('artifact.copyDigest')} />
              </td>
              <td>
                <SizeText bytes={x.size} />
              </td>
              <td>{x.verification ? <Raw>{x.verification}</Raw> : <span class="muted">—</span>}</td>
              <td>
                <DateText value={x.creation_time} />
              </td>
            </tr>
          )}
        />
      ) : null}
      {p.data && p.data.items.length === 0 ? <p class="muted">{t('accessory.none')}</p> : null}
      {p.pager}
    </section>
  );
}
