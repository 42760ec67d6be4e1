// Small shared components: links, raw (untranslated) text, errors, dialogs, pager, copy button,
// search box, list tables, the paged-list hook every list uses and the action hooks.
import type { AnchorHTMLAttributes, ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, type Page, type Project } from './api';
import { fmtDate, fmtSize, t, type Key } from './i18n';
import { BASE, onLinkClick } from './router';

/** User data or machine text (names, digests, commands): skipped by the untranslated-text check. */
export function Raw(props: { children: ComponentChildren; class?: string; title?: string }) {
  return (
    <span data-raw="" class={props.class} title={props.title}>
      {props.children}
    </span>
  );
}

export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  return <a {...props} onClick={onLinkClick} />;
}

/** Projects › the project › the repository (each given part, once the project is loaded). */
export function Breadcrumbs(props: { project?: Project | null; repo?: string }) {
  const { project, repo } = props;
  return (
    <nav class="crumbs" aria-label={t('nav.breadcrumbs')}>
      <Link href={`${BASE}/projects`}>{t('nav.projects')}</Link>
      {project ? (
        <>
          {' › '}
          <Link href={`${BASE}/projects/${project.project_id}/repositories`}>
            <Raw>{project.name}</Raw>
          </Link>
          {repo !== undefined ? (
            <>
              {' › '}
              <Link href={`${BASE}/projects/${project.project_id}/repositories/${encodeURIComponent(repo)}`}>
                <Raw>{repo}</Raw>
              </Link>
            </>
          ) : null}
        </>
      ) : null}
    </nav>
  );
}

export function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

export function ErrorBox(props: { error: unknown; test?: string }) {
  if (!props.error) return null;
  const e = props.error;
  const status = e instanceof ApiError && e.status ? e.status : null;
  return (
    <div class="error" role="alert" data-test={props.test ?? 'error'}>
      <strong>{status === 403 ? t('error.forbidden') : status === 404 ? t('error.notFound') : t('error.title')}</strong>{' '}
      <Raw>{messageOf(e)}</Raw>
    </div>
  );
}

export function DateText(props: { value?: string | null | undefined }) {
  if (!props.value) return <span class="muted">—</span>;
  return <time dateTime={props.value}>{fmtDate(props.value)}</time>;
}

export function SizeText(props: { bytes?: number | null | undefined }) {
  if (props.bytes == null) return <span class="muted">—</span>;
  return <Raw>{fmtSize(props.bytes)}</Raw>;
}

let dialogSeq = 0;

export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren; test?: string; wide?: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  const [id] = useState(() => `dlg-${++dialogSeq}`);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const el = ref.current;
    const first = el?.querySelector<HTMLElement>('input, select, textarea, button:not(.dialog-close)');
    (first ?? el)?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        props.onClose();
      } else if (e.key === 'Tab' && el) {
        const f = Array.from(el.querySelectorAll<HTMLElement>('a[href], button, input, select, textarea, [tabindex]')).filter((x) => !x.hasAttribute('disabled'));
        if (!f.length) return;
        const a = f[0]!;
        const z = f[f.length - 1]!;
        if (e.shiftKey && document.activeElement === a) {
          e.preventDefault();
          z.focus();
        } else if (!e.shiftKey && document.activeElement === z) {
          e.preventDefault();
          a.focus();
        }
      }
    };
    document.addEventListener('keydown', onKey, true);
    return () => {
      document.removeEventListener('keydown', onKey, true);
      before?.focus?.();
    };
  }, []);
  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class={props.wide ? 'dialog wide' : 'dialog'} role="dialog" aria-modal="true" aria-labelledby={id} ref={ref} tabIndex={-1} data-test={props.test}>
        <div class="dialog-head">
          <h2 id={id}>{props.title}</h2>
          <button type="button" class="dialog-close icon" aria-label={t('common.close')} onClick={props.onClose}>
            ×
          </button>
        </div>
        {props.children}
      </div>
    </div>
  );
}

