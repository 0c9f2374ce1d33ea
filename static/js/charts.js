// The pages' charts. Their figures come from a <script type="application/json"> block written by
// Django's json_script filter (escaped for HTML), so no page needs an inline script.
(function () {
  if (!window.Chart) { return; }
  if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) { Chart.defaults.animation = false; }

  function read(id) {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  const totals = read("chart-data");
  if (totals) {
    const colours = ["#1b7f4b", "#2f6fb3", "#b36b2f", "#7a3fb3", "#b32f5c", "#3fb3a8"];
    new Chart(document.getElementById("totals-chart"), {
      type: "bar",
      data: {
        labels: totals.months,
        datasets: totals.series.map(function (s, i) {
          return {
            label: s.label + (s.operational ? " (operational)" : " (Scope 3+)"),
            data: s.data,
            backgroundColor: colours[i % colours.length],
            stack: s.operational ? "operational" : "ecosystem"
          };
        })
      },
      options: {responsive: true, maintainAspectRatio: false, scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true}}}
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
