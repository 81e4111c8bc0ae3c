// The page's own strings (web/i18n/<lang>.toml) for one language: lookup and placeholder filling.
// Numbers are never formatted here: the core's view (calc/present.py) brings them written.

export function makeStrings(strings) {
  const lookup = (key) => key.split(".").reduce((node, part) => (node == null ? undefined : node[part]), strings);

  /** The string at a dotted key ("status.ready"), with {name} placeholders filled from params. */
  function t(key, params = {}) {
    const text = lookup(key);
    if (typeof text !== "string") throw new Error(`missing UI string ${key}`);
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
  }

  return { t };
}

/** Escape text for use inside HTML markup. */
export function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