export function Field(props: { label: string; children: ComponentChildren; hint?: string }) {
  return (
    <label class="field">
      <span class="field-label">{props.label}</span>
      {props.children}
      {props.hint ? <span class="hint">{props.hint}</span> : null}
    </label>
  );
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.setAttribute('readonly', '');
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

export function CopyButton(props: { text: string; label: string; test?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      class="small"
      data-test={props.test ?? 'copy'}
      aria-label={props.label}
      title={props.label}
      onClick={async () => {
        setDone(await copyText(props.text));
        setTimeout(() => setDone(false), 1500);
      }}
    >
      {done ? t('common.copied') : t('common.copy')}
    </button>
  );
}

export function Pager(props: { page: number; pageSize: number; total: number; onPage: (p: number) => void; onPageSize: (n: number) => void }) {
  const pages = Math.max(1, Math.ceil(props.total / props.pageSize));
  const from = props.total === 0 ? 0 : (props.page - 1) * props.pageSize + 1;
  const to = Math.min(props.total, props.page * props.pageSize);
  return (
    <nav class="pager" aria-label={t('pager.label')} data-test="pager">
      <span data-test="pager-range">{t('pager.range', { from, to, total: props.total })}</span>
      <label>
        <span>{t('pager.pageSize')}</span>{' '}
        <select value={String(props.pageSize)} onChange={(e) => props.onPageSize(Number((e.target as HTMLSelectElement).value))}>
          {[10, 15, 25, 50, 100].map((n) => (
            <option value={String(n)}>{n}</option>
          ))}
        </select>
      </label>
      <button type="button" class="small" disabled={props.page <= 1} onClick={() => props.onPage(props.page - 1)} data-test="pager-prev">
        {t('pager.prev')}
      </button>
      <span>{t('pager.page', { page: props.page, pages })}</span>
      <button type="button" class="small" disabled={props.page >= pages} onClick={() => props.onPage(props.page + 1)} data-test="pager-next">
        {t('pager.next')}
      </button>
    </nav>
  );
}

export function SearchBox(props: { value: string; onSearch: (v: string) => void; label: string; test?: string }) {
  const [v, setV] = useState(props.value);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => setV(props.value), [props.value]);
  return (
    <input
      type="search"
      class="search"
      value={v}
      aria-label={props.label}
      placeholder={props.label}
      data-test={props.test ?? 'search'}
      onInput={(e) => {
        const nv = (e.target as HTMLInputElement).value;
        setV(nv);
        window.clearTimeout(timer.current);
        timer.current = window.setTimeout(() => props.onSearch(nv.trim()), 300);
      }}
      onKeyDown={(e) => {
        if (e.key === 'Enter') {
          window.clearTimeout(timer.current);
          props.onSearch(v.trim());
        }
      }}
    />
  );
}

export interface Paged<T> {
  page: number;
  pageSize: number;
  q: string;
  data: Page<T> | null;
  error: unknown;
  loading: boolean;
  setPage: (p: number) => void;
  setPageSize: (n: number) => void;
  setQ: (q: string) => void;
  reload: () => void;
  pager: JSX.Element | null;
}

/** A server-paged list: fetch(page, pageSize, q) is called whenever one of them or deps change. */
export function usePaged<T>(fetch: (page: number, pageSize: number, q: string) => Promise<Page<T>>, deps: unknown[], initialPageSize = 15): Paged<T> {
  const [page, setPage] = useState(1);
  const [pageSize, setPageSizeRaw] = useState(initialPageSize);
  const [q, setQRaw] = useState('');
  const [data, setData] = useState<Page<T> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    fetch(page, pageSize, q).then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e) => {
        if (!live) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [page, pageSize, q, tick, ...deps]);
  const setQ = useCallback((nq: string) => {
    setQRaw(nq);
    setPage(1);
  }, []);
  const setPageSize = useCallback((n: number) => {
    setPageSizeRaw(n);
    setPage(1);
  }, []);
  const reload = useCallback(() => setTick((x) => x + 1), []);
  const pager = data ? <Pager page={page} pageSize={pageSize} total={data.total} onPage={setPage} onPageSize={setPageSize} /> : null;
  return { page, pageSize, q, data, error, loading, setPage, setPageSize, setQ, reload, pager };
}

/** Loads one thing; reload() fetches it again. */
export function useLoad<T>(fetch: () => Promise<T>, deps: unknown[]): { data: T | null; error: unknown; loading: boolean; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    fetch().then(
      (d) => {
        if (live) {
          setData(d);
          setError(null);
          setLoading(false);
        }
      },
      (e) => {
        if (live) {
          setError(e);
          setLoading(false);
        }
      },
    );
    return () => {
      live = false;
    };
  }, [tick, ...deps]);
  return { data, error, loading, reload: useCallback(() => setTick((x) => x + 1), []) };
}

/** The server's authentication mode (`auth_mode` of `/systeminfo`; '' until it is known). */
export function useAuthMode(): string {
  const info = useLoad(() => get<{ auth_mode?: string }>('/systeminfo'), []);
  return info.data?.auth_mode ?? '';
}

/** While active, calls reload every ms (after each change of deps): lists of running jobs. */
export function usePoll(active: boolean, reload: () => void, deps: unknown[], ms = 1500): void {
  useEffect(() => {
    if (!active) return;
    const h = window.setTimeout(reload, ms);
    return () => window.clearTimeout(h);
  }, [active, ...deps]);
}

