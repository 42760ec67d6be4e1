// Administration → Groups: user groups (LDAP, HTTP, OIDC) that can be project members.
import { useState } from 'preact/hooks';
import { call, list, qValue } from '../api';
import { t } from '../i18n';
import { DeleteButton, Dialog, DialogActions, Field, ListToolbar, PagedTable, Raw, useAct, useAction, useAuthMode, usePaged } from '../ui';
import { checkLdapGroupDn, LdapGroupSearch } from './ldap';

export interface UserGroup {
  id: number;
  group_name: string;
  group_type: number;
  ldap_group_dn?: string;
}

/** Harbor's group types; protocol names, shown as they are in every language. */
export const GROUP_TYPES: [number, string][] = [
  [1, 'LDAP'],
  [2, 'HTTP'],
  [3, 'OIDC'],
];
const typeName = (n: number) => GROUP_TYPES.find(([k]) => k === n)?.[1] ?? String(n);
/** The group type that goes with an authentication mode (LDAP groups under ldap_auth, …). */
const MODE_TYPE: Record<string, number> = { ldap_auth: 1, http_auth: 2, oidc_auth: 3 };

export function listGroups(page: number, pageSize: number, name: string) {
  return list<UserGroup>('/usergroups', { page, pageSize, q: name ? `group_name=~${qValue(name)}` : undefined });
}

export function Groups() {
  const p = usePaged<UserGroup>((page, pageSize, q) => listGroups(page, pageSize, q), []);
  const { error, act } = useAct(p.reload);
  const [creating, setCreating] = useState(false);
  const [renaming, setRenaming] = useState<UserGroup | null>(null);
  return (
    <div>
      <ListToolbar q={p.q} onSearch={p.setQ} label={t('groups.search')} test="group-search" newLabel={t('groups.new')} newTest="group-new" onNew={() => setCreating(true)} />
      <PagedTable
        p={p}
        error={error}
        test="group-list"
        cols={['groups.name', 'groups.type', 'groups.dn', null]}
        row={(g) => (
          <tr key={g.id} data-test="group-row" data-name={g.group_name}>
            <td>
              <Raw>{g.group_name}</Raw>
            </td>
            <td>
              <Raw>{typeName(g.group_type)}</Raw>
            </td>
            <td>{g.ldap_group_dn ? <code data-raw="">{g.ldap_group_dn}</code> : <span class="muted">—</span>}</td>
            <td class="right nowrap">
              <button type="button" class="small" data-test="group-rename" aria-label={t('groups.renameOf', { name: g.group_name })} onClick={() => setRenaming(g)}>
                {t('groups.rename')}
              </button>{' '}
              <DeleteButton
                test="group-delete"
                label={t('groups.deleteOf', { name: g.group_name })}
                confirm={t('groups.confirmDelete', { name: g.group_name })}
                onConfirmed={() => act(() => call('DELETE', `/usergroups/${g.id}`))}
              />
            </td>
          </tr>
        )}
      />
      {creating ? <GroupDialog onClose={() => setCreating(false)} onDone={() => (setCreating(false), p.reload())} /> : null}
      {renaming ? <GroupDialog group={renaming} onClose={() => setRenaming(null)} onDone={() => (setRenaming(null), p.reload())} /> : null}
    </div>
  );
}

function GroupDialog(props: { group?: UserGroup; onClose: () => void; onDone: () => void }) {
  const g = props.group;
  const [name, setName] = useState(g?.group_name ?? '');
  // The default type follows the server's authentication mode (/systeminfo): LDAP asks for the DN,
  // and then the directory can be searched; a DN typed by hand is looked up there before saving.
  const mode = useAuthMode();
  const [chosen, setType] = useState<number | null>(g?.group_type ?? null);
  const type = chosen ?? MODE_TYPE[mode] ?? 3;
  const [dn, setDn] = useState(g?.ldap_group_dn ?? '');
  const [pickedDn, setPickedDn] = useState<string | null>(null);
  const directory = !g && type === 1 && mode === 'ldap_auth';
  const { busy, error, onSubmit } = useAction();
  return (
    <Dialog title={g ? t('groups.renameOf', { name: g.group_name }) : t('groups.new')} onClose={props.onClose} test="group-dialog">
      <form
        onSubmit={onSubmit(async () => {
          if (g) await call('PUT', `/usergroups/${g.id}`, { group_name: name.trim() });
          else {
            if (directory && dn.trim() !== pickedDn) await checkLdapGroupDn(dn.trim());
            await call('POST', '/usergroups', { group_name: name.trim(), group_type: type, ...(type === 1 ? { ldap_group_dn: dn.trim() } : {}) });
          }
          props.onDone();
        })}
      >
        <Field label={g ? t('groups.newName') : t('groups.name')}>
          <input required value={name} data-test="group-name" onInput={(e) => setName((e.target as HTMLInputElement).value)} />
        </Field>
        {g ? null : (
          <>
            {MODE_TYPE[mode] ? (
              <p class="muted" data-test="group-mode-hint">
                {t('groups.modeHint', { mode: typeName(MODE_TYPE[mode]!) })}
              </p>
            ) : null}
            <Field label={t('groups.type')}>
              <select value={String(type)} data-test="group-type" onChange={(e) => setType(Number((e.target as HTMLSelectElement).value))}>
                {GROUP_TYPES.map(([k, v]) => (
                  <option value={String(k)} data-raw="">
                    {v}
                  </option>
                ))}
              </select>
            </Field>
            {directory ? (
              <LdapGroupSearch
                onPick={(x) => {
                  setName(x.group_name);
                  setDn(x.ldap_group_dn);
                  setPickedDn(x.ldap_group_dn);
                }}
              />
            ) : null}
            {type === 1 ? (
              <Field label={t('groups.dn')} hint={t('groups.dnHint')}>
                <input required value={dn} data-test="group-dn" onInput={(e) => setDn((e.target as HTMLInputElement).value)} />
              </Field>
            ) : null}
          </>
        )}
        <DialogActions error={error} busy={busy} onCancel={props.onClose} test="group-save" label={g ? t('common.save') : t('common.create')} />
      </form>
    </Dialog>
  );
}
