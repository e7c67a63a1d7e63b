// Sortable tables: a button in each header sorts the rows (numbers by data-sort), announces
// the order with aria-sort. Works with the keyboard; without script the table stays readable.
document.querySelectorAll("table.sortable").forEach((table) => {
  const headers = table.querySelectorAll("thead th");
  headers.forEach((th, column) => {
    const button = th.querySelector("button");
    if (!button) return;
    button.addEventListener("click", () => {
      const ascending = th.getAttribute("aria-sort") !== "ascending";
      headers.forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      const body = table.tBodies[0];
      const key = (row) => {
        const cell = row.children[column];
        const sort = cell.dataset.sort;
        if (sort !== undefined) return sort === "" ? null : parseFloat(sort);
        return cell.textContent.trim().toLocaleLowerCase("fr");
      };
      const rows = Array.from(body.rows);
      rows.sort((a, b) => {
        const x = key(a), y = key(b);
        if (x === null) return 1;
        if (y === null) return -1;
        const order = typeof x === "number" ? x - y : x.localeCompare(y, "fr");
        return ascending ? order : -order;
      });
      rows.forEach((row) => body.appendChild(row));
    });
  });
});
