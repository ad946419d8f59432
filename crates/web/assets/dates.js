// Dates in IANA time zones with the platform's Intl (no library): calendar days of a zone,
// local date and time <-> UTC instants, and labels such as "Tomorrow 17:00".

import { locale, t } from './i18n.js';

const partsFormatters = new Map();
const formatters = new Map();

/** A cached Intl.DateTimeFormat (creating one costs more than formatting with it). */
function formatter(options) {
  const key = `${locale()}|${JSON.stringify(options)}`;
  let cached = formatters.get(key);
  if (!cached) {
    cached = new Intl.DateTimeFormat(locale(), options);
    formatters.set(key, cached);
  }
  return cached;
}

function partsFormatter(zone) {
  let formatter = partsFormatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit',
    });
    partsFormatters.set(zone, formatter);
  }
  return formatter;
}

const partsCache = new Map();

/** The wall-clock parts of `instant` (a Date) in `zone` (memoised: lists ask for the same
 * instants, "now" above all, many times per render). */
export function zonedParts(instant, zone) {
  const key = `${zone}|${Math.floor(instant.getTime() / 1000)}`;
  const cached = partsCache.get(key);
  if (cached) return cached;
  const parts = {};
  for (const { type, value } of partsFormatter(zone).formatToParts(instant)) parts[type] = Number(value);
  const result = { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour % 24, minute: parts.minute, second: parts.second };
  if (partsCache.size > 5000) partsCache.clear();
  partsCache.set(key, result);
  return result;
}

function offsetAt(utcMillis, zone) {
  const p = zonedParts(new Date(utcMillis), zone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - utcMillis;
}

/** The instant (a Date) of a wall-clock time in `zone` (the earlier one in a DST overlap). */
export function zonedToInstant(year, month, day, hour, minute, zone) {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  let guess = wall - offsetAt(wall, zone);
  guess = wall - offsetAt(guess, zone);
  return new Date(guess);
}

/** `YYYY-MM-DD` of an instant in `zone`. */
export function dateKey(instant, zone) {
  const p = zonedParts(instant, zone);
  return `${p.year}-${String(p.month).padStart(2, '0')}-${String(p.day).padStart(2, '0')}`;
}

/** `HH:MM` of an instant in `zone`. */
export function timeKey(instant, zone) {
  const p = zonedParts(instant, zone);
  return `${String(p.hour).padStart(2, '0')}:${String(p.minute).padStart(2, '0')}`;
}

/** The start of the calendar day `offsetDays` after today in `zone`. */
export function startOfDay(zone, offsetDays = 0, now = new Date()) {
  const p = zonedParts(now, zone);
  const day = new Date(Date.UTC(p.year, p.month - 1, p.day + offsetDays));
  return zonedToInstant(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), 0, 0, zone);
}

/** Days from today to the day of `instant`, both in `zone` (negative in the past). */
export function dayDistance(instant, zone, now = new Date()) {
  const a = zonedParts(now, zone);
  const b = zonedParts(instant, zone);
  return Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / 86_400_000);
}

/** A short label for a due date: "Today 17:00", "Tomorrow", "Fri 3 Dec", "3 Dec 2027 09:00". */
export function dueLabel(task, zone) {
  if (!task.due_at) return '';
  const due = new Date(task.due_at);
  const shownZone = task.all_day ? task.timezone : zone;
  const distance = dayDistance(due, shownZone);
  let day;
  if (distance === 0) day = t('today');
  else if (distance === 1) day = t('tomorrow');
  else if (distance === -1) day = t('yesterday');
  else {
    const sameYear = zonedParts(due, shownZone).year === zonedParts(new Date(), shownZone).year;
    day = formatter({
      timeZone: shownZone, weekday: Math.abs(distance) < 7 ? 'short' : undefined,
      day: 'numeric', month: 'short', year: sameYear ? undefined : 'numeric',
    }).format(due);
  }
  if (task.all_day) return day;
  return `${day} ${formatTime(due, zone)}`;
}

/** The time of an instant in `zone`, in the interface's locale. */
export function formatTime(instant, zone) {
  return formatter({ timeZone: zone, hour: 'numeric', minute: '2-digit' }).format(instant);
}

/** A full date and time in `zone`. */
export function formatDateTime(instant, zone) {
  return formatter({
    timeZone: zone, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', hour: 'numeric', minute: '2-digit',
  }).format(instant);
}

/** A day heading: "Friday 3 December". */
export function dayHeading(instant, zone) {
  const distance = dayDistance(instant, zone);
  const long = formatter({ timeZone: zone, weekday: 'long', day: 'numeric', month: 'long' }).format(instant);
  if (distance === 1) return `${t('tomorrow')} · ${long}`;
  return long;
}

/** Whether an open task is overdue: its day is past, or its time is past today. */
export function isOverdue(task, zone, now = new Date()) {
  if (!task.due_at || task.status === 'done') return false;
  const due = new Date(task.due_at);
  if (task.all_day) return dayDistance(due, task.timezone, now) < 0;
  return due < now;
}

/** "5 minutes ago" / "in 2 days" in the interface's language. */
export function relative(instant, now = new Date()) {
  const seconds = Math.round((instant - now) / 1000);
  const format = new Intl.RelativeTimeFormat(locale(), { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs < 60) return format.format(seconds, 'second');
  if (abs < 3600) return format.format(Math.round(seconds / 60), 'minute');
  if (abs < 86_400) return format.format(Math.round(seconds / 3600), 'hour');
  return format.format(Math.round(seconds / 86_400), 'day');
}

/** A reminder spec as words: "-PT30M" -> "30 minutes before", an instant -> its date. */
export function reminderLabel(spec, zone) {
  if (/^-?P/.test(spec)) {
    const negative = spec.startsWith('-');
    const match = /^-?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/.exec(spec);
    if (!match) return spec;
    const [, w, d, hh, mm] = match.map((v) => Number(v || 0));
    const minutes = ((w * 7 + d) * 24 + hh) * 60 + mm;
    if (minutes === 0) return t('at_due_time');
    const units = [];
    const format = (value, unit) => new Intl.NumberFormat(locale(), { style: 'unit', unit, unitDisplay: 'long' }).format(value);
    if (minutes % 1440 === 0) units.push(format(minutes / 1440, 'day'));
    else if (minutes % 60 === 0) units.push(format(minutes / 60, 'hour'));
    else units.push(format(minutes, 'minute'));
    return `${units.join(' ')} ${negative ? (locale().startsWith('ur') ? 'پہلے' : 'before') : (locale().startsWith('ur') ? 'بعد' : 'after')}`;
  }
  const instant = new Date(spec);
  return Number.isNaN(instant.getTime()) ? spec : formatDateTime(instant, zone);
}

/** The browser's IANA time zone. */
export function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** Every IANA zone the platform knows (for pickers). */
export function allZones() {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
}
