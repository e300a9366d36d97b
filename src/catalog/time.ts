/** Wall-clock formatting in the configured time zone (names and manifests use local time with its offset). */

export interface LocalTime {
  /** YYYYMMDD in the zone */
  date: string;
  /** HHMMSS in the zone */
  time: string;
  /** ISO 8601 with the zone's UTC offset, e.g. 2026-11-25T00:00:03.120+08:00 */
  iso: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function localTime(at: Date, timeZone: string): LocalTime {
  const parts: Record<string, string> = {};
  for (const p of formatter(timeZone).formatToParts(at)) parts[p.type] = p.value;
  // longOffset gives "GMT+08:00", or plain "GMT" for UTC.
  const offset = (parts.timeZoneName ?? 'GMT').replace(/^GMT/, '') || '+00:00';
  const ms = String(at.getUTCMilliseconds()).padStart(3, '0');
  const date = `${parts.year}${parts.month}${parts.day}`;
  const time = `${parts.hour}${parts.minute}${parts.second}`;
  const iso = `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}.${ms}${offset}`;
  return { date, time, iso };
}

/**
 * The ISO 8601 week (`2026-W49`) and the calendar month (`2026-12`) an instant falls in, as the
 * wall clock of `timeZone` reads it. ISO weeks start on Monday; week 1 holds the year's first
 * Thursday, so 2027-01-01 (a Friday) is in 2026-W53.
 */
export function calendarBuckets(at: Date, timeZone: string): { week: string; month: string } {
  const d = localTime(at, timeZone).date;
  const y = Number(d.slice(0, 4));
  const m = Number(d.slice(4, 6));
  const day = Number(d.slice(6, 8));
  // The local calendar date as a UTC midnight, moved to the Thursday of its ISO week.
  const date = new Date(Date.UTC(y, m - 1, day));
  const weekday = date.getUTCDay() || 7;
  date.setUTCDate(date.getUTCDate() + 4 - weekday);
  const isoYear = date.getUTCFullYear();
  const week = Math.ceil(((date.getTime() - Date.UTC(isoYear, 0, 1)) / 86_400_000 + 1) / 7);
  return { week: `${isoYear}-W${String(week).padStart(2, '0')}`, month: `${d.slice(0, 4)}-${d.slice(4, 6)}` };
}
