/* persona-evolve viewer: charts, the persona scatter and live updates.
 * Untrusted text (persona names and texts, program output) is only ever set through
 * textContent, never innerHTML; data arrives as JSON in <script type="application/json">. */
(function () {
  "use strict";

  function readJson(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function escapeForPlotly(s) {
    return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  var PLOT_CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["sendDataToCloud"] };

  // ------------------------------------------------------------------ generic figures
  function drawFigures() {
    var nodes = document.querySelectorAll("[data-figure]");
    Array.prototype.forEach.call(nodes, function (el) {
      var fig = readJson(el.dataset.figure);
      if (!fig || typeof Plotly === "undefined") { return; }
      Plotly.newPlot(el, fig.data, fig.layout, PLOT_CONFIG).then(function () {
        el.on("plotly_click", function (ev) {
          var pt = ev && ev.points && ev.points[0];
          if (pt && typeof pt.customdata === "string" && pt.customdata.charAt(0) === "/") {
            window.location.href = pt.customdata;
          }
        });
        if (el.dataset.references) { addReferences(el, el.dataset.references); }
      });
    });
  }

  function addReferences(el, url) {
    fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (refs) {
      if (!refs || !refs.lines || !refs.lines.length) { return; }
      var xmax = 1;
      (el.data || []).forEach(function (t) { (t.x || []).forEach(function (x) { if (x > xmax) { xmax = x; } }); });
      var traces = refs.lines.map(function (ln) {
        return { type: "scatter", mode: "lines", x: [0, xmax], y: [ln.value, ln.value], hoverinfo: "y+name",
                 name: "reference: " + ln.name, line: { dash: "dot", width: 1.5, color: ln.name === "floor" ? "#999" : "#e08a00" } };
      });
      Plotly.addTraces(el, traces);
      el.dataset.referencesShown = String(traces.length);
    }).catch(function () { /* references are optional */ });
  }

  // ------------------------------------------------------------------ persona scatter
  function setupScatter() {
    var el = document.getElementById("scatter");
    if (!el || typeof Plotly === "undefined") { return; }
    var data = readJson(el.dataset.payload);
    if (!data) { return; }
    var xs = document.getElementById("scatter-x");
    var ys = document.getElementById("scatter-y");

    function draw() {
      var xi = parseInt(xs.value, 10), yi = parseInt(ys.value, 10);
      var ax = data.axes[xi], ay = data.axes[yi];
      var pts = data.points.filter(function (p) { return p.position[xi] !== null && p.position[yi] !== null; });
      var withText = pts.filter(function (p) { return p.name !== null; });
      var without = pts.filter(function (p) { return p.name === null; });
      function trace(list, name, color, symbol) {
        return { type: "scatter", mode: "markers", name: name,
                 x: list.map(function (p) { return p.position[xi]; }),
                 y: list.map(function (p) { return p.position[yi]; }),
                 customdata: list.map(function (p) { return p.index; }),
                 text: list.map(function (p) { return "#" + p.index + (p.name !== null ? " " + escapeForPlotly(p.name) : ""); }),
                 hoverinfo: "text+x+y", marker: { size: 11, color: color, symbol: symbol, line: { width: 1, color: "#fff" } } };
      }
      function title(a) { return escapeForPlotly(a.name) + (a.low || a.high ? "  (0 = " + escapeForPlotly(a.low).slice(0, 40) + " … 1 = " + escapeForPlotly(a.high).slice(0, 40) + ")" : ""); }
      var layout = { height: 460, margin: { l: 60, r: 10, t: 10, b: 60 }, hovermode: "closest", showlegend: true,
                     legend: { orientation: "h", y: -0.18 },
                     xaxis: { title: { text: title(ax) }, range: [-0.03, 1.03], zeroline: false },
                     yaxis: { title: { text: title(ay) }, range: [-0.03, 1.03], zeroline: false } };
      var traces = [trace(withText, "text stored", "#3b528b", "circle")];
      if (without.length) { traces.push(trace(without, "text not stored", "#b9bfcb", "circle-open")); }
      Plotly.react(el, traces, layout, PLOT_CONFIG);
      var url = new URL(window.location.href);
      url.searchParams.set("x", String(xi));
      url.searchParams.set("y", String(yi));
      window.history.replaceState(null, "", url.toString());
    }

    function show(index) {
      var p = data.points.filter(function (q) { return q.index === index; })[0];
      if (!p) { return; }
      var panel = document.getElementById("persona-panel");
      panel.hidden = false;
      document.getElementById("persona-name").textContent = p.name !== null ? p.name : "persona #" + p.index;
      document.getElementById("persona-meta").textContent = "persona " + p.index + " · " + data.context_id + " · " +
        data.stage + " evaluation " + data.evaluation_id;
      var table = document.getElementById("persona-position");
      table.textContent = "";
      data.axes.forEach(function (a, i) {
        var tr = document.createElement("tr");
        var th = document.createElement("th");
        th.textContent = a.name;
        var td = document.createElement("td");
        var v = p.position[i];
        td.textContent = (v === null ? "no answer" : v.toFixed(3)) + (a.low || a.high ? "   (0 = " + a.low + "; 1 = " + a.high + ")" : "");
        tr.appendChild(th); tr.appendChild(td); table.appendChild(tr);
      });
      var desc = document.getElementById("persona-description");
      desc.textContent = p.description !== null ? p.description :
        "The text of this persona was not stored (texts are kept for validation, test and elite evaluations). Its answers placed it as above.";
      var dl = document.getElementById("persona-fields");
      dl.textContent = "";
      Object.keys(p.fields || {}).forEach(function (k) {
        var dt = document.createElement("dt"); dt.textContent = k;
        var dd = document.createElement("dd"); dd.textContent = String(p.fields[k]);
        dl.appendChild(dt); dl.appendChild(dd);
      });
    }

    xs.addEventListener("change", draw);
    ys.addEventListener("change", draw);
    draw();
    el.on("plotly_click", function (ev) {
      var pt = ev && ev.points && ev.points[0];
      if (pt && typeof pt.customdata === "number") { show(pt.customdata); }
    });
    Array.prototype.forEach.call(document.querySelectorAll(".persona-pick"), function (b) {
      b.addEventListener("click", function () { show(parseInt(b.dataset.index, 10)); });
    });
  }

  // ------------------------------------------------------------------ live updates
  function setupLive() {
    var body = document.body;
    var url = body.dataset.statusUrl;
    if (!url || body.dataset.live === "off") { return; }
    var version = body.dataset.version;
    var every = parseInt(body.dataset.pollMs, 10) || 3000;
    var loadedAt = Date.now();
    var toggle = document.getElementById("live-toggle");
    var key = "pe-view-live";
    if (toggle) {
      toggle.checked = window.localStorage.getItem(key) !== "off";
      toggle.addEventListener("change", function () { window.localStorage.setItem(key, toggle.checked ? "on" : "off"); });
    }
    function tick() {
      fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
        return r.ok ? r.json() : null;
      }).then(function (s) {
        if (!s) { return; }
        var st = document.getElementById("live-status");
        if (st) { st.textContent = s.status; st.className = "status status-" + s.status; }
        var ev = document.getElementById("live-evals");
        if (ev) { ev.textContent = String(s.proposal_evaluations); }
        if (s.version !== version) {
          var on = !toggle || toggle.checked;
          if (body.dataset.live === "reload" && on && Date.now() - loadedAt > Math.min(4000, 2 * every)) {
            window.location.reload();
            return;
          }
          var notice = document.getElementById("live-notice");
          if (notice) { notice.hidden = false; }
        }
      }).catch(function () { /* viewer stopped: try again later */ }).then(function () {
        window.setTimeout(tick, every);
      });
    }
    window.setTimeout(tick, every);
    var reload = document.getElementById("live-reload");
    if (reload) { reload.addEventListener("click", function (e) { e.preventDefault(); window.location.reload(); }); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawFigures();
    setupScatter();
    setupLive();
  });
})();
