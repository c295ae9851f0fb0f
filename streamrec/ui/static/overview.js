// The overview's charts: each poll of the figures fragment adds one point per series.
(function () {
  "use strict";
  const KEEP = 300; // points per chart (10 minutes at one poll every 2 s)
  const charts = [];

  function chart(id, series) {
    const el = document.getElementById(id);
    const data = [[]].concat(series.map(() => []));
    const plot = new uPlot({
      width: el.clientWidth || 480,
      height: 180,
      series: [{}].concat(series.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: true }))),
      axes: [{}, { size: 60 }],
    }, data, el);
    charts.push({ plot, data, series, el });
  }

  function add(figures) {
    const now = Date.now() / 1000;
    for (const c of charts) {
      c.data[0].push(now);
      c.series.forEach((s, i) => c.data[i + 1].push(s.value(figures)));
      if (c.data[0].length > KEEP) c.data.forEach((column) => column.shift());
      c.plot.setData(c.data);
    }
  }

  function read() {
    const el = document.getElementById("overview-figures");
    if (el) add(JSON.parse(el.textContent));
  }

  const ms = (v) => (v === null || v === undefined ? null : v * 1000);
  chart("chart-events", [{ label: "events/s", color: "#2563eb", value: (f) => f.events_per_s }]);
  chart("chart-requests", [{ label: "requests/s", color: "#16a34a", value: (f) => f.requests_per_s }]);
  chart("chart-latency", [
    { label: "p50", color: "#16a34a", value: (f) => ms(f.latency_s.p50) },
    { label: "p95", color: "#d97706", value: (f) => ms(f.latency_s.p95) },
    { label: "p99", color: "#dc2626", value: (f) => ms(f.latency_s.p99) },
  ]);
  chart("chart-lag", [{ label: "lag", color: "#7c3aed", value: (f) => f.lag }]);
  read();
  document.body.addEventListener("htmx:afterSettle", (event) => {
    if (event.detail.target.id === "overview-live") read();
  });
  window.addEventListener("resize", () => {
    for (const c of charts) c.plot.setSize({ width: c.el.clientWidth || 480, height: 180 });
  });
})();
