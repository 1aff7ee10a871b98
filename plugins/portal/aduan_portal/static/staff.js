/* aduan portal, staff pages: choosing a response template fills the answer box (without
   JavaScript the "Use template" button does the same on the server). No inline script (CSP). */
(function () {
  "use strict";
  document.querySelectorAll("select.template-select").forEach(function (sel) {
    var target = document.getElementById(sel.getAttribute("data-target"));
    if (!target) { return; }
    var btn = sel.parentNode.querySelector("button[name=use_template]");
    if (btn) { btn.hidden = true; }
    sel.addEventListener("change", function () {
      var opt = sel.options[sel.selectedIndex];
      var body = opt && opt.getAttribute("data-body");
      if (!body) { return; }
      if (target.value.trim() && !window.confirm(sel.getAttribute("data-confirm") || "Replace the text?")) { return; }
      target.value = body;
      target.focus();
    });
  });
}());
