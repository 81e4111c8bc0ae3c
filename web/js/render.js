// Puts a view (calc/present.py, from the worker's op "view") into the result panel and spec card
// that web/templates/_result.html.j2 printed from the build's view: texts into data-out slots, bar
// geometry into attributes, list rows cloned from the <template>s of index.html.j2.  No words and no
// number formatting here: the view has them all.

const $ = (id) => document.getElementById(id);

// What each list was last built from (its items as JSON): an answer whose rows are the same as the
// ones on screen (most inputs change a few numbers, not the warnings or the sources) leaves the list's
// DOM alone, so the browser has no style, layout or paint work for it.
const built = new WeakMap();

/** `list`'s children made from `items` by `make` (items -> nodes), unless the ones on screen were made from equal items. */
function fillList(list, items, make) {
  const key = JSON.stringify(items);
  if (built.get(list) === key) return;
  built.set(list, key);
  list.replaceChildren(...make(items));
}

/** A fresh copy of the first element of <template id="tpl-NAME">. */
function row(name) {
  return $(`tpl-${name}`).content.firstElementChild.cloneNode(true);
}

function fillSlots(root, text) {
  for (const el of root.querySelectorAll("[data-out]")) {
    const value = text[el.dataset.out];
    if (value !== undefined && el.textContent !== value) el.textContent = value;
    const holder = el.closest("[data-row]"); // a fact some answers do not have: hidden when empty
    if (holder && value !== undefined && holder.hidden !== !value) holder.hidden = !value;
  }
}

function warningRow(w) {
  const li = row("warning");
  li.dataset.code = w.code;
  li.textContent = w.text;
  return li;
}

function recRow(rec) {
  const li = row("rec");
  li.dataset.gpu = rec.gpu;
  li.dataset.count = String(rec.count);
  li.querySelector(".rec-name").textContent = rec.name;
  li.querySelector(".rec-detail").textContent = rec.detail;
  return li;
}

function specRow(r) {
  const div = row("spec-row");
  div.querySelector("dt").textContent = r.label;
  const dd = div.querySelector("dd");
  dd.dataset.spec = r.key;
  dd.querySelector(".spec-value").textContent = r.value;
  const link = dd.querySelector("a.src");
  if (r.source) {
    link.href = r.source;
    link.title = r.title;
  } else {
    link.previousSibling.remove(); // the space before the link
    link.remove();
  }
  return div;
}

function sourceLinks(sources, separator) {
  const nodes = [];
  sources.forEach((s, i) => {
    if (i) nodes.push(document.createTextNode(separator));
    const a = row("source");
    a.href = s.href;
    a.textContent = s.text;
    nodes.push(a);
  });
  return nodes;
}

/** The result panel (#result-body) and the recommendations' panel (#recs-panel) from a view. */
export function renderResult(body, view) {
  fillSlots(body, view.text);
  fillSlots($("recs-panel"), view.text);
  const fit = body.querySelector(".fit");
  fit.className = `fit fit-${view.verdict}`; // yes, tight, no, cannot (calc/present.py verdict)
  for (const seg of view.bar.segments) {
    const rect = body.querySelector(`rect.seg[data-part="${seg.part}"]`);
    rect.setAttribute("x", seg.x);
    rect.setAttribute("width", seg.width);
  }
  const cap = body.querySelector(".bar-cap");
  cap.setAttribute("x1", view.bar.cap);
  cap.setAttribute("x2", view.bar.cap);
  $("apply-format").dataset.quant = view.apply_format || "";
  $("apply-format").hidden = !view.apply_format;
  body.querySelector(".warnings").hidden = !view.warnings.length;
  fillList($("warnings"), view.warnings, (rows) => rows.map(warningRow));
  $("recs").hidden = !view.recs.length;
  $("recs-none").hidden = Boolean(view.recs.length);
  fillList($("recs"), view.recs, (rows) => rows.map(recRow));
  fillList($("speed-sources"), [view.speed_sources, view.spec.separator], ([sources, separator]) => sourceLinks(sources, separator));
  renderMachine(view.machine);
}

function deviceRow(d) {
  const li = row("device");
  li.dataset.device = d.device;
  li.classList.toggle("over", d.over);
  li.querySelector(".device-name").textContent = `${d.device} · ${d.name}`;
  li.querySelector(".device-text").textContent = d.text;
  li.querySelector(".device-parts").textContent = d.parts;
  li.querySelector(".device-fill").setAttribute("width", d.fill);
  li.querySelector(".device-cap").setAttribute("width", d.cap);
  return li;
}

/** Your machine (#machine-result) from a view's machine (null: hidden). */
function renderMachine(m) {
  $("machine-result").hidden = !m;
  if (!m) return;
  $("machine-verdict").textContent = m.verdict;
  $("machine-verdict").classList.toggle("over", !m.fits);
  fillList($("machine-devices"), m.rows, (rows) => rows.map(deviceRow));
  fillList($("machine-lines"), m.lines, (lines) => lines.map((text) => Object.assign(document.createElement("li"), { textContent: text })));
  $("machine-speed").textContent = m.speed;
  $("machine-command").textContent = m.command;
}

/** The spec card (#spec) from a view. */
export function renderSpec(card, view) {
  fillSlots(card, view.text);
  $("spec-custom").hidden = !view.spec.custom;
  $("spec-rows").replaceChildren(...view.spec.rows.map(specRow));
  card.querySelector(".sources").hidden = !view.spec.sources.length;
  $("spec-sources").replaceChildren(...sourceLinks(view.spec.sources, view.spec.separator));
}
