// The signed-in user: profile (email, real name, comment) and password change.
import { useState } from 'preact/hooks';
import { call, type User } from '../api';
import { t } from '../i18n';
import { CopyButton, DateText, ErrorBox, Field, Note, Raw, useAction } from '../ui';

export function ProfilePage(props: { user: User; onChanged: () => void }) {
  const u = props.user;
  const [f, setF] = useState({ email: u.email ?? '', realname: u.realname ?? '', comment: u.comment ?? '' });
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [pw, setPw] = useState({ old_password: '', new_password: '', confirm: '' });
  const [pwError, setPwError] = useState<unknown>(null);
  const [pwSaved, setPwSaved] = useState(false);
  const local = !u.source || u.source === 'local' || u.source === 'db';
  return (
    <section>
      <h1>{t('profile.title')}</h1>
      <div class="cols">
        <form
          class="card"
          data-test="profile-form"
          onSubmit={async (e) => {
            e.preventDefault();
            setError(null);
            setSaved(false);
            try {
              await call('PUT', `/users/${u.user_id}`, f);
              setSaved(true);
              props.onChanged();
            } catch (err) {
              setError(err);
            }
          }}
        >
          <h2>{t('profile.details')}</h2>
          <p>
            {t('users.username')}: <Raw>{u.username}</Raw>
            {u.sysadmin_flag ? <span class="badge public">{t('users.admin')}</span> : null}
          </p>
          <p class="muted">
            {t('common.created')}: <DateText value={u.creation_time} />
          </p>
          <Field label={t('users.email')}>
            <input type="email" value={f.email} onInput={(e) => setF({ ...f, email: (e.target as HTMLInputElement).value })} />
          </Field>
          <Field label={t('users.realname')}>
            <input value={f.realname} onInput={(e) => setF({ ...f, realname: (e.target as HTMLInputElement).value })} />
          </Field>
          <Field label={t('users.comment')}>
            <input value={f.comment} onInput={(e) => setF({ ...f, comment: (e.target as HTMLInputElement).value })} />
          </Field>
          <ErrorBox error={error} />
          {saved ? (
            <p class="ok" role="status">
              {t('common.saved')}
            </p>
          ) : null}
          <div class="actions">
            <button type="submit" class="primary">
              {t('common.save')}
            </button>
          </div>
        </form>
        {local ? (
          <form
            class="card"
            data-test="password-form"
            onSubmit={async (e) => {
              e.preventDefault();
              setPwError(null);
              setPwSaved(false);
              if (pw.new_password !== pw.confirm) {
                setPwError(new Error(t('profile.mismatch')));
                return;
              }
              try {
                await call('PUT', `/users/${u.user_id}/password`, { old_password: pw.old_password, new_password: pw.new_password });
                setPwSaved(true);
                setPw({ old_password: '', new_password: '', confirm: '' });
              } catch (err) {
                setPwError(err);
              }
            }}
          >
            <h2>{t('profile.password')}</h2>
            <Field label={t('profile.oldPassword')}>
              <input type="password" required autoComplete="current-password" data-test="pw-old" value={pw.old_password} onInput={(e) => setPw({ ...pw, old_password: (e.target as HTMLInputElement).value })} />
            </Field>
            <Field label={t('profile.newPassword')} hint={t('users.passwordHint')}>
              <input type="password" required autoComplete="new-password" data-test="pw-new" value={pw.new_password} onInput={(e) => setPw({ ...pw, new_password: (e.target as HTMLInputElement).value })} />
            </Field>
            <Field label={t('profile.confirm')}>
              <input type="password" required autoComplete="new-password" data-test="pw-confirm" value={pw.confirm} onInput={(e) => setPw({ ...pw, confirm: (e.target as HTMLInputElement).value })} />
            </Field>
            <ErrorBox error={pwError} />
            <Note text={pwSaved ? t('profile.passwordChanged') : null} test="pw-saved" />
            <div class="actions">
              <button type="submit" class="primary" data-test="pw-save">
                {t('profile.change')}
              </button>
            </div>
          </form>
        ) : null}
        {u.source === 'oidc' ? <CliSecret user={u} /> : null}
      </div>
    </section>
  );
}

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** 40 characters from crypto.getRandomValues (rejection sampling: no modulo bias), with at least
 * one upper-case letter, one lower-case letter and one digit. */
export function randomSecret(length = 40): string {
  for (;;) {
    const out: string[] = [];
    while (out.length < length) {
      const buf = crypto.getRandomValues(new Uint8Array(length * 2));
      for (const b of buf) {
        if (b < 256 - (256 % ALPHABET.length) && out.length < length) out.push(ALPHABET[b % ALPHABET.length]!);
      }
    }
    const s = out.join('');
    if (/[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s)) return s;
  }
}

function CliSecret(props: { user: User }) {
  const [secret, setSecret] = useState<string | null>(null);
  const { busy, error, run } = useAction();
  return (
    <div class="card" data-test="cli-secret">
      <h2>{t('profile.cli')}</h2>
      <p class="muted">{t('profile.cliHint')}</p>
      <ErrorBox error={error} />
      {secret ? (
        <div role="status">
          <p>{t('profile.cliNew')}</p>
          <span class="copyrow">
            <code class="secret" data-raw="" data-test="cli-secret-value">
              {secret}
            </code>
            <CopyButton text={secret} label={t('profile.cliCopy')} test="cli-secret-copy" />
          </span>
        </div>
      ) : null}
      <div class="actions">
        <button
          type="button"
          class="primary"
          disabled={busy}
          data-test="cli-secret-generate"
          onClick={async () => {
            if (!confirm(t('profile.cliConfirm'))) return;
            const s = randomSecret();
            setSecret(null);
            await run(async () => {
              await call('PUT', `/users/${props.user.user_id}/cli_secret`, { secret: s });
              setSecret(s);
            });
          }}
        >
          {t('profile.cliGenerate')}
        </button>
      </div>
    </div>
  );
}
