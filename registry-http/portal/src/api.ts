// The one way the portal talks to the server: same-origin fetch with the session cookie, the
// CSRF token of the last response echoed on every state-changing request, Harbor's error envelope
// turned into ApiError, and X-Total-Count read for paged lists.

export const API = '/api/v2.0';
const CSRF_HEADER = 'X-Harbor-CSRF-Token';

let csrfToken: string | null = null;

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    /** The parsed JSON body, when it had one (some answers carry details, not an error envelope). */
    public body?: unknown,
  ) {
    super(message);
  }
}

/** Called when the server says we are not signed in (401) on an authenticated call. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

export interface Page<T> {
  items: T[];
  total: number;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function remember(res: Response): void {
  const tok = res.headers.get(CSRF_HEADER);
  if (tok) csrfToken = tok;
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = String(res.status);
  let message = res.statusText || `HTTP ${res.status}`;
  let parsed: unknown;
  try {
    const text = await res.text();
    try {
      parsed = JSON.parse(text);
      const body = parsed as { errors?: { code?: string; message?: string }[] };
      const e = body?.errors?.[0];
      if (e) {
        code = e.code ?? code;
        message = e.message ?? message;
      }
    } catch {
      if (text.trim()) message = text.trim().slice(0, 300);
    }
  } catch {
    /* no body */
  }
  return new ApiError(res.status, code, message, parsed);
}

export async function raw(method: Method, url: string, body?: BodyInit, contentType?: string, quiet401 = false): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (contentType) headers['Content-Type'] = contentType;
  if (method !== 'GET' && csrfToken) headers[CSRF_HEADER] = csrfToken;
  let res: Response;
  try {
    res = await fetch(url, { method, headers, body: body ?? null, credentials: 'same-origin' });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', e instanceof Error ? e.message : String(e));
  }
  remember(res);
  if (!res.ok) {
    const err = await errorOf(res);
    if (res.status === 401 && !quiet401) onUnauthorized();
    throw err;
  }
  return res;
}

