// An artifact's additions: build history for images; README, values and dependencies for Helm
// charts. The server may not have an addition (404): that reads as "none", never as an error.
import { ApiError, get, getText, type Artifact } from '../api';
import { t, type Key } from '../i18n';
import { DateText, ErrorBox, ListTable, Loading, Raw, useLoad } from '../ui';

const HELM_CONFIG = 'application/vnd.cncf.helm.config.v1+json';

export function isChart(a: Artifact): boolean {
  return (a.type ?? '').toUpperCase() === 'CHART' || a.media_type === HELM_CONFIG;
}

/** Loads an addition; a 404 (or 422: not applicable) gives `null` instead of an error. */
function useAddition<T>(fetch: () => Promise<T>, deps: unknown[]) {
  return useLoad<T | null>(async () => {
    try {
      return await fetch();
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 422)) return null;
      throw e;
    }
  }, deps);
}

interface HistoryEntry {
  created?: string;
  created_by?: string;
  empty_layer?: boolean;
  comment?: string;
}

export function BuildHistory(props: { base: string }) {
  const h = useAddition(() => get<HistoryEntry[]>(`${props.base}/additions/build_history`), [props.base]);
  return (
    <section class="card" aria-labelledby="hist-title" data-test="build-history">
      <h2 id="hist-title">{t('history.title')}</h2>
      <ErrorBox error={h.error} />
      <Loading when={h.loading} />
      {!h.loading && !h.error && !h.data?.length ? (
        <p class="muted" data-test="history-none">
          {t('history.unavailable')}
        </p>
      ) : null}
      {h.data && h.data.length ? (
        <ListTable
          test="history-list"
          cols={['history.created', 'history.command', 'history.layer', 'history.comment']}
          items={h.data}
          row={(e) => (
            <tr data-test="history-row">
              <td class="nowrap">
                <DateText value={e.created} />
              </td>
              <td>
                <code data-raw="" class="wrap">
                  {e.created_by ?? ''}
                </code>
              </td>
              <td>{e.empty_layer ? t('history.emptyLayer') : t('history.newLayer')}</td>
              <td>{e.comment ? <Raw>{e.comment}</Raw> : <span class="muted">—</span>}</td>
            </tr>
          )}
        />
      ) : null}
    </section>
  );
}

function TextAddition(props: { base: string; name: string; title: Key; none: Key; test: string }) {
  const x = useAddition(() => getText(`${props.base}/additions/${props.name}`), [props.base, props.name]);
  return (
    <section class="card" aria-labelledby={`${props.test}-title`} data-test={props.test}>
      <h2 id={`${props.test}-title`}>{t(props.title)}</h2>
      <ErrorBox error={x.error} />
      <Loading when={x.loading} />
      {!x.loading && !x.error && !x.data ? <p class="muted">{t(props.none)}</p> : null}
      {/* Text only: a README is never rendered as HTML. */}
      {x.data ? (
        <pre class="text-addition" data-raw="" data-test={`${props.test}-text`}>
          {x.data}
        </pre>
      ) : null}
    </section>
  );
}

interface Dependency {
  name: string;
  version?: string;
  repository?: string;
}

function Dependencies(props: { base: string }) {
  const d = useAddition(() => get<Dependency[]>(`${props.base}/additions/dependencies`), [props.base]);
  return (
    <section class="card" aria-labelledby="deps-title" data-test="chart-dependencies">
      <h2 id="deps-title">{t('chart.dependencies')}</h2>
      <ErrorBox error={d.error} />
      <Loading when={d.loading} />
      {!d.loading && !d.error && !d.data?.length ? <p class="muted">{t('chart.noDependencies')}</p> : null}
      {d.data && d.data.length ? (
        <ListTable
          cols={['chart.depName', 'chart.depVersion', 'chart.depRepository']}
          items={d.data}
          row={(x) => (
            <tr data-test="dependency-row">
              <td>
                <Raw>{x.name}</Raw>
              </td>
              <td>
                <Raw>{x.version ?? ''}</Raw>
              </td>
              <td>
                <Raw>{x.repository ?? ''}</Raw>
              </td>
            </tr>
          )}
        />
      ) : null}
    </section>
  );
}

export function ChartAdditions(props: { base: string }) {
  return (
    <>
      <TextAddition base={props.base} name="readme.md" title="chart.readme" none="chart.noReadme" test="chart-readme" />
      <TextAddition base={props.base} name="values.yaml" title="chart.values" none="chart.noValues" test="chart-values" />
      <Dependencies base={props.base} />
    </>
  );
}
