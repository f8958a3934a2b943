/* genomesh portal: an analysis page.
 *
 * Two jobs, both driven by data-* attributes the server wrote (no inline script: the
 * content-security policy forbids them):
 *  - progress: while the task runs, poll its status JSON (data-status-url) and update the
 *    progress bar and the per-node list; reload the page once it has finished, so the
 *    server renders the results;
 *  - plots: fetch the figure JSON (data-plots-url) and draw the Manhattan and QQ plots with
 *    plotly.js (served from the installed plotly wheel). Hovering a point shows its variant;
 *    clicking it fetches that variant's row (data-row-url) and shows it above the table, and
 *    highlights the row in the table when it is one of the top hits.
 */
(function () {
  "use strict";

  var root = document.getElementById("analysis");
  if (!root) {
    return;
  }

  function getJSON(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      return response.json().then(
        function (body) {
          if (!response.ok) {
            throw new Error((body && (body.message || body.detail)) || response.statusText);
          }
          return body;
        },
        function () {
          throw new Error("the server answered " + response.status);
        }
      );
    });
  }

  function say(id, text) {
    var node = document.getElementById(id);
    if (node) {
      node.textContent = text;
    }
  }

  /* ---------------------------------------------------------------- progress */
  var statusUrl = root.getAttribute("data-status-url");
  var active = root.getAttribute("data-state") === "queued" || root.getAttribute("data-state") === "running";

  function showNodes(nodes) {
    var list = document.getElementById("node-status");
    if (!list || !nodes) {
      return;
    }
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    Object.keys(nodes).sort().forEach(function (name) {
      var item = document.createElement("li");
      var info = nodes[name] || {};
      var text = name + ": " + (info.status || "queued");
      if (typeof info.round === "number") {
        text += " (round " + (info.round + 1) + ")";
      }
      if (info.reason) {
        text += " - " + info.reason;
      }
      item.textContent = text;
      list.appendChild(item);
    });
  }

  function poll() {
    getJSON(statusUrl).then(
      function (task) {
        var bar = document.getElementById("progress");
        var progress = task.progress || {};
        if (bar) {
          bar.value = progress.fraction || 0;
        }
        say(
          "progress-text",
          task.state + ": round " + (progress.rounds_done || 0) + " of " + (progress.rounds_expected || 1)
        );
        showNodes(task.nodes);
        if (task.state === "queued" || task.state === "running") {
          window.setTimeout(poll, 1000);
        } else {
          say("progress-text", "finished: " + task.state + "; loading the result");
          window.location.reload();
        }
      },
      function (error) {
        say("progress-text", "could not read the progress (" + error.message + "); retrying");
        window.setTimeout(poll, 3000);
      }
    );
  }

  if (statusUrl && active) {
    window.setTimeout(poll, 500);
  }

  /* ---------------------------------------------------------------- plots */
  var plotsUrl = root.getAttribute("data-plots-url");
  var rowUrl = root.getAttribute("data-row-url");
  var config = { responsive: false, displaylogo: false, scrollZoom: false };

  function highlight(variant) {
    var previous = document.querySelectorAll("tr.selected");
    Array.prototype.forEach.call(previous, function (tr) {
      tr.classList.remove("selected");
      tr.removeAttribute("aria-current");
    });
    var rows = document.querySelectorAll("#top-hits tr[data-variant]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-variant") === variant) {
        rows[i].classList.add("selected");
        rows[i].setAttribute("aria-current", "true");
        return rows[i];
      }
    }
    return null;
  }

  function showRow(variant) {
    var panel = document.getElementById("selected");
    var body = document.getElementById("selected-row");
    if (!panel || !body || !rowUrl) {
      return;
    }
    var url = rowUrl + (rowUrl.indexOf("?") < 0 ? "?" : "&") + "variant=" + encodeURIComponent(variant);
    getJSON(url).then(
      function (answer) {
        while (body.firstChild) {
          body.removeChild(body.firstChild);
        }
        (answer.columns || Object.keys(answer.row)).forEach(function (column) {
          var tr = document.createElement("tr");
          var th = document.createElement("th");
          th.scope = "row";
          th.textContent = column;
          var td = document.createElement("td");
          var value = answer.row[column];
          td.textContent = value === null || value === undefined ? "NA" : String(value);
          tr.appendChild(th);
          tr.appendChild(td);
          body.appendChild(tr);
        });
        say("selected-title", "Selected variant " + variant);
        panel.hidden = false;
        var inTable = highlight(variant);
        say("selected-in-table", inTable ? "It is highlighted in the table of top hits below." : "It is not among the top hits listed below.");
        panel.focus();
      },
      function (error) {
        say("selected-title", "Could not load variant " + variant + ": " + error.message);
        panel.hidden = false;
      }
    );
  }

  function draw(id, figure, clickable) {
    var div = document.getElementById(id);
    if (!div || !window.Plotly) {
      return null;
    }
    return window.Plotly.newPlot(div, figure.data, figure.layout, config).then(function (gd) {
      if (clickable) {
        gd.on("plotly_click", function (event) {
          var point = event && event.points && event.points[0];
          if (point && point.customdata) {
            showRow(String(point.customdata[0]));
          }
        });
      }
      if (window.ResizeObserver) {
        // follow the container (a rotated phone, a narrower window) at once
        new window.ResizeObserver(function () {
          window.Plotly.Plots.resize(gd);
        }).observe(div);
      }
      div.setAttribute("data-ready", "true");
      return gd;
    });
  }

  if (plotsUrl) {
    getJSON(plotsUrl).then(
      function (payload) {
        var s = payload.summary || {};
        say(
          "plot-summary",
          (s.tested || 0) + " variants tested, " + (s.drawn || 0) + " drawn, " + (s.significant || 0) +
            " below P = " + (s.threshold || 5e-8) +
            (typeof s.lambda_gc === "number" ? "; genomic inflation λGC = " + s.lambda_gc.toFixed(3) : "")
        );
        draw("manhattan", payload.manhattan, true);
        draw("qq", payload.qq, false);
      },
      function (error) {
        say("plot-summary", "Could not load the plots: " + error.message);
      }
    );
  }

  /* keyboard and pointer: a "show" button in each table row does what a click on the plot does */
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target && target.matches && target.matches("button[data-show-variant]")) {
      showRow(target.getAttribute("data-show-variant"));
    }
  });
})();
