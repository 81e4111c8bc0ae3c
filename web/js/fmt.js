// The page's own strings (web/i18n/<lang>.toml) for one language: lookup and placeholder filling.
// Numbers are never formatted here: the core's view (calc/present.py) brings them written.

export function makeStrings(strings) {
  // Own keys only: "constructor" or "__proto__" are not strings of the page.
  const own = (node, part) => (node != null && Object.hasOwn(node, part) ? node[part] : undefined);
  const lookup = (key) => key.split(".").reduce(own, strings);

  /** The string at a dotted key ("status.ready"), with {name} placeholders filled from params. */
  function t(key, params = {}) {
    const text = lookup(key);
    if (typeof text !== "string") throw new Error(`missing UI string ${key}`);
    return text.replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(params, name) ? String(params[name]) : whole));
  }

  return { t };
}

/** Escape text for use inside HTML markup. */
export function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** At most `limit` characters of a value someone typed or linked, for quoting it in a message. */
export function excerpt(value, limit = 40) {
  const text = String(value);
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

/** Base64 of bytes (an ArrayBuffer or a Uint8Array), in chunks (String.fromCharCode takes a bounded number of arguments). */
export function base64(buffer) {
  const bytes = buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer);
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(text);
}
