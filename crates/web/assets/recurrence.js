// Recurrence rules (RFC 5545 RRULE bodies): the presets the task panel offers, and a short
// description of any rule for the lists.

import { locale, t } from './i18n.js';

export const PRESETS = [
  { key: 'none', rule: '' },
  { key: 'daily', rule: 'FREQ=DAILY' },
  { key: 'weekdays', rule: 'FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR' },
  { key: 'weekly', rule: 'FREQ=WEEKLY' },
  { key: 'monthly', rule: 'FREQ=MONTHLY' },
  { key: 'yearly', rule: 'FREQ=YEARLY' },
];

/** The preset a rule is, or 'custom'. */
export function presetOf(rule) {
  if (!rule) return 'none';
  const found = PRESETS.find((preset) => preset.rule === rule.toUpperCase());
  return found ? found.key : 'custom';
}

const DAY_INDEX = { SU: 0, MO: 1, TU: 2, WE: 3, TH: 4, FR: 5, SA: 6 };

function weekdayName(code) {
  // 2023-01-01 was a Sunday.
  const date = new Date(Date.UTC(2023, 0, 1 + DAY_INDEX[code]));
  return new Intl.DateTimeFormat(locale(), { weekday: 'short', timeZone: 'UTC' }).format(date);
}

/** A short description of a rule: "Every week on Mon, Wed", "Every 2 days", or the rule. */
export function recurrenceLabel(rule) {
  if (!rule) return '';
  const preset = presetOf(rule);
  if (preset !== 'custom' && preset !== 'none') return t(`r_${preset}`);
  const parts = Object.fromEntries(rule.toUpperCase().split(';').map((part) => part.split('=')));
  const interval = Number(parts.INTERVAL || 1);
  const unit = { DAILY: 'day', WEEKLY: 'week', MONTHLY: 'month', YEARLY: 'year' }[parts.FREQ];
  if (!unit) return rule;
  const urdu = locale().startsWith('ur');
  const unitWords = {
    day: urdu ? ['روزانہ', 'دن'] : ['Every day', 'days'],
    week: urdu ? ['ہر ہفتے', 'ہفتے'] : ['Every week', 'weeks'],
    month: urdu ? ['ہر مہینے', 'مہینے'] : ['Every month', 'months'],
    year: urdu ? ['ہر سال', 'سال'] : ['Every year', 'years'],
  }[unit];
  let text = interval === 1 ? unitWords[0] : (urdu ? `ہر ${interval} ${unitWords[1]}` : `Every ${interval} ${unitWords[1]}`);
  if (parts.BYDAY) {
    const days = parts.BYDAY.split(',').map((day) => day.replace(/^[+-]?\d+/, '')).filter((day) => day in DAY_INDEX);
    if (days.length) text += urdu ? ` (${days.map(weekdayName).join('، ')})` : ` on ${days.map(weekdayName).join(', ')}`;
  }
  if (parts.BYMONTHDAY) text += urdu ? ` (تاریخ ${parts.BYMONTHDAY})` : ` on day ${parts.BYMONTHDAY}`;
  if (parts.COUNT) text += urdu ? `، ${parts.COUNT} بار` : `, ${parts.COUNT} times`;
  if (parts.UNTIL) text += urdu ? `، ${parts.UNTIL.slice(0, 8)} تک` : `, until ${parts.UNTIL.slice(0, 4)}-${parts.UNTIL.slice(4, 6)}-${parts.UNTIL.slice(6, 8)}`;
  return text;
}
