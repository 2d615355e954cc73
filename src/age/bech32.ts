/**
 * Bech32 (BIP173) as age uses it for keys: `age1…` recipients and
 * `AGE-SECRET-KEY-1…` identities. Unlike BIP173 there is no length limit, and
 * the checksum is always computed over the lowercase string.
 */
const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GENERATOR[i]!;
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

/** Regroups bits; `pad` false (decoding) rejects leftover bits that are not zero padding. */
function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] | null {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const max = (1 << to) - 1;
  for (let i = 0; i < data.length; i++) {
    acc = (acc << from) | data[i]!;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >>> bits) & max);
    }
    acc &= (1 << bits) - 1;
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & max);
  } else if (bits >= from || acc !== 0) return null;
  return out;
}

/** Encodes `data` under `hrp` in lowercase (age upper-cases secret keys itself). */
export function bech32Encode(hrp: string, data: Uint8Array): string {
  const lower = hrp.toLowerCase();
  const words = convertBits(data, 8, 5, true)!;
  const mod = polymod([...hrpExpand(lower), ...words, 0, 0, 0, 0, 0, 0]) ^ 1;
  const checksum = Array.from({ length: 6 }, (_, i) => (mod >>> (5 * (5 - i))) & 31);
  return `${lower}1${[...words, ...checksum].map((w) => CHARSET[w]).join("")}`;
}

export class Bech32Error extends Error {}

/** Decodes a Bech32 string; throws Bech32Error saying what is wrong. The hrp is returned lowercase. */
export function bech32Decode(text: string): { hrp: string; data: Uint8Array } {
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) throw new Bech32Error("mixes upper and lower case");
  const s = text.toLowerCase();
  const sep = s.lastIndexOf("1");
  if (sep < 1) throw new Bech32Error("has no prefix and separator (like age1…)");
  if (sep + 7 > s.length) throw new Bech32Error("is too short (truncated?)");
  const hrp = s.slice(0, sep);
  for (const c of hrp) {
    const code = c.charCodeAt(0);
    if (code < 33 || code > 126) throw new Bech32Error("has an invalid character in its prefix");
  }
  const words: number[] = [];
  for (const c of s.slice(sep + 1)) {
    const w = CHARSET.indexOf(c);
    if (w < 0) throw new Bech32Error(`has an invalid character ${JSON.stringify(c)}`);
    words.push(w);
  }
  if (polymod([...hrpExpand(hrp), ...words]) !== 1)
    throw new Bech32Error("has a bad checksum (mistyped or truncated?)");
  const bytes = convertBits(words.slice(0, -6), 5, 8, false);
  if (!bytes) throw new Bech32Error("has invalid padding");
  return { hrp, data: Uint8Array.from(bytes) };
}
