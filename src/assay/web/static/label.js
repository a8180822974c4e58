// assay web: the labeling and adjudication pages, and the live agreement page.
// Labeling: a class's number (1-9) or its first letter selects it, Enter submits,
// s skips, u marks the label unsure and moves to the note; Esc leaves a text field.
// A free-text label (a transcript) is typed in its field; Enter submits it too.
// Agreement: the page asks for its body again every few seconds and swaps it in
// when the labels behind it changed (no websockets).
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    if (tag === "INPUT") { return target.type !== "checkbox" && target.type !== "radio"; }
    return tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function choose(form, key) {
    var radio = form.querySelector('input[name="label"][data-keys~="' + key + '"]');
    if (!radio) { return false; }
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  function send(form, skip) {
    if (form.dataset.sent) { return; }
    var chosen = form.querySelector('input[name="label"]:checked, [data-free-text]');
    if (!skip && (!chosen || (chosen.dataset.freeText !== undefined && !chosen.value.trim()))) {
      var hint = document.getElementById("hint");
      if (hint) { hint.textContent = "choose a class first (its number or letter), or s to skip"; }
      return;
    }
    var skipField = form.querySelector('input[name="skip"]');
    if (skipField) { skipField.value = skip ? "1" : ""; }
    form.dataset.sent = "1";
    HTMLFormElement.prototype.submit.call(form);  // a field named "submit" hides form.submit
  }

  function toggleUnsure(form) {
    var box = form.querySelector('input[name="unsure"]');
    if (!box) { return; }
    box.checked = !box.checked;
    var note = form.querySelector('input[name="note"]');
    if (box.checked && note) { note.focus(); }
  }

  function onKey(form, event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var key = event.key;
    if (typing(event.target)) {
      if (key === "Enter") { event.preventDefault(); send(form, false); }
      if (key === "Escape") { event.target.blur(); }
      return;
    }
    var done = true;
    if (key === "Enter") { send(form, false); }
    else if (key === "s" && form.querySelector('input[name="skip"]')) { send(form, true); }
    else if (key === "u" && form.querySelector('input[name="unsure"]')) { toggleUnsure(form); }
    else if (key.length === 1) { done = choose(form, key.toLowerCase()); }
    else { done = false; }
    if (done) { event.preventDefault(); }
  }

  function labeling(form) {
    document.addEventListener("keydown", function (event) { onKey(form, event); });
    form.addEventListener("submit", function (event) {
      // A second Enter before the next item arrives must not post the label twice.
      if (form.dataset.posted) { event.preventDefault(); return; }
      form.dataset.posted = "1";
    });
    var skip = form.querySelector("button[data-skip]");
    if (skip) {
      skip.addEventListener("click", function (event) { event.preventDefault(); send(form, true); });
    }
    var text = form.querySelector("[data-free-text]");
    if (text && !text.value) { text.focus(); }
  }

  function openDetails(root) {
    var out = [];
    var all = root.querySelectorAll("details[id]");
    for (var i = 0; i < all.length; i++) { if (all[i].open) { out.push(all[i].id); } }
    return out;
  }

  function poll(live) {
    var seconds = Number(live.dataset.every || "3");
    function tick() {
      if (document.hidden) {  // a tab in the background asks again when it is looked at
        window.setTimeout(tick, seconds * 1000);
        return;
      }
      fetch(live.dataset.live, { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) { return; }
          var next = document.createElement("div");
          next.innerHTML = html;
          var body = next.querySelector("[data-stamp]");
          var current = live.querySelector("[data-stamp]");
          if (!body || (current && body.dataset.stamp === current.dataset.stamp)) { return; }
          var open = openDetails(live);
          live.replaceChildren(body);
          for (var i = 0; i < open.length; i++) {
            var d = document.getElementById(open[i]);
            if (d) { d.open = true; }
          }
          live.dataset.updated = String(Number(live.dataset.updated || "0") + 1);
        })
        .catch(function () { /* the next tick tries again */ })
        .then(function () { window.setTimeout(tick, seconds * 1000); });
    }
    window.setTimeout(tick, seconds * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("label-form");
    if (form) { labeling(form); }
    var live = document.querySelector("[data-live]");
    if (live) { poll(live); }
  });
}());
