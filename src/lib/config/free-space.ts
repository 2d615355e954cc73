/** `min_free_space`: a percentage of the disk or a size in bytes. */
const BYTE_UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
  TIB: 1024 ** 4,
};

/** `10%` → { percent: 10 }; `2GiB` / `500MB` → { bytes }; null when malformed. */
export function parseFreeSpace(text: string): { bytes?: number; percent?: number } | null {
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(text);
  if (pct) return Number(pct[1]) <= 100 ? { percent: Number(pct[1]) } : null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? BYTE_UNITS[m[2]!.toUpperCase()] : undefined;
  return m && unit ? { bytes: Math.round(Number(m[1]) * unit) } : null;
}
