// The clinical-rules panel beside the CRS/ICANS, cycle and relapse forms, redrawn while the user types.
// No build step, no inline script (CSP script-src 'self'): the form names its rule routes in
// data-rules-urls; each change posts the form's fields to the route and draws the panel it answers with
// the markup of templates/_rules_panel.html. Without JavaScript the "Check" button does the same on the
// server.
(function () {
  "use strict";

  var form = document.querySelector("form[data-rules-urls]");
  var slot = document.getElementById("rules-panel");
  if (!form || !slot || !window.fetch) {
    return;
  }
  var urls = JSON.parse(form.getAttribute("data-rules-urls"));
  var recordType = form.getAttribute("data-record-type");
  var tokenInput = form.querySelector("input[name=csrf_token]");
  var timer = null;
  var sent = 0;

  function routeUrl() {
    if (urls.cycle) { return urls.cycle; }
    if (urls.relapse) { return urls.relapse; }
    var term = form.elements.term ? form.elements.term.value : "";
    return urls[term] || null;
  }

  function fields() {
    var out = {};
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && name !== "csrf_token" && !(name in out)) {
        out[name] = value;
      }
    });
    return out;
  }

  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function draw(panel) {
    var parts = [element("h2", panel.title, "panel-title")];
    var headline = element("p", panel.headline, "headline status-" + panel.status);
    headline.setAttribute("data-status", panel.status);
    parts.push(headline);
    if (panel.lines.length) {
      var list = element("dl", null, "panel-lines");
      panel.lines.forEach(function (line) {
        list.appendChild(element("dt", line[0]));
        list.appendChild(element("dd", line[1]));
      });
      parts.push(list);
    }
    panel.tables.forEach(function (t) {
      var table = element("table", null, "grid compact");
      table.appendChild(element("caption", t.caption));
      var head = element("tr");
      t.headers.forEach(function (h) {
        var th = element("th", h);
        th.setAttribute("scope", "col");
        head.appendChild(th);
      });
      table.appendChild(element("thead")).appendChild(head);
      var body = table.appendChild(element("tbody"));
      t.rows.forEach(function (row, i) {
        var tr = element("tr", null, t.row_classes[i] || null);
        row.forEach(function (cell) { tr.appendChild(element("td", cell)); });
        body.appendChild(tr);
      });
      parts.push(table);
    });
    if (panel.notes.length) {
      var notes = element("ul", null, "panel-notes");
      panel.notes.forEach(function (n) { notes.appendChild(element("li", n)); });
      parts.push(notes);
    }
    if (panel.sources.length) {
      parts.push(element("p", "Source: " + panel.sources.join("; "), "panel-sources"));
    }
    slot.replaceChildren.apply(slot, parts);
  }

  function notGraded() {
    return {
      title: "Computed grade", headline: "No computed grade", status: "info", lines: [], tables: [],
      notes: ["ASTCT grades are computed for CRS and ICANS; this term is graded as recorded."], sources: []
    };
  }

  function refresh() {
    var url = routeUrl();
    var mine = ++sent;
    if (!url) { draw(notGraded()); return; }
    slot.setAttribute("aria-busy", "true");
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": tokenInput ? tokenInput.value : "" },
      body: JSON.stringify({ record_type: recordType, fields: fields() })
    }).then(function (answer) {
      return answer.ok ? answer.json() : null;
    }).then(function (panel) {
      if (panel && mine === sent) { draw(panel); }
    }).catch(function () {
      // The server-side "Check" button still works; the panel keeps what it showed.
    }).then(function () {
      if (mine === sent) { slot.removeAttribute("aria-busy"); }
    });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 250);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
})();
