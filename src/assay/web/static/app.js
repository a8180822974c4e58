// assay web: keyboard shortcuts on the review page, and "select all" for bulk actions.
// Number keys relabel to the class with that key, k keep, r remove, n next, u undo.
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function press(selector) {
    var el = document.querySelector(selector);
    if (!el) { return false; }
    if (el.tagName === "A") { window.location.assign(el.href); } else { el.click(); }
    return true;
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var key = event.key;
    var done = false;
    if (/^[0-9]$/.test(key)) {
      done = press('#decide button[data-key="' + key + '"]');
    } else if (key === "k") {
      done = press("#keep");
    } else if (key === "r") {
      done = press("#remove");
    } else if (key === "n") {
      done = press("#next");
    } else if (key === "u") {
      var undo = document.getElementById("undo");
      if (undo) { undo.submit(); done = true; }
    }
    if (done) { event.preventDefault(); }
  }

  function guardEnter(event) {
    // Enter in the note field must not submit the first class button by accident.
    if (event.key === "Enter") { event.preventDefault(); }
  }

  function once(form) {
    // A second key press before the page changes must not post the decision twice.
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector(".review")) { document.addEventListener("keydown", onKey); }
    var note = document.getElementById("note");
    if (note) { note.addEventListener("keydown", guardEnter); }
    var decide = document.getElementById("decide");
    if (decide) { once(decide); }
    var all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", function () {
        var boxes = document.querySelectorAll('#bulk input[name="entries[]"]');
        for (var i = 0; i < boxes.length; i++) { boxes[i].checked = all.checked; }
      });
    }
  });
}());
