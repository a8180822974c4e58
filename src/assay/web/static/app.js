// assay web: keyboard shortcuts on the review page, and "select all" for bulk actions.
// Number keys pick the class (or toggle the nth label of a set, or start typing a
// number), Enter accepts what the widget holds (the suggestion unless changed),
// k keep, r remove, n next, u undo; Esc leaves a text field.
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    if (tag === "INPUT") { return target.type !== "checkbox" && target.type !== "radio"; }
    return tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function press(selector) {
    var el = document.querySelector(selector);
    if (!el) { return false; }
    if (el.tagName === "A") { window.location.assign(el.href); } else { el.click(); }
    return true;
  }

  function typeInto(key) {
    // The number widget: a digit, minus or point starts a new value in its field.
    var field = document.querySelector("#decide input[data-type-into]");
    if (!field) { return false; }
    field.focus();
    field.value = key;
    return true;
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var key = event.key;
    var done = false;
    if (/^[0-9]$/.test(key)) {
      done = press('#decide [data-key="' + key + '"]') || typeInto(key);
    } else if (key === "-" || key === ".") {
      done = typeInto(key);
    } else if (key === "Enter") {
      done = press("#accept");
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

  function leaveOnEscape(event) {
    if (event.key === "Escape") { event.target.blur(); }
  }

  function once(form) {
    // A second key press before the page changes must not post the decision twice.
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
    });
  }

  function names(list) {
    var out = [];
    for (var i = 0; i < list.length; i++) { out.push(list[i]); }
    return out.join(", ");
  }

  function showChanges(toggles, changes) {
    // Each label keeps, adds or removes against the given set; say so in words too.
    var added = [], removed = [];
    for (var i = 0; i < toggles.length; i++) {
      var chip = toggles[i], box = chip.querySelector("input");
      var given = chip.dataset.given === "1";
      var state = box.checked ? (given ? "kept" : "added") : (given ? "removed" : "off");
      chip.className = "chip toggle " + state;
      chip.dataset.state = state;
      if (state === "added") { added.push(box.value); }
      if (state === "removed") { removed.push(box.value); }
    }
    changes.textContent = "";
    if (!added.length && !removed.length) { changes.textContent = "same as the given set"; return; }
    if (added.length) {
      changes.appendChild(document.createTextNode("adds "));
      changes.appendChild(document.createElement("ins")).textContent = names(added);
    }
    if (added.length && removed.length) { changes.appendChild(document.createTextNode(" · ")); }
    if (removed.length) {
      changes.appendChild(document.createTextNode("removes "));
      changes.appendChild(document.createElement("del")).textContent = names(removed);
    }
  }

  function tags(container) {
    var toggles = container.querySelectorAll("label.toggle");
    var changes = document.getElementById("changes");
    container.addEventListener("change", function () { showChanges(toggles, changes); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector(".review")) { document.addEventListener("keydown", onKey); }
    var note = document.getElementById("note");
    if (note) { note.addEventListener("keydown", guardEnter); }
    var field = document.querySelector("#decide input[data-type-into]");
    if (field) { field.addEventListener("keydown", leaveOnEscape); }
    var decide = document.getElementById("decide");
    if (decide) { once(decide); }
    var toggles = document.getElementById("tags");
    if (toggles) { tags(toggles); }
    var all = document.getElementById("select-all");
    if (all) {
      all.addEventListener("change", function () {
        var boxes = document.querySelectorAll('#bulk input[name="entries[]"]');
        for (var i = 0; i < boxes.length; i++) { boxes[i].checked = all.checked; }
      });
    }
  });
}());
