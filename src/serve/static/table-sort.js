// Click a header of a table.sortable to sort by that column (numbers by value, text by locale).
// Served from /static (no inline scripts: the page's CSP forbids them).
(() => {
  const key = (cell, numeric) => {
    const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
    if (!numeric) return raw.toLowerCase();
    const n = Number.parseFloat(raw);
    return Number.isNaN(n) ? Number.NEGATIVE_INFINITY : n;
  };
  const sortBy = (table, th) => {
    const idx = Array.prototype.indexOf.call(th.parentNode.children, th);
    const numeric = th.dataset.type === "num";
    const asc = th.getAttribute("aria-sort") !== "ascending";
    for (const other of th.parentNode.children) other.removeAttribute("aria-sort");
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    rows.sort((a, b) => {
      const x = key(a.cells[idx], numeric);
      const y = key(b.cells[idx], numeric);
      const c = x < y ? -1 : x > y ? 1 : 0;
      return asc ? c : -c;
    });
    const frag = document.createDocumentFragment();
    for (const r of rows) frag.appendChild(r);
    body.appendChild(frag);
  };
  const init = () => {
    for (const table of document.querySelectorAll("table.sortable")) {
      const head = table.tHead;
      if (!head) continue;
      for (const th of head.rows[0].cells) {
        th.tabIndex = 0;
        th.classList.add("sort-header");
        th.addEventListener("click", () => sortBy(table, th));
        th.addEventListener("keydown", (e) => {
          if (e.key === "Enter" || e.key === " ") {
            e.preventDefault();
            sortBy(table, th);
          }
        });
      }
    }
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
