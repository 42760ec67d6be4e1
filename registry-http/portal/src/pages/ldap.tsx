// The LDAP directory (servers in ldap_auth mode; the API is for system administrators): importing
// users from it (Administration → Users), picking a group from it (the new-group dialog), and
// importing a user found there before adding it as a project member.
import { useState } from 'preact/hooks';
import { get, importLdapUsers, searchLdapGroups, searchLdapUsers, type LdapGroup, type LdapUser, type User } from '../api';
import { t } from '../i18n';
import { Dialog, DialogActions, Empty, ErrorBox, Field, ListTable, Raw, useAction } from '../ui';

/** A search box with its button; Enter searches (it never submits a surrounding form). */
function DirectorySearch(props: { label: string; test: string; busy: boolean; onSearch: (q: string) => void }) {
  const [q, setQ] = useState('');
  return (
    <div class="toolbar end">
      <Field label={props.label}>
        <input
          type="search"
          value={q}
          data-test={`${props.test}-query`}
          onInput={(e) => setQ((e.target as HTMLInputElement).value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              props.onSearch(q.trim());
            }
          }}
        />
      </Field>
      <button type="button" disabled={props.busy} data-test={`${props.test}-search`} onClick={() => props.onSearch(q.trim())}>
        {t('ldap.search')}
      </button>
    </div>
  );
}

/** Administration → Users → "Import from LDAP": search the directory, tick users, import them. */
export function LdapImport(props: { onClose: () => void; onImported: (all: boolean) => void }) {
  const [found, setFound] = useState<LdapUser[] | null>(null);
  const [picked, setPicked] = useState<string[]>([]);
  const [failed, setFailed] = useState<{ uid: string; error: string }[]>([]);
  const search = useAction();
  const imp = useAction();
  const toggle = (uid: string, on: boolean) => setPicked(on ? [...picked.filter((x) => x !== uid), uid] : picked.filter((x) => x !== uid));
  return (
    <Dialog title={t('ldap.importTitle')} onClose={props.onClose} test="ldap-import-dialog" wide>
      <DirectorySearch
        label={t('ldap.searchUsers')}
        test="ldap-user"
        busy={search.busy}
        onSearch={(q) =>
          void search.run(async () => {
            setFound(await searchLdapUsers(q));
            setPicked([]);
          })
        }
      />
      <ErrorBox error={search.error} test="ldap-user-search-error" />
      {found ? (
        found.length ? (
          <ListTable
            test="ldap-user-list"
            cols={['ldap.pick', 'users.username', 'users.realname', 'users.email']}
            items={found}
            row={(u) => (
              <tr data-test="ldap-user-row" data-name={u.username}>
                <td>
                  <input type="checkbox" checked={picked.includes(u.username)} aria-label={t('ldap.pickOf', { name: u.username })} data-test="ldap-user-pick" onChange={(e) => toggle(u.username, (e.target as HTMLInputElement).checked)} />
                </td>
                <td>
                  <Raw>{u.username}</Raw>
                </td>
                <td>
                  <Raw>{u.realname ?? ''}</Raw>
                </td>
                <td>
                  <Raw>{u.email ?? ''}</Raw>
                </td>
              </tr>
            )}
          />
        ) : (
          <Empty when />
        )
      ) : null}
      {failed.length ? (
        <div class="error" role="alert" data-test="ldap-import-failed">
          <strong>{t('ldap.importFailed')}</strong>
          <ul>
            {failed.map((f) => (
              <li data-test="ldap-import-failure" data-uid={f.uid}>
                <Raw>
                  {f.uid}: {f.error}
                </Raw>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      <form
        onSubmit={imp.onSubmit(async () => {
          setFailed([]);
          const bad = await importLdapUsers(picked);
          setFailed(bad);
          props.onImported(!bad.length);
        })}
      >
        <DialogActions error={imp.error} busy={imp.busy || !picked.length} onCancel={props.onClose} test="ldap-import-submit" label={t('ldap.import', { n: picked.length })} />
      </form>
    </Dialog>
  );
}

/** The new-group dialog under LDAP: directory groups found by name; picking one gives its name and DN. */
export function LdapGroupSearch(props: { onPick: (g: LdapGroup) => void }) {
  const [found, setFound] = useState<LdapGroup[] | null>(null);
  const { busy, error, run } = useAction();
  return (
    <div role="group" aria-label={t('ldap.searchGroups')} data-test="ldap-group-finder">
      <DirectorySearch label={t('ldap.searchGroups')} test="ldap-group" busy={busy} onSearch={(q) => void run(async () => setFound(await searchLdapGroups('groupname', q)))} />
      <ErrorBox error={error} test="ldap-group-search-error" />
      {found ? (
        found.length ? (
          <ul class="plain" data-test="ldap-group-list">
            {found.map((g) => (
              <li>
                <button type="button" class="small" data-test="ldap-group-pick" data-name={g.group_name} onClick={() => props.onPick(g)}>
                  {t('ldap.use')}
                </button>{' '}
                <Raw>
                  <strong>{g.group_name}</strong> <code>{g.ldap_group_dn}</code>
                </Raw>
              </li>
            ))}
          </ul>
        ) : (
          <Empty when />
        )
      ) : null}
    </div>
  );
}

/** Throws "not found in the directory" unless a group has this DN. */
export async function checkLdapGroupDn(dn: string): Promise<void> {
  if (!(await searchLdapGroups('groupdn', dn)).length) throw new Error(t('ldap.dnNotFound', { dn }));
}

/** Usernames of directory users matching v (none when the directory cannot be asked). */
export async function directoryNames(v: string): Promise<string[]> {
  return (await searchLdapUsers(v).catch(() => [])).map((u) => u.username);
}

/** A user not in Berth yet but in the directory is imported (before being added to a project). */
export async function importIfInDirectory(name: string): Promise<void> {
  const known = await get<User[]>(`/users/search?username=${encodeURIComponent(name)}`);
  if (known.some((u) => u.username === name)) return;
  if (!(await directoryNames(name)).includes(name)) return;
  const bad = await importLdapUsers([name]);
  if (bad.length) throw new Error(`${name}: ${bad[0]!.error}`);
}
