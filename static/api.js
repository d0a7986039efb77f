// leti-view's page helpers, shared by the graph overlay and the settings page: the JSON API
// with the CSRF token, polling of the one background job, and how latencies are written.
(function () {
  'use strict';

  const meta = (name) => {
    const e = document.querySelector(`meta[name="${name}"]`);
    return e ? e.content : '';
  };

  async function api(path, options) {
    const opts = Object.assign({}, options || {});
    opts.headers = Object.assign({ 'X-CSRF-Token': meta('leti-csrf') }, opts.headers || {});
    if (typeof opts.body === 'string' && !opts.headers['Content-Type']) opts.headers['Content-Type'] = 'application/json';
    const r = await fetch(path, opts);
    let body = null;
    try {
      body = await r.json();
    } catch (e) {
      body = {};
    }
    if (!r.ok) {
      const err = new Error((body && body.error) || `${r.status} ${r.statusText}`);
      err.status = r.status;
      throw err;
    }
    return body;
  }

  // Poll the current job every `every` ms, calling onUpdate(job) each time, until it stops
  // running; resolves with the last job (null when there is none).
  async function pollJob(onUpdate, every) {
    for (;;) {
      const job = await api('/api/jobs/current');
      if (onUpdate) onUpdate(job);
      if (!job || job.state !== 'running') return job;
      await new Promise((r) => setTimeout(r, every || 600));
    }
  }

  function startJob(body) {
    return api('/api/jobs', { method: 'POST', body: JSON.stringify(body) });
  }

  // Two or three significant digits, in µs below a millisecond (the CLI writes the same).
  function fmtMs(ms) {
    if (ms === null || ms === undefined || !isFinite(ms)) return 'n/a';
    if (ms === 0) return '0 ms';
    if (ms >= 1) return ms >= 1000 ? `${ms.toFixed(0)} ms` : `${+ms.toPrecision(3)} ms`;
    const us = ms * 1000;
    return `${+us.toPrecision(us >= 0.01 ? 3 : 2)} µs`;
  }

  function fmtSeconds(s) {
    if (s === null || s === undefined) return '?';
    return s < 90 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`;
  }

  window.leti = { meta, api, pollJob, startJob, fmtMs, fmtSeconds };
})();
