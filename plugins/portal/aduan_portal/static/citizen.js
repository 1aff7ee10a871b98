/* portal-citizen: comfort only; every page works without it.
   - the QR code opens /portal/track/<id>#code=...: the fragment never reaches the server; copy it
     into the access-code field and remove it from the address bar;
   - copy and print buttons on the confirmation page;
   - region search box on the filing form (GET /portal/regions.json?q=);
   - optional map pin (Leaflet, shipped with the plugin, loaded only when asked for). */
(function () {
  "use strict";
  var $ = function (sel) { return document.querySelector(sel); };

  // 1. access code from the QR code's fragment
  var m = /^#code=([A-Za-z0-9-]{4,64})$/.exec(location.hash);
  var codeField = $("#access_code");
  if (m && codeField) {
    codeField.value = m[1];
    history.replaceState(null, "", location.pathname + location.search);
    codeField.focus();
  }

  // 2. copy and print
  var copy = $("button.copy");
  if (copy && navigator.clipboard) {
    copy.hidden = false;
    copy.addEventListener("click", function () {
      navigator.clipboard.writeText(copy.getAttribute("data-copy")).then(function () {
        var out = $(".copied");
        if (out) { out.textContent = "\u2713"; }
      });
    });
  }
  var print = $("button.print");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () { window.print(); });
  }

  // 3. region search
  var box = $("#region-search");
  if (box) {
    box.hidden = false;
    var input = $("#region-q"), list = $("#region-results"), found = $("#region-found"), pick = $("#region-pick");
    var timer = null;
    var choose = function (item) {
      pick.value = item.code;
      input.value = item.label;
      list.textContent = "";
      found.textContent = item.label;
      document.querySelectorAll(".region-level select").forEach(function (s) { s.disabled = true; });
    };
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { list.textContent = ""; return; }
      timer = setTimeout(function () {
        fetch(box.getAttribute("data-url") + "?q=" + encodeURIComponent(q), {credentials: "same-origin"})
          .then(function (r) { return r.json(); })
          .then(function (items) {
            list.textContent = "";
            items.forEach(function (item) {
              var li = document.createElement("li"), b = document.createElement("button");
              b.type = "button";
              b.className = "link";
              b.textContent = item.label;
              b.addEventListener("click", function () { choose(item); });
              li.appendChild(b);
              list.appendChild(li);
            });
            found.textContent = items.length + " \u2026";
          });
      }, 250);
    });
  }

  // 4. map pin
  var open = $("#map-open"), map = $("#map");
  if (open && map && map.getAttribute("data-tile-url")) {
    open.hidden = false;
    open.addEventListener("click", function () {
      open.hidden = true;
      var css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = map.getAttribute("data-leaflet-css");
      document.head.appendChild(css);
      var s = document.createElement("script");
      s.src = map.getAttribute("data-leaflet");
      s.onload = function () {
        map.hidden = false;
        var lat = $("#lat"), lng = $("#lng");
        var start = [parseFloat(lat.value) || -8.58, parseFloat(lng.value) || 116.1];
        var L = window.L, view = L.map(map).setView(start, lat.value ? 16 : 9);
        L.tileLayer(map.getAttribute("data-tile-url"), {maxZoom: 19, attribution: "\u00a9 OpenStreetMap"}).addTo(view);
        var marker = null;
        var put = function (ll) {
          if (marker) { marker.setLatLng(ll); } else { marker = L.marker(ll).addTo(view); }
          lat.value = ll.lat.toFixed(6);
          lng.value = ll.lng.toFixed(6);
        };
        if (lat.value && lng.value) { put(L.latLng(start[0], start[1])); }
        view.on("click", function (e) { put(e.latlng); });
      };
      document.head.appendChild(s);
    });
  }
}());
