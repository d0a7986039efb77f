// leti-view settings page: devices, database status, rebuild/retrain jobs with live progress,
// and the estimator's accuracy report. A reload re-attaches to the running job.
(function () {
  'use strict';
  const { meta, api, pollJob, startJob, fmtSeconds } = window.leti;
  const model = meta('leti-model');
  const $ = (id) => document.getElementById(id);

  function cells(tr, values) {
    for (const v of values) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.appendChild(td);
    }
    return tr;
  }

  async function refresh() {
    const d = await api('/api/devices');
    const tbody = $('devices').querySelector('tbody');
    tbody.replaceChildren(...d.devices.map((x) => cells(document.createElement('tr'), [x.device, x.state, x.description])));
    const sel = $('job-device');
    const current = sel.value || meta('leti-device');
    sel.replaceChildren(...d.devices.filter((x) => x.device !== 'adb').map((x) => {
      const o = document.createElement('option');
      o.value = x.device;
      o.textContent = `${x.device} (${x.state})`;
      o.disabled = !(x.state === 'ready' || x.state === 'device' || x.state === 'imported');
      return o;
    }));
    sel.value = current;
    const rows = [];
    let total = 0;
    for (const [dev, s] of Object.entries(d.status.devices)) {
      for (const [op, c] of Object.entries(s.ops)) {
        rows.push(cells(document.createElement('tr'), [dev, op, c.ok || 0, c.failed || 0]));
        total += c.ok || 0;
      }
    }
    $('db-table').querySelector('tbody').replaceChildren(...rows);
    const last = d.status.last_build;
    $('db-summary').textContent = `${total} measurements in ${d.status.url}` + (last ? `; last build #${last.id} ${last.status} (${last.measured} measured)` : '');
    $('db-summary').dataset.count = String(total);
    const acc = $('accuracy');
    acc.replaceChildren();
    for (const p of d.profiles) {
      const h = document.createElement('h3');
      h.textContent = `${p.id}: ${p.trained ? `trained ${p.trained_at}` : 'not trained yet'}`;
      acc.appendChild(h);
      if (!p.report) continue;
      const kernels = p.report.kind === 'kernels';
      if (kernels && p.report.end_to_end) {
        const e2e = p.report.end_to_end;
        const line = document.createElement('p');
        line.className = 'e2e';
        line.textContent = `end to end, ${p.report.networks} models each predicted without its family: within ±10% ${e2e.within_10.toFixed(0)}%, ±5% ${e2e.within_5.toFixed(0)}%, MAPE ${e2e.mape.toFixed(1)}%`;
        acc.appendChild(line);
      }
      const t = document.createElement('table');
      t.appendChild(cells(document.createElement('tr'), [kernels ? 'kernel kind' : 'op type', 'samples', 'model', 'MAPE %', '±5 %', '±10 %', 'R²']));
      for (const r of p.report.op_types) {
        const f = (x) => (typeof x === 'number' ? x.toFixed(1) : '–');
        t.appendChild(cells(document.createElement('tr'), [r.op, r.samples, r.model, f(r.mape), f(r.within_5), f(r.within_10), typeof r.r2 === 'number' ? r.r2.toFixed(3) : '–']));
      }
      acc.appendChild(t);
    }
  }

  function showJob(job) {
    if (!job) return;
    $('job').hidden = false;
    const p = job.progress || {};
    const done = p.done || 0;
    const total = p.total || 0;
    $('job-bar').style.width = total ? `${(100 * done) / total}%` : job.state === 'running' ? '2%' : '100%';
    $('job-status').textContent = job.state === 'running'
      ? `${job.kind} on ${job.params.device}: ${done}/${total || '?'} done, ${p.failed || 0} failed, ETA ${fmtSeconds(p.eta_s)}`
      : `${job.kind} ${job.state}: ${job.message}`;
    $('job-status').dataset.state = job.state;
    $('job-status').dataset.done = String(done);
    $('job-current').textContent = job.state === 'running' ? (p.current || '') : '';
    $('job-failures').replaceChildren(...(p.failures || []).map((f) => {
      const li = document.createElement('li');
      li.textContent = f;
      return li;
    }));
    const running = job.state === 'running';
    $('rebuild-button').disabled = running;
    $('retrain-button').disabled = running;
    $('cancel-button').disabled = !running;
  }

  let polling = false;
  async function poll() {
    if (polling) return;
    polling = true;
    try {
      await pollJob((job) => {
        showJob(job);
        if (job && job.state === 'running' && (job.progress || {}).done) refresh().catch(() => {});
      }, 700);
    } finally {
      polling = false;
    }
    refresh().catch(() => {});
  }

  async function start(kind) {
    $('job-error').hidden = true;
    try {
      const job = await startJob({
        kind, device: $('job-device').value, suite: $('job-suite').value, from_model: $('job-from-model').checked, model,
      });
      showJob(job);
      poll();
    } catch (err) {
      $('job-error').textContent = err.message;
      $('job-error').hidden = false;
    }
  }

  window.addEventListener('load', () => {
    $('rebuild-button').addEventListener('click', () => start('rebuild'));
    $('retrain-button').addEventListener('click', () => start('retrain'));
    $('cancel-button').addEventListener('click', () => api('/api/jobs/cancel', { method: 'POST' }).then(showJob));
    refresh().catch((e) => { $('job-error').textContent = e.message; $('job-error').hidden = false; });
    poll();
  });
})();
