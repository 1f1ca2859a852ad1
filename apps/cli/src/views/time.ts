/** `3s ago`, `5m ago`, `2h ago`, `4d ago`; a time to come is `in 5m`. */
export function ago(iso: string, now = Date.now()): string {
  const delta = Math.round((now - Date.parse(iso)) / 1000);
  const seconds = Math.abs(delta);
  const span = seconds < 60 ? `${seconds}s` : seconds < 3600 ? `${Math.floor(seconds / 60)}m` : seconds < 86_400 ? `${Math.floor(seconds / 3600)}h` : `${Math.floor(seconds / 86_400)}d`;
  return delta < 0 ? `in ${span}` : `${span} ago`;
}

/** `2026-12-04 18:40:12` in local time: a timestamp a person reads in a table or a timeline. */
export function localTime(iso: string): string {
  const date = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
