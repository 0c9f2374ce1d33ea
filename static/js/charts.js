// The pages' charts. Their figures come from a <script type="application/json"> block written by
// Django's json_script filter (escaped for HTML), so no page needs an inline script.
(function () {
  if (!window.Chart) { return; }
  if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) { Chart.defaults.animation = false; }

  function read(id) {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  // The staff dashboard: one small chart per business line, each on its own scale, so the
  // employee line never flattens the customer lines (and they are never stacked into one sum).
  const lines = read("chart-data");
  if (lines) {
    lines.series.forEach(function (series) {
      const canvas = document.querySelector('canvas[data-series="' + series.code + '"]');
      if (!canvas) { return; }
      new Chart(canvas, {
        type: "bar",
        data: {labels: lines.labels, datasets: [{label: lines.unit, data: series.data, backgroundColor: "#1b7f4b"}]},
        options: {
          responsive: true,
          maintainAspectRatio: false,
          plugins: {legend: {display: false}},
          scales: {x: {ticks: {maxRotation: 0, autoSkipPadding: 8}}, y: {beginAtZero: true, ticks: {maxTicksLimit: 4}}}
        }
      });
    });
  }

  const trend = read("trend-data");
  if (trend) {
    new Chart(document.getElementById("trend-chart"), {
      type: "line",
      data: {labels: trend.months, datasets: [{label: "kg CO2e", data: trend.kg, borderColor: "#1b7f4b", backgroundColor: "rgba(27,127,75,0.15)", fill: true, tension: 0.25}]},
      options: {responsive: true, maintainAspectRatio: false, plugins: {legend: {display: false}}, scales: {y: {beginAtZero: true}}}
    });
  }
})();
