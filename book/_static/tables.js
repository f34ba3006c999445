/* A table wider than the page is set in smaller type where that makes it fit, else shown as one card per row
   (class "stacked", book/_static/tables.css): each cell reads under its column's name, so no column leaves the
   page at any width and nothing needs scrolling.
   Tables that fit keep their grid. Jupyter Book includes every file of _static; written by hand because the
   theme has no responsive tables and the book is read offline. Checked by tools/check_layout.py. */
(function () {
  /* the header text of each column position: the header rows' cells, spread over their colspan, joined */
  function columnNames(table) {
    var names = [];
    var head = table.tHead;
    if (!head) { return names; }
    Array.prototype.forEach.call(head.rows, function (row) {
      var at = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        var text = cell.textContent.trim();
        for (var k = 0; k < (cell.colSpan || 1); k++) {
          var j = at + k;
          if (text && names[j] !== text && (names[j] || '').split(' · ').indexOf(text) < 0) {
            names[j] = names[j] ? names[j] + ' · ' + text : text;
          }
        }
        at += cell.colSpan || 1;
      });
    });
    return names;
  }

  /* label every body cell with its column's name, counting the cells a rowspan above still covers */
  function label(table) {
    if (table.dataset.labelled) { return; }
    var names = columnNames(table);
    var covered = [];  // column position -> rows it is still covered by a cell from a row above
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        var at = 0;
        Array.prototype.forEach.call(row.cells, function (cell) {
          while (covered[at] > 0) { at++; }
          if (names[at] && !cell.hasAttribute('data-label')) {
            cell.setAttribute('data-label', names[at]);
            var value = document.createElement('span');  // the cell's content as one piece beside its label
            value.className = 'cell-value';
            while (cell.firstChild) { value.appendChild(cell.firstChild); }
            cell.appendChild(value);
          }
          for (var k = 0; k < (cell.colSpan || 1); k++) { covered[at + k] = cell.rowSpan || 1; }
          at += cell.colSpan || 1;
        });
        for (var j = 0; j < covered.length; j++) { if (covered[j] > 0) { covered[j]--; } }
      });
    });
    table.dataset.labelled = '1';
  }

  /* the box the table must fit: the nearest ancestor that scrolls or clips, else the window */
  function room(table) {
    var box = table.parentElement;
    while (box && box !== document.body && getComputedStyle(box).overflowX === 'visible') { box = box.parentElement; }
    var right = Math.min(box && box !== document.body ? box.getBoundingClientRect().right : window.innerWidth,
                         window.innerWidth);
    return right - table.getBoundingClientRect().left;
  }

  function fits(table) { return table.getBoundingClientRect().width <= room(table) + 1; }

  /* a table keeps its grid where it fits, first as it is, then in smaller type; else it shows as cards */
  function fit() {
    document.querySelectorAll('article table').forEach(function (table) {
      table.classList.remove('stacked', 'compact');
      if (fits(table)) { return; }
      table.classList.add('compact');
      if (fits(table)) { return; }
      table.classList.remove('compact');
      label(table);
      table.classList.add('stacked');
    });
  }

  document.addEventListener('DOMContentLoaded', fit);
  window.addEventListener('load', fit);
  var pending;
  window.addEventListener('resize', function () { clearTimeout(pending); pending = setTimeout(fit, 100); });
}());
