// A sortable table: columns [{id, label, num?, fmt?(v,row), cell?(row) -> Node, title?}];
// header buttons sort (keyboard: Tab to a header, Enter); the sort is reported through
// `onSort(id, dir)` so the view can keep it in its URL.

import { h } from './format.js';

export class SortTable {
  constructor(el, { columns, sort, dir = 'desc', onSort, onRow, rowKey, label }) {
    this.el = el;
    this.columns = columns;
    this.sort = sort;
    this.dir = dir;
    this.onSort = onSort || (() => {});
    this.onRow = onRow;
    this.rowKey = rowKey || (() => '');
    this.selected = null;
    this.rows = [];
    this.table = h('table', { 'aria-label': label });
    this.thead = h('thead');
    this.tbody = h('tbody');
    this.table.append(this.thead, this.tbody);
    el.append(h('div', { class: 'scroll' }, this.table));
    this.renderHead();
  }

  renderHead() {
    const tr = h('tr');
    for (const c of this.columns) {
      const sorted = c.id === this.sort ? (this.dir === 'asc' ? 'ascending' : 'descending') : null;
      tr.append(h('th', { class: c.num ? 'num' : null, 'aria-sort': sorted, scope: 'col', title: c.title },
        h('button', {
          class: 'sort', type: 'button', onclick: () => this.sortBy(c.id),
        }, c.label)));
    }
    this.thead.replaceChildren(tr);
  }

  sortBy(id) {
    if (this.sort === id) this.dir = this.dir === 'asc' ? 'desc' : 'asc';
    else { this.sort = id; this.dir = this.columns.find((c) => c.id === id)?.num ? 'desc' : 'asc'; }
    this.renderHead();
    this.render(this.rows);
    this.onSort(this.sort, this.dir);
  }

  /** Shows `rows` (objects keyed by column id), sorted. */
  render(rows) {
    this.rows = rows;
    const s = this.sort;
    const sign = this.dir === 'asc' ? 1 : -1;
    const sorted = s ? [...rows].sort((a, b) => {
      const x = a[s]; const y = b[s];
      if (typeof x === 'number' && typeof y === 'number') return sign * (x - y);
      return sign * String(x ?? '').localeCompare(String(y ?? ''), 'en', { numeric: true });
    }) : rows;
    const trs = sorted.map((r) => {
      const key = this.rowKey(r);
      const tr = h('tr', {
        class: [this.onRow ? 'click' : '', key && key === this.selected ? 'sel' : ''].join(' ').trim() || null,
        tabindex: this.onRow ? '0' : null,
        dataset: { key },
      });
      if (this.onRow) {
        tr.addEventListener('click', () => this.onRow(r));
        tr.addEventListener('keydown', (e) => { if (e.key === 'Enter') this.onRow(r); });
      }
      for (const c of this.columns) {
        const v = r[c.id];
        const content = c.cell ? c.cell(r) : c.fmt ? c.fmt(v, r) : v ?? '';
        tr.append(h('td', { class: c.num ? 'num' : c.key ? 'key' : null, title: c.key ? String(v) : null }, content));
      }
      return tr;
    });
    this.tbody.replaceChildren(...trs);
    if (!rows.length) {
      this.tbody.append(h('tr', {}, h('td', { colspan: String(this.columns.length), class: 'empty' }, 'No data yet.')));
    }
  }
}
