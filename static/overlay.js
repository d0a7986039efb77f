// leti-view overlay for Netron: a latency badge on every operator node, a hover tooltip, and a
// panel with totals, slowest nodes, op-type roll-up, partition warnings, compare mode, export,
// measure-now and open-model. Badges are keyed by (active subgraph, operator index), never by
// Netron's DOM counters, and are re-applied after every redraw.
(function () {
  'use strict';

  const { meta, api, pollJob, startJob, fmtMs } = window.leti;

  const S = {
    model: meta('leti-model'),
    csrf: meta('leti-csrf'),
    device: meta('leti-device') || 'host',
    est: null,
    compare: null,
    compareDevice: '',
    scale: 'log',
    byKey: new Map(),
    elementKey: new WeakMap(),
    badges: 0,
    drawnAt: null,
    error: null,
    sort: { key: 'ms', desc: true },
  };
  window.__leti__ = S;

  const pct = (x) => `${(x * 100).toFixed(1)}%`;
  const shape = (s) => (s && s.length ? s.map((d) => (d < 0 ? '?' : d)).join('×') : 'scalar');

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children || []) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    return e;
  }

  // --- Netron access ----------------------------------------------------------------------

  function activeSubgraph() {
    const v = window.__view__;
    if (!v || !v.model || !v.activeTarget || !Array.isArray(v.model.modules)) return 0;
    const i = v.model.modules.indexOf(v.activeTarget);
    return i < 0 ? 0 : i;
  }

  function operatorLabels() {
    const v = window.__view__;
    if (!v || !v.target || !v.target.nodes) return [];
    const out = [];
    for (const entry of v.target.nodes.values()) {
      const label = entry && entry.label ? entry.label : entry;
      if (label && label.element && label.value && typeof label.value.identifier === 'string') out.push(label);
    }
    return out;
  }

  // --- colour scale ---------------------------------------------------------------------

  const STOPS = [[255, 245, 235], [253, 174, 107], [241, 105, 19], [127, 39, 4]];

  function heat(t) {
    const x = Math.max(0, Math.min(1, t)) * (STOPS.length - 1);
    const i = Math.min(Math.floor(x), STOPS.length - 2);
    const f = x - i;
    const c = STOPS[i].map((a, k) => Math.round(a + (STOPS[i + 1][k] - a) * f));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  }

  function scaler(values) {
    const pos = values.filter((v) => v > 0);
    if (!pos.length) return () => 0;
    const lo = Math.min(...pos);
    const hi = Math.max(...pos);
    if (hi <= lo) return () => 1;
    if (S.scale === 'log') {
      const a = Math.log(lo);
      const b = Math.log(hi);
      return (v) => (v > 0 ? (Math.log(v) - a) / (b - a) : 0);
    }
    return (v) => (v - lo) / (hi - lo);
  }

  function badgeValue(node) {
    if (S.compare) {
      const other = S.compare.byKey.get(`${node.subgraph}:${node.index}`);
      if (other && node.ms > 0) return { text: `×${(other.ms / node.ms).toFixed(2)}`, v: other.ms / node.ms };
      return { text: '–', v: 0 };
    }
    if (node.source === 'free') return { text: 'free', v: 0 };
    if (node.source === 'fused') return { text: node.kernel ? 'linked' : 'fused', v: 0 };
    return { text: fmtMs(node.ms), v: node.ms };
  }

  // --- badges ---------------------------------------------------------------------------

  function applyBadges() {
    if (!S.est) return 0;
    const labels = operatorLabels();
    if (!labels.length) return 0;
    const sg = activeSubgraph();
    const nodes = labels.map((l) => S.byKey.get(`${sg}:${l.value.identifier}`)).filter(Boolean);
    const values = nodes.map((n) => badgeValue(n).v);
    const norm = S.compare ? (v) => Math.max(0, Math.min(1, (Math.log2(Math.max(v, 1e-9)) + 2) / 4)) : scaler(values);
    let count = 0;
    for (const label of labels) {
      const key = `${sg}:${label.value.identifier}`;
      const node = S.byKey.get(key);
      const g = label.element;
      if (!node) continue;
      S.elementKey.set(g, key);
      let badge = g.querySelector(':scope > g.leti-badge');
      const { text, v } = badgeValue(node);
      if (!badge || badge.dataset.text !== text) {
        if (badge) badge.remove();
        badge = makeBadge(g, text);
        badge.dataset.text = text;
      }
      const rect = badge.querySelector('rect');
      const quiet = node.source === 'free' || node.source === 'fused';
      rect.setAttribute('fill', quiet ? '#e8f5e9' : heat(norm(v)));
      badge.querySelector('text').setAttribute('fill', norm(v) > 0.6 ? '#fff' : '#222');
      badge.setAttribute('class', `leti-badge leti-${node.source}${node.gpu_unsupported ? ' leti-cpu' : ''}`);
      badge.dataset.key = key;
      count++;
    }
    S.badges = count;
    document.body.dataset.letiBadges = String(count);
    if (count && S.drawnAt === null) {
      S.drawnAt = performance.now();
      document.body.dataset.letiDrawnAt = S.drawnAt.toFixed(1);
    }
    return count;
  }

  function makeBadge(g, text) {
    const ns = 'http://www.w3.org/2000/svg';
    const box = g.getBBox();
    const badge = document.createElementNS(ns, 'g');
    const t = document.createElementNS(ns, 'text');
    t.textContent = text;
    t.setAttribute('font-size', '10');
    t.setAttribute('font-family', 'sans-serif');
    // beside the node, right of its box and vertically centred: edges enter a node at the top
    // centre and leave it at the bottom centre, so this never covers an arrowhead
    const width = 8 + text.length * 6;
    const x = box.x + box.width + 3;
    const y = box.y + box.height / 2 - 6.5;
    const r = document.createElementNS(ns, 'rect');
    r.setAttribute('x', x);
    r.setAttribute('y', y);
    r.setAttribute('width', width);
    r.setAttribute('height', 13);
    r.setAttribute('rx', 6);
    r.setAttribute('stroke', '#555');
    r.setAttribute('stroke-width', '0.5');
    t.setAttribute('x', x + 4);
    t.setAttribute('y', y + 10);
    badge.appendChild(r);
    badge.appendChild(t);
    g.appendChild(badge);
    return badge;
  }

  function removeBadges() {
    for (const b of document.querySelectorAll('g.leti-badge')) b.remove();
  }

  // Netron clears and rebuilds the SVG, lays it out in a worker, and only then sets
  // __view__.target: keep retrying until the new graph is there.
  let pending = null;
  function scheduleApply(retries) {
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      const left = retries === undefined ? 400 : retries;
      const v = window.__view__;
      const ready = v && v.target && operatorLabels().length;
      if (ready) applyBadges();
      if (!ready && left > 0) scheduleApply(left - 1);
    }, 30);
  }

  function watchRedraws() {
    const target = document.getElementById('target');
    if (!target) return;
    new MutationObserver((mutations) => {
      for (const m of mutations) {
        for (const n of m.addedNodes) {
          if (!(n.classList && n.classList.contains('leti-badge'))) {
            scheduleApply();
            return;
          }
        }
      }
    }).observe(target, { childList: true, subtree: true });
  }

  function waitForGraph() {
    const tick = () => {
      if (operatorLabels().length && S.est) {
        applyBadges();
        renderPanel();
        return;
      }
      setTimeout(tick, 25);
    };
    tick();
  }

  // --- tooltip ---------------------------------------------------------------------------

  let tip = null;
  function showTip(evt, node) {
    if (!tip) {
      tip = el('div', { id: 'leti-tooltip' });
      document.body.appendChild(tip);
    }
    const lines = [
      el('div', { class: 'leti-tip-op', text: node.op + (node.fused_activation && node.fused_activation !== 'NONE' ? ` + ${node.fused_activation}` : '') }),
      el('div', { text: `inputs: ${(node.inputs || []).map(shape).join(', ') || '–'}` }),
      el('div', { text: `outputs: ${(node.outputs || []).map(shape).join(', ')}` }),
      el('div', { class: 'leti-tip-ms', text: `predicted: ${fmtMs(node.ms)} (${fmtMs(node.interval_ms[0])}–${fmtMs(node.interval_ms[1])})` }),
      el('div', { text: `share of total: ${pct(node.share)}` }),
      el('div', { text: `source: ${node.source}${S.est.calibrated ? '' : ' (uncalibrated)'}` }),
    ];
    if (node.kernel) {
      lines.push(el('div', { class: 'leti-tip-kernel', text: node.source === 'fused' ? `linked into kernel: ${node.kernel}` : `kernel: ${node.kernel}` }));
    }
    if (node.measured_ms !== null && node.measured_ms !== undefined) {
      lines.push(el('div', { text: `measured (same op alone): ${fmtMs(node.measured_ms)}` }));
    }
    if (S.compare) {
      const o = S.compare.byKey.get(`${node.subgraph}:${node.index}`);
      if (o) lines.push(el('div', { text: `${S.compareDevice}: ${fmtMs(o.ms)} (×${(o.ms / Math.max(node.ms, 1e-12)).toFixed(2)})` }));
    }
    if (node.note) lines.push(el('div', { class: 'leti-tip-note', text: node.note }));
    tip.replaceChildren(...lines);
    tip.style.display = 'block';
    tip.style.left = `${evt.clientX + 14}px`;
    tip.style.top = `${evt.clientY + 14}px`;
  }

  function hideTip() {
    if (tip) tip.style.display = 'none';
  }

  document.addEventListener('mouseover', (evt) => {
    const g = evt.target && evt.target.closest ? evt.target.closest('g.node, g.leti-badge') : null;
    let key = null;
    if (g && g.classList.contains('leti-badge')) key = g.dataset.key;
    else if (g) key = S.elementKey.get(g);
    const node = key ? S.byKey.get(key) : null;
    if (node) showTip(evt, node);
    else hideTip();
  });

  // --- the panel -------------------------------------------------------------------------

  let panel = null;

  function focusNode(node) {
    const v = window.__view__;
    if (node.subgraph !== activeSubgraph()) {
      flash(`node ${node.subgraph}:${node.index} is in subgraph ${node.subgraph}; open it in Netron first`);
      return;
    }
    const label = operatorLabels().find((l) => l.value.identifier === String(node.index));
    if (!label) return;
    try {
      v._target.scrollTo(v._target.select([label.value]));
    } catch (e) {
      label.element.scrollIntoView({ block: 'center', inline: 'center' });
    }
    label.element.classList.add('leti-focus');
    setTimeout(() => label.element.classList.remove('leti-focus'), 1500);
  }

  function flash(message, isError) {
    const box = document.getElementById('leti-message');
    if (!box) return;
    box.textContent = message;
    box.className = isError ? 'leti-error' : 'leti-info';
    box.hidden = !message;
  }

  function table(headers, rows, onSort) {
    const head = el('tr', {}, headers.map(([key, title]) => el('th', { text: title, 'data-key': key, onclick: () => onSort && onSort(key) })));
    return el('table', { class: 'leti-table' }, [el('thead', {}, [head]), el('tbody', {}, rows)]);
  }

  function renderPanel() {
    if (!S.est) return;
    if (!panel) {
      panel = el('div', { id: 'leti-panel' });
      document.body.appendChild(panel);
    }
    const e = S.est;
    const info = e.estimator || {};
    const sections = [];
    sections.push(el('div', { class: 'leti-title' }, [el('strong', { text: 'leti-view' }), ' ', el('a', { href: '/settings', text: 'settings' })]));
    if (!e.calibrated) {
      sections.push(el('div', { id: 'leti-banner', class: 'leti-banner' }, [
        `${info.note || 'This device is uncalibrated: badges are analytic estimates from a few-second micro-benchmark.'} `,
        el('button', { id: 'leti-calibrate-smoke', text: `Calibrate (smoke, ${meta('leti-smoke-time')})`, onclick: () => calibrate('smoke') }),
        ' ',
        el('button', { id: 'leti-calibrate-default', text: `Calibrate (default, ${meta('leti-default-time')})`, onclick: () => calibrate('default') }),
        el('div', { id: 'leti-calibration-status', class: 'leti-muted' }),
      ]));
    }
    sections.push(el('div', { id: 'leti-message', hidden: '' }));
    const [lo, hi] = e.total_interval_ms;
    sections.push(el('div', { class: 'leti-total' }, [
      el('div', { class: 'leti-big', id: 'leti-total', text: fmtMs(e.total_ms) }),
      el('div', { class: 'leti-muted', text: `interval ${fmtMs(lo)}–${fmtMs(hi)} · ${e.operators} ops · ${e.device}` }),
      e.analytic_share >= 0.0005 ? el('div', { class: 'leti-muted', id: 'leti-analytic', text: `${pct(e.analytic_share)} of it priced analytically (op types without a regressor)` }) : '',
      el('div', { id: 'leti-measured', class: 'leti-muted', text: e.measured_ms ? `measured: ${fmtMs(e.measured_ms)} (${(((e.total_ms - e.measured_ms) / e.measured_ms) * 100).toFixed(1)}% off)` : '' }),
    ]));
    const kernelwise = info.kind === 'kernels';
    const transfer = info.kind === 'transfer'; // a phone's CPU: the host's estimates carried over
    const what = kernelwise ? 'kernels' : 'ops';
    const acc = info.cv_mape !== undefined ? `CV MAPE ${info.cv_mape.toFixed(1)}% on ${info.samples} ${what}`
      : (transfer ? `transfer from ${info.source}` : 'no trained estimator');
    const net = info.network_mape !== null && info.network_mape !== undefined
      ? (kernelwise || transfer ? ` · end to end ${info.network_mape.toFixed(1)}% on ${info.networks} models, each left out by family` : ` · networks ${info.network_mape.toFixed(1)}% (${info.networks})`)
      : '';
    sections.push(el('div', { class: 'leti-muted', id: 'leti-estimator', text: `estimator: ${acc}${net}` }));

    const devSel = el('select', { id: 'leti-compare' }, [el('option', { value: '', text: 'compare with…' })]);
    for (const p of S.profiles || []) {
      if (p.id !== e.device) devSel.appendChild(el('option', { value: p.id, text: p.id }));
    }
    devSel.value = S.compareDevice;
    devSel.addEventListener('change', () => setCompare(devSel.value));
    const scaleBtn = el('button', { id: 'leti-scale', text: `scale: ${S.scale}`, onclick: () => { S.scale = S.scale === 'log' ? 'linear' : 'log'; removeBadges(); applyBadges(); renderPanel(); } });
    sections.push(el('div', { class: 'leti-row' }, [scaleBtn, ' ', devSel]));
    sections.push(legend());

    const nodes = e.nodes.slice();
    const k = S.sort.key;
    nodes.sort((a, b) => (a[k] < b[k] ? -1 : a[k] > b[k] ? 1 : 0) * (S.sort.desc ? -1 : 1));
    const rows = nodes.slice(0, 10).map((n) => el('tr', { class: 'leti-slow-row', onclick: () => focusNode(n) }, [
      el('td', { text: `${n.subgraph}:${n.index}` }), el('td', { text: n.op }), el('td', { text: fmtMs(n.ms) }), el('td', { text: pct(n.share) }),
    ]));
    sections.push(el('h4', { text: 'Slowest nodes' }));
    sections.push(table([['index', 'node'], ['op', 'op'], ['ms', 'latency'], ['share', 'share']], rows, (key) => {
      S.sort = { key, desc: S.sort.key === key ? !S.sort.desc : true };
      renderPanel();
    }));
    if (e.kernels) {
      const slow = e.kernels.slice().sort((a, b) => b.ms - a.ms).slice(0, 10);
      const krows = slow.map((k) => el('tr', { class: 'leti-kernel-row', onclick: () => { const n = S.byKey.get(k.nodes[0]); if (n) focusNode(n); } }, [
        el('td', { text: k.label }), el('td', { text: String(k.nodes.length) }), el('td', { text: fmtMs(k.ms) }), el('td', { text: pct(k.ms / Math.max(e.total_ms, 1e-12)) }),
      ]));
      sections.push(el('h4', { text: `Slowest kernels (${e.kernels.length} in all, each once)` }));
      sections.push(el('div', { id: 'leti-kernels' }, [table([['label', 'kernel (nodes it covers)'], ['n', 'nodes'], ['ms', 'latency'], ['share', 'share']], krows)]));
    }

    const roll = new Map();
    for (const n of e.nodes) {
      const r = roll.get(n.op) || { op: n.op, count: 0, ms: 0 };
      r.count += 1;
      r.ms += n.ms;
      roll.set(n.op, r);
    }
    const rollRows = [...roll.values()].sort((a, b) => b.ms - a.ms).map((r) => el('tr', {}, [
      el('td', { text: r.op }), el('td', { text: String(r.count) }), el('td', { text: fmtMs(r.ms) }), el('td', { text: pct(r.ms / Math.max(e.total_ms, 1e-12)) }),
    ]));
    sections.push(el('h4', { text: 'By op type' }));
    sections.push(table([['op', 'op'], ['count', 'n'], ['ms', 'latency'], ['share', 'share']], rollRows));

    const cpu = e.nodes.filter((n) => n.gpu_unsupported);
    if (cpu.length) {
      sections.push(el('div', { class: 'leti-warning', id: 'leti-partitions', text: `${cpu.length} node(s) the GPU delegate cannot run: ${e.partitions} GPU/CPU partitions, ${fmtMs(e.cpu_fallback_ms)} on the CPU (${cpu.slice(0, 5).map((n) => n.op).join(', ')})` }));
    }
    if (e.cpu_alone_ms && e.total_ms > e.cpu_alone_ms) {
      sections.push(el('div', { class: 'leti-warning', id: 'leti-slower-than-cpu', text: `partial delegation: predicted ${fmtMs(e.total_ms)} on GPU+CPU, slower than ${fmtMs(e.cpu_alone_ms)} on this machine's CPU alone` }));
    }
    const custom = e.nodes.filter((n) => n.source === 'custom');
    if (custom.length) sections.push(el('div', { class: 'leti-warning', text: `${custom.length} custom op(s) priced analytically` }));

    const q = `?device=${encodeURIComponent(S.device)}`;
    sections.push(el('div', { class: 'leti-row' }, [
      'export: ',
      el('a', { href: `/api/export/${S.model}.csv${q}`, text: 'CSV' }), ' · ',
      el('a', { href: `/api/export/${S.model}.json${q}`, text: 'JSON' }), ' · ',
      el('a', { href: `/api/export/${S.model}.model-explorer.json${q}`, text: 'Model Explorer' }),
    ]));
    const file = el('input', { type: 'file', id: 'leti-open', accept: '.tflite' });
    file.addEventListener('change', () => file.files.length && upload(file.files[0]));
    sections.push(el('div', { class: 'leti-row' }, [
      el('button', { id: 'leti-measure', text: 'Measure now', onclick: measureNow }), ' ',
      el('label', { class: 'leti-open' }, ['open model… ', file]),
    ]));
    panel.replaceChildren(...sections);
  }

  function legend() {
    const pos = S.est.nodes.map((n) => n.ms).filter((v) => v > 0);
    const lo = pos.length ? Math.min(...pos) : 0;
    const hi = pos.length ? Math.max(...pos) : 0;
    const bar = el('div', { class: 'leti-gradient' });
    bar.style.background = `linear-gradient(to right, ${[0, 0.33, 0.66, 1].map(heat).join(', ')})`;
    const labels = S.compare
      ? [el('span', { text: '×0.25 faster' }), el('span', { text: '×1' }), el('span', { text: '×4 slower' })]
      : [el('span', { text: fmtMs(lo) }), el('span', { text: S.scale }), el('span', { text: fmtMs(hi) })];
    return el('div', { id: 'leti-legend' }, [bar, el('div', { class: 'leti-legend-labels' }, labels)]);
  }

  // --- actions ---------------------------------------------------------------------------

  function index(est) {
    const m = new Map();
    for (const n of est.nodes) m.set(`${n.subgraph}:${n.index}`, n);
    return m;
  }

  async function loadEstimate() {
    try {
      S.est = await api(`/api/estimate/${S.model}?device=${encodeURIComponent(S.device)}`);
      S.byKey = index(S.est);
      S.error = null;
    } catch (err) {
      S.error = err.message;
      showFatal(err.message);
    }
  }

  async function setCompare(device) {
    S.compareDevice = device;
    if (!device) {
      S.compare = null;
    } else {
      try {
        const est = await api(`/api/estimate/${S.model}?device=${encodeURIComponent(device)}`);
        S.compare = { est, byKey: index(est) };
      } catch (err) {
        flash(err.message, true);
        S.compare = null;
      }
    }
    removeBadges();
    applyBadges();
    renderPanel();
  }

  function watchJob(statusId) {
    return pollJob((job) => {
      const box = document.getElementById(statusId);
      if (!job || !box) return;
      const p = job.progress || {};
      box.textContent = job.state === 'running'
        ? `${job.kind}: ${p.done || 0}/${p.total || '?'} ${p.current || ''}`
        : `${job.kind} ${job.state}: ${job.message}`;
    }, 500);
  }

  async function calibrate(suite) {
    try {
      await startJob({ kind: 'calibrate', device: S.device, suite });
    } catch (err) {
      flash(err.message, true);
      return;
    }
    const job = await watchJob('leti-calibration-status');
    if (job && job.state === 'done') {
      await loadEstimate();
      removeBadges();
      applyBadges();
      renderPanel();
      flash(`calibrated: ${job.message}`);
    } else if (job) {
      flash(`calibration ${job.state}: ${job.message}`, true);
    }
  }

  async function measureNow() {
    try {
      await startJob({ kind: 'measure', device: S.device, model: S.model });
    } catch (err) {
      flash(err.message, true);
      return;
    }
    flash('measuring the whole model on the device…');
    const job = await watchJob('leti-message');
    if (job && job.state === 'done') {
      await loadEstimate();
      renderPanel();
      flash(job.message);
    } else if (job) {
      flash(`measuring failed: ${job.message}`, true);
    }
  }

  async function upload(file) {
    const form = new FormData();
    form.append('model', file, file.name);
    try {
      const res = await api('/api/models', { method: 'POST', body: form });
      window.location.href = res.url;
    } catch (err) {
      flash(`cannot open ${file.name}: ${err.message}`, true);
    }
  }

  // The overlay loads in the page's head: an error can come back before there is a body.
  function showFatal(message) {
    const show = () => {
      const old = document.getElementById('leti-fatal');
      if (old) old.remove();
      const box = el('div', { id: 'leti-fatal', class: 'leti-banner leti-error' }, [
        `leti-view: ${message} `, el('a', { href: '/settings', text: 'settings' }),
      ]);
      document.body.appendChild(box);
    };
    if (document.body) show();
    else document.addEventListener('DOMContentLoaded', show, { once: true });
  }

  document.addEventListener('dragover', (evt) => evt.preventDefault(), true);
  document.addEventListener('drop', (evt) => {
    if (evt.dataTransfer && evt.dataTransfer.files && evt.dataTransfer.files.length) {
      evt.preventDefault();
      evt.stopPropagation();
      upload(evt.dataTransfer.files[0]);
    }
  }, true);

  async function loadProfiles() {
    try {
      const d = await api('/api/devices');
      S.profiles = d.profiles.filter((p) => p.trained);
    } catch (e) {
      S.profiles = [];
    }
  }

  window.addEventListener('load', () => {
    watchRedraws();
    waitForGraph();
  });
  Promise.all([loadEstimate(), loadProfiles()]).then(() => {
    if (operatorLabels().length) {
      applyBadges();
      renderPanel();
    }
  });
})();
