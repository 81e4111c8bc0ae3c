// UI strings and number formatting for one language.  build.py has the same formatters
// (fmt_gib, fmt_num, fmt_pct) so that the pre-rendered page and the live page agree to the digit.

export const GIB = 2 ** 30;

export function makeFormat(strings) {
  const locale = strings.meta.locale;
  const fixed = new Map();
  const percent = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });

  /** A number with exactly `digits` decimals and grouping. */
  function num(value, digits = 0) {
    if (!fixed.has(digits)) {
      fixed.set(digits, new Intl.NumberFormat(locale, { minimumFractionDigits: digits, maximumFractionDigits: digits }));
    }
    return fixed.get(digits).format(value);
  }

  /** Bytes as GiB (the unit the labels name). */
  const gib = (bytes, digits = 1) => num(bytes / GIB, digits);

  /** A fraction as a whole percentage. */
  const pct = (fraction) => percent.format(fraction);

  const lookup = (key) => key.split(".").reduce((node, part) => (node == null ? undefined : node[part]), strings);

  /** Whether a dotted key names a string. */
  const has = (key) => typeof lookup(key) === "string";

  /** The string at a dotted key ("result.vram"), with {name} placeholders filled from params. */
  function t(key, params = {}) {
    const text = lookup(key);
    if (typeof text !== "string") throw new Error(`missing UI string ${key}`);
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
  }

  return { locale, num, gib, pct, t, has };
}

/** Escape text for use inside HTML markup. */
export function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
