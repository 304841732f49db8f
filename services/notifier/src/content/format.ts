/** Plain formatting shared by every channel: times in UTC, durations as fail2ban writes them. */

export function formatTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC');
}

/** `600` -> `10m`, `5400` -> `1h 30m`, `-1` -> `permanent`. */
export function formatBantime(seconds: number): string {
  if (seconds < 0) return 'permanent';
  if (seconds === 0) return '0s';
  const units: [string, number][] = [
    ['w', 7 * 86400],
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = Math.round(seconds);
  for (const [name, size] of units) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${name}`);
      rest %= size;
    }
  }
  return parts.join(' ');
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** `3` -> `3rd`: how many times this address has been banned in the jail. */
export function ordinal(n: number): string {
  const mod100 = n % 100;
  if (mod100 >= 11 && mod100 <= 13) return `${n}th`;
  const suffix = ({ 1: 'st', 2: 'nd', 3: 'rd' } as Record<number, string>)[n % 10] ?? 'th';
  return `${n}${suffix}`;
}

export function formatRate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

export function formatShare(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}
