// assay web: the transcript review widget (templates/widgets/transcript.html). Outside
// the text field: space or k plays and pauses the clip, the arrows seek 2 s, a accepts
// the suggestion (relabels to it at once), e puts the cursor in the field, K (shift)
// keeps the given transcript. In the field: Enter or Ctrl+Enter relabels to its text
// (Shift+Enter is a new line), Esc leaves it. The word differences between the given
// and the suggested transcript are aligned and marked by the server; this script says
// whether the edited text still equals the given one. Its handler runs before app.js's
// (capture phase), so k plays here instead of keeping.
(function () {
  "use strict";

  var SEEK = 2;  // seconds per arrow key

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "TEXTAREA" || tag === "INPUT" || tag === "SELECT" ||
      (target && target.isContentEditable);
  }

  function words(text) {
    return text.split(/\s+/).filter(function (w) { return w.length > 0; }).join(" ");
  }

  function Transcript(root) {
    this.root = root;
    this.audio = document.getElementById("transcript-audio");
    this.field = document.getElementById("relabel");
    this.state = document.getElementById("edit-state");
    this.play = document.getElementById("play");
    this.given = root.getAttribute("data-given") || "";
    this.suggested = root.getAttribute("data-has-suggestion") === "1" ?
      root.getAttribute("data-suggested") : null;
  }

  Transcript.prototype.toggle = function () {
    var a = this.audio;
    if (!a) { return; }
    if (a.paused || a.ended) {
      var played = a.play();
      if (played && played.catch) { played.catch(function () {}); }
    } else {
      a.pause();
    }
  };

  Transcript.prototype.seek = function (delta) {
    var a = this.audio;
    if (!a) { return; }
    var end = isFinite(a.duration) ? a.duration : a.currentTime + Math.max(delta, 0);
    a.currentTime = Math.min(Math.max(a.currentTime + delta, 0), end);
  };

  Transcript.prototype.showState = function () {
    var now = words(this.field.value);
    var text = "edited: differs from the given transcript";
    if (now === words(this.given)) { text = "same as the given transcript"; }
    else if (this.suggested !== null && now === words(this.suggested)) { text = "the suggested transcript"; }
    else if (!now) { text = "empty: a transcript needs words"; }
    this.state.textContent = text;
  };

  Transcript.prototype.submit = function () {
    var accept = document.getElementById("accept");
    if (accept) { accept.click(); }
  };

  Transcript.prototype.acceptSuggestion = function () {
    if (this.suggested === null) { return false; }
    this.field.value = this.suggested;
    this.submit();
    return true;
  };

  Transcript.prototype.edit = function () {
    this.field.focus();
    var end = this.field.value.length;
    this.field.setSelectionRange(end, end);
  };

  Transcript.prototype.onFieldKey = function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.altKey) {
      event.preventDefault();
      this.submit();
    } else if (event.key === "Escape") {
      this.field.blur();
    }
  };

  Transcript.prototype.onKey = function (event) {
    if (event.metaKey || event.altKey || typing(event.target)) { return; }
    var key = event.key, done = true;
    if (event.ctrlKey) {
      done = key === "Enter" && (this.submit(), true);
    } else if (key === " " || key === "k") {
      this.toggle();
    } else if (key === "ArrowLeft") {
      this.seek(-SEEK);
    } else if (key === "ArrowRight") {
      this.seek(SEEK);
    } else if (key === "a") {
      done = this.acceptSuggestion();
    } else if (key === "e") {
      this.edit();
    } else if (key === "K") {
      var keep = document.getElementById("keep");
      done = !!keep && (keep.click(), true);
    } else {
      done = false;
    }
    if (done) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  };

  Transcript.prototype.bind = function () {
    var self = this;
    window.addEventListener("keydown", function (e) { self.onKey(e); }, true);
    this.field.addEventListener("keydown", function (e) { self.onFieldKey(e); });
    this.field.addEventListener("input", function () { self.showState(); });
    if (this.play) { this.play.addEventListener("click", function () { self.toggle(); }); }
    var suggestion = document.getElementById("accept-suggestion");
    if (suggestion) { suggestion.addEventListener("click", function () { self.acceptSuggestion(); }); }
    if (this.audio && this.play) {
      var label = function () {
        self.play.lastChild.textContent = self.audio.paused ? " play" : " pause";
      };
      this.audio.addEventListener("play", label);
      this.audio.addEventListener("pause", label);
    }
    this.showState();
  };

  var root = document.getElementById("transcript-widget");
  if (root) {
    window.assayTranscript = new Transcript(root);
    window.assayTranscript.bind();
  }
}());
