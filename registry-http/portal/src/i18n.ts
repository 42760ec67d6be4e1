// Two complete dictionaries: en defines the keys, zh is typed Record<Key, string> so the compiler
// refuses a zh that lacks a key of en (or has one en does not). First visit follows
// navigator.language; the choice is kept in localStorage.
import { en } from './i18n/en';
import { zh } from './i18n/zh';

export type Key = keyof typeof en;
export type Lang = 'en' | 'zh';
export const LANGS: { id: Lang; label: string }[] = [
  { id: 'en', label: 'English' },
  { id: 'zh', label: '简体中文' },
];

const dicts: Record<Lang, Record<Key, string>> = { en, zh };
const STORE = 'berth.lang';

function initial(): Lang {
  try {
    const s = localStorage.getItem(STORE);
    if (s === 'en' || s === 'zh') return s;
  } catch {
    /* storage disabled */
  }
  return (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

let lang: Lang = initial();

export function getLang(): Lang {
  return lang;
}

export function setLang(l: Lang): void {
  lang = l;
  try {
    localStorage.setItem(STORE, l);
  } catch {
    /* storage disabled */
  }
  document.documentElement.lang = locale();
}

export function locale(): string {
  return lang === 'zh' ? 'zh-CN' : 'en-US';
}

export function t(key: Key, vars?: Record<string, string | number>): string {
  let s: string = dicts[lang][key] ?? en[key];
  if (vars) {
    for (const [k, v] of Object.entries(vars)) s = s.split(`{${k}}`).join(typeof v === 'number' ? fmtNumber(v) : v);
  }
  return s;
}

export function fmtNumber(n: number): string {
  return new Intl.NumberFormat(locale()).format(n);
}

export function fmtDate(iso: string | number): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/** IEC symbols: sizes are counted in powers of 1024. */
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** Bytes in the largest binary unit under 1024 of it: the number in the locale's digits (at most one decimal), then the IEC symbol. */
export function fmtSize(bytes: number): string {
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(v)} ${UNITS[i]}`;
}
