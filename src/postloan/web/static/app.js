// postloan web UI: render the ECharts options the server put in data-chart
// attributes (no inline scripts), again after every HTMX swap.
(function () {
  "use strict";
  function draw(root) {
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) { return; }
      el.dataset.drawn = "1";
      var chart = echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(JSON.parse(el.dataset.chart));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (evt) {
    draw(evt.target);
    // a change that went through clears the last error message
    var flash = document.getElementById("flash");
    if (flash && evt.target !== flash) { flash.replaceChildren(); }
  });
})();
