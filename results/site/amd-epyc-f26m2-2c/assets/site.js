// Draws every chart of the page from its embedded JSON with the local plotly.js (no network).
(function () {
  var slots = Array.prototype.slice.call(document.querySelectorAll("div.chart"));
  var drawn = slots.map(function (el) {
    var spec = JSON.parse(document.getElementById(el.getAttribute("data-chart")).textContent);
    return Plotly.newPlot(el, spec.data, spec.layout, {responsive: true, displaylogo: false});
  });
  Promise.all(drawn).then(function () {
    document.body.setAttribute("data-charts-drawn", String(slots.length));
  });
})();
