// The models index (models.html.j2): filter the rows by words typed, sort by a column's header.
// The table is complete without this script; rows carry their sort values as data-* attributes.
const table = document.getElementById("model-index");
const body = table.tBodies[0];
const rows = [...body.rows];
const filter = document.getElementById("index-filter");
const count = document.getElementById("index-count");

/** Show the rows whose text holds every word typed; say how many are shown. */
function applyFilter() {
  const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const row of rows) {
    row.hidden = !words.every((w) => row.dataset.search.includes(w));
    if (!row.hidden) shown += 1;
  }
  count.textContent = count.dataset.text.replace("{shown}", shown).replace("{total}", rows.length);
}

/** Sort by a column: a click on the sorted column reverses it; numbers compare as numbers, empty last. */
function sortBy(th) {
  const { key, kind } = th.dataset;
  const ascending = th.getAttribute("aria-sort") !== "ascending";
  for (const other of table.tHead.rows[0].cells) other.setAttribute("aria-sort", "none");
  th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  const value = (row) => (kind === "number" ? Number(row.dataset[key]) : row.dataset[key].toLowerCase());
  const sorted = rows.slice().sort((a, b) => {
    const x = value(a), y = value(b);
    if (x === "" || y === "") return (x === "") - (y === "");
    return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1);
  });
  body.append(...sorted);
}

for (const th of table.tHead.rows[0].cells) {
  const button = th.querySelector("button");
  button.disabled = false;
  button.addEventListener("click", () => sortBy(th));
}
filter.addEventListener("input", applyFilter);
document.getElementById("index-tools").hidden = false;
applyFilter();