export function Loading(props: { when: boolean }) {
  return props.when ? (
    <p class="muted" role="status">
      {t('common.loading')}
    </p>
  ) : null;
}

export function Empty(props: { when: boolean }) {
  return props.when ? <p class="muted empty">{t('common.empty')}</p> : null;
}

export function shortDigest(d: string): string {
  const i = d.indexOf(':');
  return i >= 0 ? d.slice(0, i + 1 + 12) : d.slice(0, 12);
}

/** Runs an action such as a dialog's submit: busy while it runs, its error kept for an ErrorBox. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (f: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await f();
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  };
  /** A form's onSubmit: no page load, then run(f). */
  const onSubmit = (f: () => Promise<unknown>) => (e: Event) => {
    e.preventDefault();
    void run(f);
  };
  return { busy, error, setError, run, onSubmit };
}

/** Row actions of a list: act(f) runs f, then shows ok (as a note) and reload()s, or keeps its error. */
export function useAct(reload: () => void) {
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState<string | null>(null);
  const act = async (f: () => Promise<unknown>, ok?: string): Promise<boolean> => {
    setError(null);
    setNote(null);
    try {
      await f();
      if (ok) setNote(ok);
      reload();
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  };
  return { error, setError, note, act };
}

export function Note(props: { text: string | null; test?: string }) {
  return props.text ? (
    <p class="ok" role="status" data-test={props.test ?? 'note'}>
      {props.text}
    </p>
  ) : null;
}

/** A small danger button that asks before it runs onConfirmed. */
export function DeleteButton(props: { test: string; label: string; confirm: string; onConfirmed: () => unknown; text?: string; disabled?: boolean }) {
  return (
    <button
      type="button"
      class="small danger"
      data-test={props.test}
      disabled={props.disabled}
      aria-label={props.label}
      onClick={() => {
        if (confirm(props.confirm)) void props.onConfirmed();
      }}
    >
      {props.text ?? t('common.delete')}
    </button>
  );
}

/** The toolbar above a list: its search box and a "new" button. */
export function ListToolbar(props: { q: string; onSearch: (q: string) => void; label: string; test: string; newLabel?: string; newTest?: string; onNew?: () => void; children?: ComponentChildren }) {
  return (
    <div class="toolbar">
      <SearchBox value={props.q} onSearch={props.onSearch} label={props.label} test={props.test} />
      {props.children}
      {props.onNew ? (
        <button type="button" class="primary" data-test={props.newTest} onClick={props.onNew}>
          {props.newLabel}
        </button>
      ) : null}
    </div>
  );
}

/** Column headers: a key is translated; null is the (unlabelled) actions column. */
export type Columns = (Key | null)[];

export function ListTable<T>(props: { test?: string; cols: Columns; items: T[]; row: (item: T, i: number) => JSX.Element }) {
  return (
    <table class="list" data-test={props.test}>
      <thead>
        <tr>
          {props.cols.map((c) =>
            c ? (
              <th scope="col">{t(c)}</th>
            ) : (
              <th scope="col">
                <span class="sr-only">{t('common.actions')}</span>
              </th>
            ),
          )}
        </tr>
      </thead>
      <tbody>{props.items.map(props.row)}</tbody>
    </table>
  );
}

/** A server-paged list: errors, loading, the table (or "empty"; both with always) and the pager. */
export function PagedTable<T>(props: { p: Paged<T>; error?: unknown; test?: string; cols: Columns; row: (item: T, i: number) => JSX.Element; empty?: JSX.Element; always?: boolean }) {
  const { p } = props;
  return (
    <>
      <ErrorBox error={p.error ?? props.error} />
      <Loading when={p.loading && !p.data} />
      {p.data && (props.always || p.data.items.length) ? <ListTable test={props.test} cols={props.cols} items={p.data.items} row={props.row} /> : null}
      {p.data && !p.data.items.length ? (props.empty ?? <Empty when />) : null}
      {p.pager}
    </>
  );
}

/** A dialog form's foot: its error (and a note), more buttons (children), Cancel, and the submit button (disabled while busy). */
export function DialogActions(props: { error: unknown; busy: boolean; onCancel: () => void; label: string; test?: string; errorTest?: string; note?: string | null; noteTest?: string; children?: ComponentChildren }) {
  return (
    <>
      <ErrorBox error={props.error} test={props.errorTest} />
      <Note text={props.note ?? null} test={props.noteTest} />
      <div class="actions">
        {props.children}
        <button type="button" onClick={props.onCancel}>
          {t('common.cancel')}
        </button>
        <button type="submit" class="primary" disabled={props.busy} data-test={props.test}>
          {props.label}
        </button>
      </div>
    </>
  );
}
