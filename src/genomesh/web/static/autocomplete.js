// Ontology autocomplete for filter fields: fills the field's <datalist> with the terms the
// federation publishes at /filtering_terms (Beacon v2), e.g. "HP:0001627 Abnormal heart
// morphology". The browser's own datalist does the keyboard navigation and matching.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[data-terms-url][list]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    if (!list) { return; }
    fetch(input.getAttribute("data-terms-url"), { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { response: { filteringTerms: [] } }; })
      .then(function (body) {
        var terms = ((body || {}).response || {}).filteringTerms || [];
        var seen = {};
        terms.forEach(function (t) {
          if (!t || !t.id || seen[t.id] || t.type === "alphanumeric") { return; }
          seen[t.id] = true;
          var option = document.createElement("option");
          option.value = t.id + (t.label ? " " + t.label : "");
          list.appendChild(option);
        });
        input.setAttribute("data-terms-loaded", String(list.options.length));
      })
      .catch(function () { input.setAttribute("data-terms-loaded", "0"); });
  });
});