export async function call<T>(method: Method, path: string, json?: unknown): Promise<T> {
  const res = await raw(method, API + path, json === undefined ? undefined : JSON.stringify(json), json === undefined ? undefined : 'application/json');
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T>(path: string) => call<T>('GET', path);

/** Response headers of a POST that creates something (Location names the new resource). */
export async function create(path: string, json: unknown): Promise<string | null> {
  const res = await raw('POST', API + path, JSON.stringify(json), 'application/json');
  return res.headers.get('Location');
}

export async function getText(path: string): Promise<string> {
  const res = await raw('GET', API + path);
  return res.text();
}

export interface ListQuery {
  page: number;
  pageSize: number;
  q?: string | undefined;
  sort?: string | undefined;
  extra?: Record<string, string> | undefined;
}

export async function list<T>(path: string, lq: ListQuery): Promise<Page<T>> {
  const p = new URLSearchParams({ page: String(lq.page), page_size: String(lq.pageSize) });
  if (lq.q) p.set('q', lq.q);
  if (lq.sort) p.set('sort', lq.sort);
  for (const [k, v] of Object.entries(lq.extra ?? {})) p.set(k, v);
  const res = await raw('GET', `${API}${path}${path.includes('?') ? '&' : '?'}${p}`);
  const items = ((await res.json()) ?? []) as T[];
  const total = Number(res.headers.get('X-Total-Count') ?? items.length);
  return { items, total: Number.isFinite(total) ? total : items.length };
}

/** Escapes a value for Harbor's q= syntax (`k=~v`): commas and braces have meaning there. */
export function qValue(v: string): string {
  return v.replace(/[,{}()[\]~=]/g, '');
}

/** A repository name in an API path: Harbor wants the name without its project, with each / as %252F. */
export function repoPath(project: string, fullName: string): string {
  const rest = fullName.startsWith(project + '/') ? fullName.slice(project.length + 1) : fullName;
  return `/projects/${encodeURIComponent(project)}/repositories/${encodeURIComponent(encodeURIComponent(rest))}`;
}

export async function signIn(principal: string, password: string): Promise<void> {
  const body = new URLSearchParams({ principal, password }).toString();
  await raw('POST', '/c/login', body, 'application/x-www-form-urlencoded', true);
}

export async function signOut(): Promise<void> {
  try {
    await raw('GET', '/c/log_out', undefined, undefined, true);
  } finally {
    csrfToken = null;
  }
}

// ---- LDAP (system administrators; 412 when the server does not use LDAP) ---------------------------

export interface LdapUser {
  username: string;
  realname?: string;
  email?: string;
}

/** A directory group (id 0: not a Berth group yet). */
export interface LdapGroup {
  group_name: string;
  ldap_group_dn: string;
}

export const searchLdapUsers = (username: string) => get<LdapUser[]>(`/ldap/users/search?username=${encodeURIComponent(username)}`);

export const searchLdapGroups = (by: 'groupname' | 'groupdn', v: string) => get<LdapGroup[]>(`/ldap/groups/search?${by}=${encodeURIComponent(v)}`);

/** Imports directory users; returns the ones that were not imported (404 lists them, the others were). */
export async function importLdapUsers(uids: string[]): Promise<{ uid: string; error: string }[]> {
  try {
    await call('POST', '/ldap/users/import', { ldap_uid_list: uids });
    return [];
  } catch (e) {
    if (e instanceof ApiError && e.status === 404 && Array.isArray(e.body)) return e.body as { uid: string; error: string }[];
    throw e;
  }
}

// ---- the API's types (the fields the portal reads) ----------------------------------------------

export interface User {
  user_id: number;
  username: string;
  email?: string;
  realname?: string;
  comment?: string;
  sysadmin_flag?: boolean;
  admin_role_in_auth?: boolean;
  creation_time?: string;
  source?: string;
}

export interface Project {
  project_id: number;
  name: string;
  owner_name?: string;
  repo_count?: number;
  creation_time?: string;
  current_user_role_id?: number;
  metadata?: Record<string, string>;
  cve_allowlist?: { items?: { cve_id: string }[]; expires_at?: number | null };
}

export interface Quota {
  id: number;
  ref?: { id?: number; name?: string };
  hard?: { storage?: number };
  used?: { storage?: number };
}

export interface Repository {
  id: number;
  name: string;
  artifact_count?: number;
  pull_count?: number;
  update_time?: string;
  creation_time?: string;
}

export interface Tag {
  id?: number;
  name: string;
  push_time?: string;
  pull_time?: string | null;
  immutable?: boolean;
}

export interface Label {
  id: number;
  name: string;
  color?: string;
}

export interface Accessory {
  digest: string;
  type: string;
  size?: number;
  creation_time?: string;
  verification?: string | null;
}

export interface ScanSummary {
  total?: number;
  fixable?: number;
  summary?: Record<string, number>;
}

export interface ScanOverview {
  scan_status?: string;
  severity?: string;
  summary?: ScanSummary;
  complete_percent?: number;
  start_time?: string;
  end_time?: string;
}

export interface Artifact {
  id: number;
  digest: string;
  type?: string;
  media_type?: string;
  manifest_media_type?: string;
  size?: number;
  push_time?: string;
  pull_time?: string | null;
  tags?: Tag[] | null;
  labels?: Label[] | null;
  accessories?: Accessory[] | null;
  references?: { child_digest: string; platform?: { os?: string; architecture?: string; variant?: string } | null }[] | null;
  scan_overview?: Record<string, ScanOverview> | null;
  extra_attrs?: Record<string, unknown> | null;
  annotations?: Record<string, string> | null;
}

export interface Member {
  id: number;
  entity_id: number;
  entity_name: string;
  entity_type: string;
  role_id: number;
  role_name?: string;
}

export interface RobotPermission {
  kind: string;
  namespace: string;
  access: { resource: string; action: string; effect?: string }[];
}

export interface Robot {
  id: number;
  name: string;
  description?: string;
  disable?: boolean;
  duration?: number;
  expires_at?: number;
  creation_time?: string;
  permissions?: RobotPermission[];
}

export interface RobotCreated {
  id: number;
  name: string;
  secret: string;
}

export interface AuditLog {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  op_time: string;
}

export interface GcRun {
  id: number;
  job_kind?: string;
  job_status: string;
  job_parameters?: string;
  creation_time?: string;
  update_time?: string;
}

export interface Vulnerability {
  id: string;
  package: string;
  version: string;
  fix_version?: string;
  severity: string;
  description?: string;
  links?: string[];
}

export interface SearchResult {
  project?: Project[] | null;
  repository?: { project_id: number; project_name: string; project_public?: boolean; repository_name: string; artifact_count?: number; pull_count?: number }[] | null;
}
