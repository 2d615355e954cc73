/**
 * Cron expressions every schedule renderer is checked against (steps,
 * ranges, lists, names, Sunday as 0 and 7, the day OR rule, shorthands).
 */
export const CORPUS = [
  // The cases the issue reported.
  "0 2 * * 1,3,5",
  "30 4 * * 0-2",
  "30 3 */7 * *",
  // Steps.
  "*/15 * * * *",
  "*/7 * * * *",
  "0 */6 * * *",
  "*/20 */8 * * *",
  "0 0 */10 * *",
  "0 0 * */3 *",
  "0 6 * * */2",
  // Ranges and stepped ranges.
  "30 9-17 * * mon-fri",
  "10-20/5 8 * * *",
  "1-59/2 0 * * *",
  "0 0-23/5 * * *",
  "0 0 2-30/3 * *",
  "0 6 * * 1-5/2",
  "0 2 1-15/7 * *",
  "0 0 30 1-12/2 *",
  // Lists, mixed lists.
  "0 0 1,15 * *",
  "0 9,17 * * sat,sun",
  "0,30 * * * 1",
  "0 4 1,10-12,20 * *",
  "5,10-12,40-50/5 1,13 * * *",
  // Names, in any case.
  "0 12 1 jan,jul *",
  "0 0 * jan-mar mon",
  "0 12 * feb *",
  "0 0 * * MON",
  "0 8 * 6-8 1,3,5",
  "59 23 31 dec *",
  // Sunday as 0 and as 7.
  "0 3 * * 0",
  "0 3 * * 7",
  "5 4 * * sun",
  "0 22 * * 5-7",
  "0 22 * * 0,7",
  "0 1 * * 6-7",
  "0 0 * * 0-7",
  // Day of month OR day of week (both restricted), and AND when one starts with `*`.
  "0 0 13 * fri",
  "0 0 1 * 1",
  "15 1 1-7 * 1",
  "0 12 15 * 6-7",
  "0 4 1-7 * sun",
  "0 0 1 1 0",
  "7 7 7 7 7",
  "0 0 1-31 * 1",
  "0 0 15 * 0-7",
  "0 0 */2 * 1",
  "0 4 */5 * mon-fri",
  "0 5 * * 1",
  // Rare days: only a few runs within the iterator's ten-year horizon.
  "0 0 31 * *",
  "0 0 29 2 *",
  // Plain and every-minute.
  "0 2 * * *",
  "* 3 * * *",
  "* * * * *",
  // Shorthands.
  "@yearly",
  "@annually",
  "@monthly",
  "@weekly",
  "@daily",
  "@midnight",
  "@hourly",
];
