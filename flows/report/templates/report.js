/* ghostcheck findings table: search, filters, sort, paging, expandable evidence.
   Data comes from <script type="application/json" id="findings-data"> (columnar,
   low-cardinality columns dictionary-encoded). Every data value is written with
   textContent / createTextNode, never innerHTML. */
(function () {
  'use strict';
  var SEV_RANK = { critical: 4, high: 3, medium: 2, low: 1 };
  var SHOWN = ['severity', 'finding_type', 'insurer', 'provider_name', 'field', 'directory_value', 'observed_value', 'status', 'last_seen'];
  var HEAD = { severity: 'Severity', finding_type: 'Type', insurer: 'Insurer', provider_name: 'Provider', field: 'Field',
    directory_value: 'Directory says', observed_value: 'Evidence says', status: 'Status', last_seen: 'Last seen' };
  var DETAIL_SKIP = { directory_value: 1, observed_value: 1, evidence_text: 1, evidence_url: 1,
    recommended_action: 1, proposed_value: 1, action_reason: 1 };
  var FILTERS = ['insurer', 'finding_type', 'severity', 'status'];
  var SEARCHED = ['provider_name', 'npi', 'address', 'insurer', 'finding_type', 'field', 'directory_value',
    'observed_value', 'listing_id', 'finding_id', 'evidence_url', 'evidence_text', 'evidence_source', 'status', 'severity'];

  var root = document.getElementById('findings-app');
  var payload;
  try {
    payload = JSON.parse(document.getElementById('findings-data').textContent);
  } catch (err) {
    root.textContent = 'The findings data in this report could not be read; use findings.csv instead.';
    return;
  }
  var N = payload.n;
  var cols = {};
  payload.columns.forEach(function (c) { cols[c.name] = c; });
  var names = payload.columns.map(function (c) { return c.name; });
  var shots = payload.screenshots || {};

  function val(name, i) {
    var c = cols[name];
    if (!c) return null;
    if (c.dict) { var k = c.codes[i]; return k === null ? null : c.dict[k]; }
    var v = c.values[i];
    return v === undefined ? null : v;
  }
  function text(v) { return v === null || v === undefined ? '' : String(v); }
  function el(tag, cls, content) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (content !== undefined && content !== null) e.textContent = String(content);
    return e;
  }
  function label(name) {
    return HEAD[name] || name.replace(/_/g, ' ').replace(/^./, function (s) { return s.toUpperCase(); });
  }
  function isWebUrl(u) { return /^https?:\/\/[^\s]+$/i.test(u); }

  // ---- state
  var state = { q: '', filters: {}, sortKey: 'severity', sortDir: -1, page: 0, pageSize: 50 };
  var order = null;      // row indexes after filter + sort
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

  // ---- controls
  var controls = el('div', 'controls');
  controls.setAttribute('role', 'search');
  var searchLabel = el('label', null, 'Search');
  var search = document.createElement('input');
  search.type = 'search';
  search.id = 'findings-search';
  search.placeholder = 'provider, NPI, address, value, evidence…';
  search.setAttribute('aria-controls', 'findings-table');
  searchLabel.appendChild(search);
  controls.appendChild(searchLabel);
  var selects = {};
  FILTERS.forEach(function (name) {
    if (!cols[name]) return;
    var lab = el('label', null, label(name));
    var sel = document.createElement('select');
    sel.id = 'filter-' + name;
    sel.setAttribute('aria-controls', 'findings-table');
    sel.appendChild(new Option('All', ''));
    distinct(name).forEach(function (v) { sel.appendChild(new Option(v === null ? '(blank)' : v, v === null ? '\u0000' : v)); });
    sel.addEventListener('change', function () { state.filters[name] = sel.value; state.page = 0; refresh(); });
    lab.appendChild(sel);
    controls.appendChild(lab);
    selects[name] = sel;
  });
  var reset = el('button', null, 'Reset');
  reset.type = 'button';
  reset.addEventListener('click', function () {
    search.value = ''; state.q = ''; state.filters = {}; state.page = 0;
    Object.keys(selects).forEach(function (k) { selects[k].value = ''; });
    refresh();
  });
  controls.appendChild(reset);
  root.appendChild(controls);

  var count = el('p', 'count');
  count.id = 'findings-count';
  count.setAttribute('aria-live', 'polite');
  root.appendChild(count);

  var table = el('table');
  table.id = 'findings-table';
  var thead = el('thead');
  var hr = el('tr');
  hr.appendChild(el('th', null, '')).appendChild(el('span', 'sr-only', 'Details'));
  var shown = SHOWN.filter(function (n) { return cols[n]; });
  var ths = {};
  shown.forEach(function (name) {
    var th = el('th');
    th.setAttribute('scope', 'col');
    var b = el('button', null, label(name));
    b.type = 'button';
    b.addEventListener('click', function () {
      if (state.sortKey === name) state.sortDir = -state.sortDir;
      else { state.sortKey = name; state.sortDir = name === 'severity' || name === 'last_seen' ? -1 : 1; }
      state.page = 0;
      refresh(true);
    });
    th.appendChild(b);
    hr.appendChild(th);
    ths[name] = th;
  });
  thead.appendChild(hr);
  table.appendChild(thead);
  var tbody = el('tbody');
  table.appendChild(tbody);
  root.appendChild(table);

  var pager = el('div', 'pager');
  var first = button('« First', function () { state.page = 0; render(); });
  var prev = button('‹ Prev', function () { state.page -= 1; render(); });
  var where = el('span');
  var next = button('Next ›', function () { state.page += 1; render(); });
  var last = button('Last »', function () { state.page = pages() - 1; render(); });
  var sizeLab = el('label', null, 'Rows per page ');
  var size = document.createElement('select');
  [25, 50, 100, 250].forEach(function (n) { size.appendChild(new Option(String(n), String(n), n === 50, n === 50)); });
  size.addEventListener('change', function () { state.pageSize = +size.value; state.page = 0; render(); });
  sizeLab.appendChild(size);
  [first, prev, where, next, last, sizeLab].forEach(function (x) { pager.appendChild(x); });
  root.appendChild(pager);

  function button(t, fn) { var b = el('button', null, t); b.type = 'button'; b.addEventListener('click', fn); return b; }
  function pages() { return Math.max(1, Math.ceil(order.length / state.pageSize)); }

  function distinct(name) {
    var c = cols[name], seen = new Set(), out = [];
    if (c.dict) {
      var used = new Uint8Array(c.dict.length), hasNull = false;
      for (var i = 0; i < N; i++) { var k = c.codes[i]; if (k === null) hasNull = true; else used[k] = 1; }
      c.dict.forEach(function (v, j) { if (used[j]) out.push(v); });
      if (hasNull) out.push(null);
    } else {
      for (var r = 0; r < N; r++) { var v = c.values[r]; if (!seen.has(v)) { seen.add(v); out.push(v); } }
    }
    return out.sort(function (a, b) {
      if (a === null) return 1;
      if (b === null) return -1;
      if (name === 'severity') return (SEV_RANK[b] || 0) - (SEV_RANK[a] || 0);
      return collator.compare(String(a), String(b));
    });
  }

  var searchTimer = null;
  search.addEventListener('input', function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () { state.q = search.value; state.page = 0; refresh(); }, 120);
  });

  // search: per term, test each distinct dictionary entry once, then rows by code; plain columns row by row
  var lowerCache = {};
  function lowered(name) {
    if (!lowerCache[name]) {
      var c = cols[name], src = c.dict || c.values, low = new Array(src.length);
      for (var j = 0; j < src.length; j++) low[j] = src[j] === null ? '' : String(src[j]).toLowerCase();
      lowerCache[name] = low;
    }
    return lowerCache[name];
  }
  function termMatcher(term) {
    var tests = [];
    SEARCHED.forEach(function (n) {
      var c = cols[n];
      if (!c) return;
      var low = lowered(n);
      if (c.dict) {
        var hit = new Uint8Array(low.length), any = false;
        for (var j = 0; j < low.length; j++) if (low[j].indexOf(term) >= 0) { hit[j] = 1; any = true; }
        if (!any) return;
        var codes = c.codes;
        tests.push(function (i) { var k = codes[i]; return k !== null && hit[k] === 1; });
      } else {
        tests.push(function (i) { return low[i].indexOf(term) >= 0; });
      }
    });
    return function (i) { for (var t = 0; t < tests.length; t++) if (tests[t](i)) return true; return false; };
  }

  // rank of each dictionary entry (for fast sorting on codes)
  function sortKeyFn(name) {
    var c = cols[name];
    if (!c) return function () { return 0; };
    if (c.dict) {
      var idx = c.dict.map(function (_, j) { return j; });
      idx.sort(function (a, b) {
        var x = c.dict[a], y = c.dict[b];
        if (name === 'severity') return (SEV_RANK[x] || 0) - (SEV_RANK[y] || 0);
        if (x === null) return -1; if (y === null) return 1;
        return typeof x === 'number' && typeof y === 'number' ? x - y : collator.compare(String(x), String(y));
      });
      var rank = new Int32Array(c.dict.length);
      idx.forEach(function (j, r) { rank[j] = r + 1; });
      return function (a, b) {
        var ka = c.codes[a], kb = c.codes[b];
        return (ka === null ? 0 : rank[ka]) - (kb === null ? 0 : rank[kb]);
      };
    }
    return function (a, b) {
      var x = c.values[a], y = c.values[b];
      if (x === y) return 0;
      if (x === null) return -1; if (y === null) return 1;
      return typeof x === 'number' && typeof y === 'number' ? x - y : collator.compare(String(x), String(y));
    };
  }

  function refresh() {
    var terms = state.q.toLowerCase().split(/\s+/).filter(Boolean).map(termMatcher);
    var active = FILTERS.filter(function (n) { return state.filters[n]; }).map(function (n) {
      var want = state.filters[n] === '\u0000' ? null : state.filters[n];
      return function (i) { return val(n, i) === want; };
    });
    var out = [];
    outer: for (var i = 0; i < N; i++) {
      for (var f = 0; f < active.length; f++) if (!active[f](i)) continue outer;
      for (var t = 0; t < terms.length; t++) if (!terms[t](i)) continue outer;
      out.push(i);
    }
    var cmp = sortKeyFn(state.sortKey), dir = state.sortDir, tie = sortKeyFn('insurer');
    out.sort(function (a, b) { return dir * cmp(a, b) || tie(a, b) || a - b; });
    order = out;
    Object.keys(ths).forEach(function (n) {
      if (n === state.sortKey) ths[n].setAttribute('aria-sort', state.sortDir > 0 ? 'ascending' : 'descending');
      else ths[n].removeAttribute('aria-sort');
    });
    render();
  }

  function render() {
    state.page = Math.max(0, Math.min(state.page, pages() - 1));
    var start = state.page * state.pageSize, end = Math.min(order.length, start + state.pageSize);
    var frag = document.createDocumentFragment();
    for (var p = start; p < end; p++) frag.appendChild(row(order[p]));
    tbody.textContent = '';
    tbody.appendChild(frag);
    if (!order.length) {
      var tr = el('tr'), td = el('td', 'empty', 'No findings match the search and filters.');
      td.colSpan = shown.length + 1; tr.appendChild(td); tbody.appendChild(tr);
    }
    count.textContent = 'Showing ' + (order.length ? (start + 1).toLocaleString() + '–' + end.toLocaleString() : '0') +
      ' of ' + order.length.toLocaleString() + ' matching findings (' + N.toLocaleString() + ' in this report)';
    where.textContent = 'Page ' + (state.page + 1).toLocaleString() + ' of ' + pages().toLocaleString();
    first.disabled = prev.disabled = state.page === 0;
    next.disabled = last.disabled = state.page >= pages() - 1;
  }

  function row(i) {
    var tr = el('tr');
    tr.dataset.row = String(i);
    var cell = el('td');
    var b = el('button', 'expand', '+');
    b.type = 'button';
    b.setAttribute('aria-expanded', 'false');
    b.setAttribute('aria-label', 'Show evidence for ' + text(val('provider_name', i)));
    b.addEventListener('click', function () { toggle(tr, b, i); });
    cell.appendChild(b);
    tr.appendChild(cell);
    shown.forEach(function (name) {
      var v = val(name, i), td = el('td');
      if (name === 'severity') td.appendChild(el('span', 'sev sev-' + (SEV_RANK[v] ? v : 'unknown'), text(v)));
      else if (name === 'status') td.appendChild(el('span', 'st st-' + text(v).replace(/[^a-z]/g, ''), text(v)));
      else if (name === 'provider_name') {
        td.appendChild(document.createTextNode(text(v)));
        var npi = val('npi', i);
        if (npi) td.appendChild(el('span', 'npi', 'NPI ' + npi));
      } else {
        td.textContent = text(v);
        if (name === 'directory_value' || name === 'observed_value') td.className = 'val';
        else if (name === 'last_seen') td.className = 'date';
      }
      tr.appendChild(td);
    });
    return tr;
  }

  function toggle(tr, b, i) {
    var open = b.getAttribute('aria-expanded') === 'true';
    if (open) {
      if (tr.nextSibling && tr.nextSibling.classList.contains('detail')) tbody.removeChild(tr.nextSibling);
      b.setAttribute('aria-expanded', 'false'); b.textContent = '+';
      return;
    }
    var d = el('tr', 'detail'), td = el('td');
    td.colSpan = shown.length + 1;
    td.appendChild(detail(i));
    d.appendChild(td);
    tr.parentNode.insertBefore(d, tr.nextSibling);
    b.setAttribute('aria-expanded', 'true'); b.textContent = '−';
  }

  function detail(i) {
    var box = el('div', 'evidence');
    var cmp = el('div', 'compare');
    var dir = el('div', 'dir'); dir.appendChild(el('span', 'label', 'Directory says (' + text(val('insurer', i)) + ')'));
    dir.appendChild(el('div', 'value', val('directory_value', i) === null ? '—' : text(val('directory_value', i))));
    var obs = el('div', 'obs'); obs.appendChild(el('span', 'label', 'Evidence says (' + (text(val('evidence_source', i)) || 'source unknown') + ')'));
    obs.appendChild(el('div', 'value', val('observed_value', i) === null ? '—' : text(val('observed_value', i))));
    cmp.appendChild(dir); cmp.appendChild(obs);
    box.appendChild(cmp);
    var action = val('recommended_action', i);
    if (action !== null && action !== undefined && action !== '') {  // reconcile/actions.py (issue 13)
      var act = el('div', 'action');
      act.appendChild(el('span', 'label', 'Recommended action'));
      var proposed = val('proposed_value', i);
      act.appendChild(el('div', 'value', text(action).replace(/_/g, ' ') +
        (proposed === null || proposed === undefined || proposed === '' ? '' : ' → ' + text(proposed))));
      var why = val('action_reason', i);
      if (why) act.appendChild(el('p', 'reason', text(why)));
      box.appendChild(act);
    }
    var snippet = val('evidence_text', i);
    box.appendChild(el('span', 'label', 'Evidence (verbatim)'));
    box.appendChild(el('blockquote', 'snippet', snippet === null || snippet === '' ? '(no snippet recorded)' : snippet));
    var facts = el('dl', 'facts');
    var url = val('evidence_url', i);
    if (url !== null && url !== '') {
      facts.appendChild(el('dt', null, 'Evidence URL'));
      var dd = el('dd');
      if (isWebUrl(url)) {
        var a = el('a', null, url);
        a.href = url; a.rel = 'noopener noreferrer'; a.target = '_blank';
        dd.appendChild(a);
      } else dd.textContent = url;
      facts.appendChild(dd);
    }
    fact(facts, 'Fetched at', val('evidence_fetched_at', i));
    fact(facts, 'Observed at', val('observed_at', i));
    names.forEach(function (n) {
      if (DETAIL_SKIP[n] || n === 'evidence_fetched_at' || n === 'observed_at') return;
      fact(facts, label(n), val(n, i));
    });
    box.appendChild(facts);
    var shot = url ? shots[url] : null;
    if (shot) {
      box.appendChild(el('span', 'label', 'Page screenshot'));
      var img = document.createElement('img');
      img.className = 'shot'; img.alt = 'Screenshot of ' + url; img.loading = 'lazy'; img.src = shot;
      box.appendChild(img);
    }
    return box;
  }

  function fact(dl, name, v) {
    if (v === null || v === undefined || v === '') return;
    dl.appendChild(el('dt', null, name));
    dl.appendChild(el('dd', null, typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : text(v)));
  }

  refresh();
  root.removeAttribute('aria-busy');
  window.__ghostcheckReadyMs = performance.now();
  window.__ghostcheckReady = true;
})();
