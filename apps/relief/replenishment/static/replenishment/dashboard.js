// Draws the logistics dashboard's charts from the JSON the page carries (no inline script: CSP).
(function () {
  "use strict";
  const source = document.getElementById("dashboard-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const labels = document.getElementById("dashboard-labels").dataset;
  const palette = ["#1f6f8b", "#e07a1f", "#4f9d4a", "#b3364c", "#7a5ea8", "#8c6d31"];
  const common = { responsive: true, maintainAspectRatio: false, animation: false };

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas) return null;
    canvas.parentElement.classList.add("rp-has-chart");
    const chart = new Chart(canvas, config);
    canvas.dataset.drawn = "1";
    return chart;
  }

  draw("chart-stock", {
    type: "bar",
    data: {
      labels: data.stock.warehouses,
      datasets: data.stock.series.map(function (s, n) {
        return { label: s.category, data: s.values, backgroundColor: palette[n % palette.length] };
      }),
    },
    options: Object.assign({}, common, { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }),
  });

  draw("chart-coverage", {
    type: "bar",
    data: {
      labels: data.coverage.map(function (r) { return r.item; }),
      datasets: [{
        label: labels.rounds,
        data: data.coverage.map(function (r) { return r.rounds; }),
        backgroundColor: data.coverage.map(function (r) { return r.rounds < 1 ? "#b3364c" : r.rounds < 2 ? "#e07a1f" : "#4f9d4a"; }),
      }],
    },
    options: Object.assign({}, common, { indexAxis: "y", scales: { x: { beginAtZero: true } } }),
  });

  draw("chart-shortfalls", {
    type: "bar",
    data: {
      labels: data.shortfalls.items,
      datasets: [
        { label: labels.short, data: data.shortfalls.short, backgroundColor: "#b3364c" },
        { label: labels.buy, data: data.shortfalls.buy, backgroundColor: "#e07a1f" },
      ],
    },
    options: Object.assign({}, common, { scales: { y: { beginAtZero: true } } }),
  });

  draw("chart-expiring", {
    type: "bar",
    data: { labels: data.expiring.months, datasets: [{ label: labels.expiring, data: data.expiring.qty, backgroundColor: "#e07a1f" }] },
    options: Object.assign({}, common, { scales: { y: { beginAtZero: true } } }),
  });

  draw("chart-pipeline", {
    type: "bar",
    data: { labels: data.pipeline.donors, datasets: [{ label: labels.expected, data: data.pipeline.qty, backgroundColor: "#1f6f8b" }] },
    options: Object.assign({}, common, { scales: { y: { beginAtZero: true } } }),
  });
})();
