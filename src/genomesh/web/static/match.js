/* genomesh portal: HPO type-ahead on the matchmaking form.
 *
 * Progressive enhancement: without this script the form still works (type HPO ids into the
 * textarea). With it, a search field appears whose suggestions (a native <datalist>, so the
 * keyboard and screen readers handle them) come from the portal's HPO endpoint
 * (data-hpo-url); "Add term" (or Enter) appends the chosen "HP:NNNNNNN Name" line to the
 * phenotype field. No inline script: the content-security policy forbids it.
 */
(function () {
  "use strict";

  var form = document.getElementById("match-form");
  if (!form) {
    return;
  }
  var url = form.getAttribute("data-hpo-url");
  var box = form.querySelector(".hpo-search");
  var input = document.getElementById("hpo-search");
  var list = document.getElementById("hpo-options");
  var add = document.getElementById("hpo-add");
  var target = document.getElementById("features");
  var status = document.getElementById("hpo-status");
  if (!url || !box || !input || !list || !add || !target) {
    return;
  }
  box.hidden = false;

  var timer = null;
  var latest = "";

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  function fill(terms) {
    while (list.firstChild) {
      list.removeChild(list.firstChild);
    }
    terms.forEach(function (term) {
      var option = document.createElement("option");
      option.value = term.id + " " + term.label;
      list.appendChild(option);
    });
    say(terms.length ? terms.length + " suggestion" + (terms.length === 1 ? "" : "s") : "no HPO term matches");
  }

  function suggest() {
    var text = input.value.trim();
    if (text.length < 2 || /^HP:\d{7} /.test(text)) {
      return;
    }
    latest = text;
    fetch(url + "?q=" + encodeURIComponent(text), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        return response.json();
      })
      .then(function (body) {
        if (latest === text && body && body.terms) {
          fill(body.terms);
        }
      })
      .catch(function () {
        say("suggestions are not available; type HPO ids into the field below");
      });
  }

  function addTerm() {
    var text = input.value.trim();
    var match = /^(HP:\d{7})\b\s*(.*)$/i.exec(text);
    if (!match) {
      say("choose a suggestion first (HP:NNNNNNN Name)");
      return;
    }
    var id = match[1].toUpperCase();
    var lines = target.value.split(/\n/).filter(function (line) {
      return line.trim() !== "";
    });
    if (lines.some(function (line) { return line.trim().toUpperCase().indexOf(id) === 0; })) {
      say(id + " is already listed");
    } else {
      lines.push(id + (match[2] ? " " + match[2] : ""));
      target.value = lines.join("\n") + "\n";
      say("added " + id + (match[2] ? " " + match[2] : ""));
    }
    input.value = "";
    input.focus();
  }

  input.addEventListener("input", function () {
    if (timer) {
      window.clearTimeout(timer);
    }
    timer = window.setTimeout(suggest, 200);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault(); // Enter adds the term instead of sending the whole form
      addTerm();
    }
  });
  add.addEventListener("click", addTerm);
})();
