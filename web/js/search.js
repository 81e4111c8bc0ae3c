// Model search: an ARIA 1.2 combobox (list autocomplete, manual selection) over <select id="model">.
// The select stays the form's control: a pick sets it and dispatches its input event.
// Ranking: exact name/id/family/repo/alias, then one starting with the query, then every typed word
// found with a name starting with the first word, then every word found anywhere; ties in catalog order.

/** Lower case, every run of characters but letters, digits and dots one space, as calc/aliases.py
 * normalize does; a pasted address loses its scheme and host first. */
export function normalize(text) {
  return text.toLowerCase().replace(/^\w+:\/\/[^/]+\//, "").replace(/[^a-z0-9.]+/g, " ").trim();
}

/** Per catalog model: its id, the names it answers to (normalized) and all of them in one string. */
export function searchEntries(models) {
  return models.map((m) => {
    const owner = m.repo.split("/")[0];
    const names = [m.name, m.id, m.family, m.repo, m.repo.split("/")[1], ...m.aliases.flatMap((a) => [a, `${owner}/${a}`])];
    const keys = [...new Set(names.map(normalize))];
    return { id: m.id, keys, hay: keys.join("|") };
  });
}

/** How well an entry matches the query `q` (normalized, its `words`): 0 best, -1 not at all. */
function tier(entry, q, words) {
  if (entry.keys.includes(q)) return 0;
  if (entry.keys.some((k) => k.startsWith(q))) return 1;
  if (!words.every((w) => entry.hay.includes(w))) return -1;
  return entry.keys.some((k) => k.startsWith(words[0])) ? 2 : 3;
}

/** The entries matching `text`, best first (all of them for an empty query). */
export function rank(entries, text) {
  const q = normalize(text);
  if (!q) return entries;
  const words = q.split(" ");
  return entries
    .map((entry, i) => [tier(entry, q, words), i, entry])
    .filter(([t]) => t >= 0)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .map(([, , entry]) => entry);
}

/** Wire the combobox: `input` (role=combobox) and `list` (role=listbox) pick into `select`; `count`
 * says how many match (`countText(shown)`), `notListed` is the row shown when none does (it picks
 * the select's "custom" option and focuses `config`). */
export function attachSearch({ input, list, select, count, models, countText, notListed, config }) {
  const entries = searchEntries(models);
  const names = Object.fromEntries(models.map((m) => [m.id, m]));
  let rows = [];
  let active = -1;

  /** Show or hide the popup (hidden: no row active). */
  function open(show) {
    list.hidden = !show;
    input.setAttribute("aria-expanded", String(show));
    if (!show) highlight(-1);
  }

  /** Make row `i` the active one (-1: none), as aria-activedescendant says. */
  function highlight(i) {
    if (rows[active]) rows[active].setAttribute("aria-selected", "false");
    active = i;
    if (rows[i]) {
      rows[i].setAttribute("aria-selected", "true");
      rows[i].scrollIntoView({ block: "nearest" });
      input.setAttribute("aria-activedescendant", rows[i].id);
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  /** One option row: the select value it picks, its text and a smaller detail (the repo). */
  function row(value, text, detail, i) {
    const li = document.createElement("li");
    li.id = `model-option-${i}`;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", "false");
    li.dataset.value = value;
    li.textContent = text;
    if (detail) li.append(" ", Object.assign(document.createElement("small"), { textContent: detail }));
    return li;
  }

  /** The rows for what is typed, the count line, and the popup open. */
  function update() {
    const found = rank(entries, input.value);
    rows = found.map((e, i) => row(e.id, names[e.id].name, names[e.id].repo, i));
    if (!rows.length) rows = [row("custom", notListed, "", 0)];
    active = -1;
    list.replaceChildren(...rows);
    count.textContent = countText(found.length);
    open(true);
  }

  /** Put a row's model into the select, as if chosen there; close the popup. */
  function pick(li) {
    select.value = li.dataset.value;
    select.dispatchEvent(new Event("input", { bubbles: true }));
    open(false);
    if (li.dataset.value === "custom") config.focus();
    else input.value = names[li.dataset.value].name;
    count.textContent = countText(rank(entries, input.value).length);
  }

  /** ArrowDown / ArrowUp open the popup or move, Enter picks, Escape closes, then empties the box. */
  function onKey(event) {
    const shown = !list.hidden;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!shown) return update();
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + rows.length + (active < 0 && step < 0 ? 1 : 0)) % rows.length);
    } else if (event.key === "Enter" && shown) {
      event.preventDefault();
      pick(rows[Math.max(active, 0)]);
    } else if (event.key === "Escape") {
      if (shown) return open(false);
      input.value = "";
      count.textContent = countText(models.length);
    }
  }

  select.addEventListener("change", () => { // chosen in the select itself: the box no longer names it
    input.value = "";
    count.textContent = countText(models.length);
  });
  input.addEventListener("input", update);
  input.addEventListener("keydown", onKey);
  input.addEventListener("blur", () => open(false));
  list.addEventListener("mousedown", (event) => event.preventDefault()); // the input keeps focus
  list.addEventListener("click", (event) => {
    const li = event.target.closest("[role=option]");
    if (li) pick(li);
  });
}
