// The neutrality pages' charts: the year's balance as a waterfall (floating bars), and each
// scope's straight-line path to its targets with the actual emissions. The figures come from
// json_script blocks; every figure is also in a table on the page.
(function () {
  if (!window.Chart) { return; }
  if (window.matchMedia("(prefers-reduced-motion: reduce)").matches) { Chart.defaults.animation = false; }

  function read(id) {
    const element = document.getElementById(id);
    return element ? JSON.parse(element.textContent) : null;
  }

  const colours = {total: "#5b6b62", contribution: "#a8d5b5", credit: "#1b7f4b"};
  const waterfall = read("waterfall-data");
  const waterfallCanvas = document.getElementById("waterfall-chart");
  if (waterfall && waterfallCanvas) {
    new Chart(waterfallCanvas, {
      type: "bar",
      data: {
        labels: waterfall.labels,
        datasets: [{
          label: waterfall.unit,
          data: waterfall.bars,
          backgroundColor: waterfall.kinds.map(function (kind) { return colours[kind]; })
        }]
      },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        plugins: {legend: {display: false}},
        scales: {x: {beginAtZero: true, ticks: {maxTicksLimit: 3}}, y: {ticks: {autoSkip: false, font: {size: 11}}}}
      }
    });
  }

  const paths = read("path-data");
  if (paths) {
    paths.forEach(function (item) {
      const canvas = document.querySelector('canvas[data-path="' + item.scope + '"]');
      if (!canvas) { return; }
      new Chart(canvas, {
        type: "line",
        data: {
          labels: item.labels,
          datasets: [
            {label: item.path_label, data: item.path, borderColor: "#5b6b62", borderDash: [6, 4], pointRadius: 0, spanGaps: true},
            {label: item.actual_label, data: item.actual, borderColor: "#1b7f4b", backgroundColor: "#1b7f4b", showLine: false, pointRadius: 4}
          ]
        },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          plugins: {legend: {display: true, position: "bottom"}},
          scales: {y: {beginAtZero: true, ticks: {maxTicksLimit: 4}}, x: {ticks: {maxRotation: 0, autoSkipPadding: 8}}}
        }
      });
    });
  }
})();
