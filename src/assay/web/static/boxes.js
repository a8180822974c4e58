// assay web: the boxes review widget (templates/widgets/boxes.html). The SVG over the
// image has the image's pixels as its viewBox, so boxes are drawn and edited in image
// pixels whatever the displayed size. Click or Tab selects a box (a digit selects box n
// while none is selected), digits 1-9 then set its class, Delete removes it, dragging
// its body moves it, its corners and edges resize it, dragging on empty image draws a
// new one (of the class in the picker), s starts over from the suggested boxes, Esc
// cancels the drag under way (else deselects). The set is kept, rounded to 0.1 px and
// clipped to the image, in the hidden relabel field that Enter (app.js) posts.
(function () {
  "use strict";

  var NS = "http://www.w3.org/2000/svg";
  var EDGES = ["tl", "t", "tr", "r", "br", "b", "bl", "l"];
  var MIN_DRAWN = 2;  // a drag shorter than this many screen pixels is a click

  function parse(el, name) {
    var text = el.getAttribute("data-" + name);
    return text ? JSON.parse(text) : null;
  }

  function round1(v) { return Math.round(v * 10) / 10; }
  function clamp(v, lo, hi) { return Math.min(Math.max(v, lo), hi); }

  function Widget(root) {
    this.root = root;
    this.svg = document.getElementById("boxes-svg");
    this.img = document.getElementById("boxes-image");
    this.field = document.getElementById("relabel");
    this.picker = document.getElementById("box-class");
    this.given = parse(root, "given") || [];
    this.suggested = parse(root, "suggested");
    this.names = parse(root, "names") || [];
    this.width = parseFloat(root.getAttribute("data-width")) || 0;
    this.height = parseFloat(root.getAttribute("data-height")) || 0;
    var given = this.given;
    this.boxes = (parse(root, "editing") || []).map(function (b) {
      return copy(b, sameIndex(given, b));
    });
    this.selected = -1;
    this.gesture = null;
  }

  function copy(b, orig) {
    return { label: b.label, x: b.x, y: b.y, w: b.w, h: b.h, orig: orig };
  }

  function sameIndex(list, b) {
    for (var i = 0; i < list.length; i++) {
      var g = list[i];
      if (g.label === b.label && g.x === b.x && g.y === b.y && g.w === b.w && g.h === b.h) {
        return i;
      }
    }
    return -1;
  }

  Widget.prototype.scale = function () {
    // Image pixels per screen pixel: keeps strokes, handles and text a readable size.
    var r = this.svg.getBoundingClientRect();
    return r.width ? this.width / r.width : 1;
  };

  Widget.prototype.point = function (event) {
    var r = this.svg.getBoundingClientRect();
    return {
      x: clamp((event.clientX - r.left) * this.width / r.width, 0, this.width),
      y: clamp((event.clientY - r.top) * this.height / r.height, 0, this.height),
    };
  };

  function node(parent, tag, attrs) {
    var el = document.createElementNS(NS, tag);
    for (var k in attrs) { if (Object.prototype.hasOwnProperty.call(attrs, k)) { el.setAttribute(k, attrs[k]); } }
    parent.appendChild(el);
    return el;
  }

  function rect(parent, b, cls, s) {
    return node(parent, "rect", { x: b.x, y: b.y, width: b.w, height: b.h, "class": cls,
      "stroke-width": 2 * s, "vector-effect": "none" });
  }

  function caption(parent, text, x, y, s) {
    var t = node(parent, "text", { x: x, y: y, "font-size": 14 * s, "stroke-width": 3 * s });
    t.textContent = text;
    return t;
  }

  Widget.prototype.render = function () {
    var svg = this.svg, s = this.scale(), focused = svg.contains(document.activeElement);
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    // An empty SVG does not take pointer events: a clear sheet over the image does.
    node(svg, "rect", { "class": "sheet", x: 0, y: 0, width: this.width, height: this.height });
    var i, b, g;
    for (i = 0; this.suggested && i < this.suggested.length; i++) {
      b = this.suggested[i];
      g = node(svg, "g", { "class": "suggested", "data-index": i });
      rect(g, b, "", s).setAttribute("stroke-dasharray", 6 * s + " " + 4 * s);
      caption(g, "suggested " + b.label, b.x + 3 * s, Math.min(b.y + b.h + 15 * s, this.height), s);
    }
    var placed = [];
    for (i = 0; i < this.boxes.length; i++) {
      b = this.boxes[i];
      g = node(svg, "g", { "class": "box" + (i === this.selected ? " selected" : ""),
        "data-index": i, tabindex: 0, role: "button",
        "aria-label": "box " + (i + 1) + " " + b.label });
      rect(g, b, "frame", s);
      this.place(b, caption(g, (i + 1) + " " + b.label, b.x, b.y, s), s, placed);
      if (i === this.selected) { this.handles(g, b, s); }
    }
    if (this.gesture && this.gesture.kind === "draw") {
      rect(svg, this.gesture.box, "drawing", s);
    }
    if (focused && this.selected >= 0) {
      var el = svg.querySelector('g.box[data-index="' + this.selected + '"]');
      if (el) { el.focus({ preventScroll: true }); }
    }
    this.sync();
  };

  // Where a box's caption goes: above the box, else inside it from the top down, then
  // below it, at its left and then its right edge; the first place that does not overlap
  // a caption already placed (crowded images), else above the box. Sizes are measured.
  Widget.prototype.place = function (b, t, s, placed) {
    var size = t.getBBox(), w = size.width + 2 * s, h = 16 * s, ys = [], xs, k, m;
    if (b.y > h + 2 * s) { ys.push(b.y - 4 * s); }
    for (k = 1; k * h < b.h; k++) { ys.push(b.y + k * h - s); }
    ys.push(Math.min(b.y + b.h + h, this.height));
    xs = [b.x + 3 * s, b.x + b.w - w].map(function (x) {
      return Math.max(0, Math.min(x, this.width - w));
    }, this);
    for (m = 0; m < xs.length; m++) {
      for (k = 0; k < ys.length; k++) {
        var box = { x0: xs[m], x1: xs[m] + w, y0: ys[k] - h + 2 * s, y1: ys[k] + 2 * s };
        var free = placed.every(function (p) {
          return box.x1 <= p.x0 || p.x1 <= box.x0 || box.y1 <= p.y0 || p.y1 <= box.y0;
        });
        if (free) {
          placed.push(box);
          t.setAttribute("x", xs[m]);
          t.setAttribute("y", ys[k]);
          return;
        }
      }
    }
    t.setAttribute("x", xs[0]);
    t.setAttribute("y", ys[0]);
  };

  Widget.prototype.handles = function (g, b, s) {
    var half = 5 * s;
    var xs = { l: b.x, c: b.x + b.w / 2, r: b.x + b.w };
    var ys = { t: b.y, c: b.y + b.h / 2, b: b.y + b.h };
    EDGES.forEach(function (edge) {
      var x = edge.indexOf("l") >= 0 ? xs.l : (edge.indexOf("r") >= 0 ? xs.r : xs.c);
      var y = edge.indexOf("t") >= 0 ? ys.t : (edge.indexOf("b") >= 0 ? ys.b : ys.c);
      node(g, "rect", { "class": "handle", "data-edge": edge, x: x - half, y: y - half,
        width: 2 * half, height: 2 * half, "stroke-width": 1.5 * s });
    });
  };

  Widget.prototype.label = function () {
    // The set as posted: image pixels, rounded to 0.1 px, clipped to the image.
    var W = this.width, H = this.height;
    return this.boxes.map(function (b) {
      var x0 = clamp(round1(b.x), 0, W), y0 = clamp(round1(b.y), 0, H);
      var x1 = clamp(round1(b.x + b.w), 0, W), y1 = clamp(round1(b.y + b.h), 0, H);
      return { label: b.label, x: x0, y: y0, w: round1(x1 - x0), h: round1(y1 - y0) };
    });
  };

  Widget.prototype.sync = function () {
    this.field.value = JSON.stringify(this.label());
    var chosen = document.getElementById("box-selected");
    var b = this.boxes[this.selected];
    chosen.textContent = b ? "box " + (this.selected + 1) + " (" + b.label + ") · x " + round1(b.x) +
      ", y " + round1(b.y) + ", " + round1(b.w) + " × " + round1(b.h) + " px" : "no box selected";
    if (b && this.picker.value !== b.label) { this.picker.value = b.label; }
    document.getElementById("box-changes").textContent = this.changes();
  };

  Widget.prototype.changes = function () {
    // How the set differs from the given boxes, each box followed from its origin.
    var kept = 0, added = 0, moved = 0, reclassed = 0, given = this.given;
    this.boxes.forEach(function (b) {
      if (b.orig < 0) { added++; return; }
      var g = given[b.orig];
      kept++;
      if (["x", "y", "w", "h"].some(function (k) { return Math.abs(g[k] - b[k]) >= 0.05; })) { moved++; }
      if (g.label !== b.label) { reclassed++; }
    });
    var parts = [];
    if (added) { parts.push(added + " added"); }
    if (given.length - kept) { parts.push((given.length - kept) + " removed"); }
    if (moved) { parts.push(moved + " moved"); }
    if (reclassed) { parts.push(reclassed + " class changed"); }
    var n = this.boxes.length + (this.boxes.length === 1 ? " box" : " boxes");
    return parts.length ? n + ": " + parts.join(", ") : n + ", same as the given boxes";
  };

  Widget.prototype.select = function (index) {
    this.selected = index;
    this.render();
  };

  Widget.prototype.start = function (event) {
    if (event.button !== 0 || !this.width) { return; }
    var p = this.point(event), target = event.target;
    var edge = target.getAttribute && target.getAttribute("data-edge");
    var g = target.closest ? target.closest("g.box") : null;
    var snapshot = JSON.stringify(this.boxes);
    if (edge && this.selected >= 0) {
      this.gesture = { kind: "resize", edge: edge, from: p, box: copy(this.boxes[this.selected]), snapshot: snapshot };
    } else if (g) {
      this.selected = parseInt(g.getAttribute("data-index"), 10);
      this.gesture = { kind: "move", from: p, box: copy(this.boxes[this.selected]), snapshot: snapshot };
    } else {
      this.selected = -1;
      this.gesture = { kind: "draw", from: p, box: { x: p.x, y: p.y, w: 0, h: 0 }, snapshot: snapshot };
    }
    this.svg.setPointerCapture(event.pointerId);
    event.preventDefault();
    this.render();
  };

  Widget.prototype.drag = function (event) {
    var gst = this.gesture;
    if (!gst) { return; }
    var p = this.point(event), dx = p.x - gst.from.x, dy = p.y - gst.from.y, b0 = gst.box;
    if (gst.kind === "draw") {
      gst.box = { x: Math.min(p.x, gst.from.x), y: Math.min(p.y, gst.from.y),
        w: Math.abs(dx), h: Math.abs(dy) };
    } else if (gst.kind === "move") {
      var b = this.boxes[this.selected];
      b.x = clamp(b0.x + dx, 0, this.width - b0.w);
      b.y = clamp(b0.y + dy, 0, this.height - b0.h);
    } else {
      this.resize(gst.edge, b0, dx, dy);
    }
    this.render();
  };

  Widget.prototype.resize = function (edge, b0, dx, dy) {
    var x0 = b0.x, y0 = b0.y, x1 = b0.x + b0.w, y1 = b0.y + b0.h;
    if (edge.indexOf("l") >= 0) { x0 = clamp(x0 + dx, 0, this.width); }
    if (edge.indexOf("r") >= 0) { x1 = clamp(x1 + dx, 0, this.width); }
    if (edge.indexOf("t") >= 0) { y0 = clamp(y0 + dy, 0, this.height); }
    if (edge.indexOf("b") >= 0) { y1 = clamp(y1 + dy, 0, this.height); }
    var b = this.boxes[this.selected];
    b.x = Math.min(x0, x1); b.y = Math.min(y0, y1);
    b.w = Math.abs(x1 - x0); b.h = Math.abs(y1 - y0);
  };

  Widget.prototype.end = function () {
    var gst = this.gesture;
    if (!gst) { return; }
    this.gesture = null;
    var s = this.scale();
    if (gst.kind === "draw" && gst.box.w >= MIN_DRAWN * s && gst.box.h >= MIN_DRAWN * s) {
      var b = copy(gst.box, -1);
      b.label = this.picker.value || this.names[0] || "object";
      this.boxes.push(b);
      this.selected = this.boxes.length - 1;
    }
    this.render();
  };

  Widget.prototype.cancel = function () {
    if (this.gesture) {
      this.boxes = JSON.parse(this.gesture.snapshot);
      this.gesture = null;
    } else {
      this.selected = -1;
    }
    this.render();
  };

  Widget.prototype.relabel = function (name) {
    if (this.selected < 0 || !name) { return; }
    this.boxes[this.selected].label = name;
    this.render();
  };

  // Numbers: a class (a box selected) or a box (none selected). With 10 or more to
  // choose from, a digit that can start a two-digit number waits TWO_KEYS ms for a
  // second one: 1 then 2 = number 12; 1 alone = 1 once the wait is over.
  var TWO_KEYS = 700;

  Widget.prototype.pick = function (number) {
    var n = number - 1;
    if (this.selected >= 0) {
      if (n >= 0 && n < this.names.length) { this.relabel(this.names[n]); }
    } else if (n >= 0 && n < this.boxes.length) {
      this.select(n);
    }
  };

  Widget.prototype.digit = function (d) {
    var self = this, count = this.selected >= 0 ? this.names.length : this.boxes.length;
    if (this.pending !== null && this.pending !== undefined) {
      var first = this.pending;
      clearTimeout(this.pendingTimer);
      this.pending = null;
      this.pick(first * 10 + d);
      return;
    }
    if (d === 0) { return; }
    if (count >= 10 && d * 10 <= count) {
      this.pending = d;
      this.pendingTimer = setTimeout(function () {
        self.pending = null;
        self.pick(d);
      }, TWO_KEYS);
      return;
    }
    this.pick(d);
  };

  Widget.prototype.onKey = function (event) {
    var tag = event.target && event.target.tagName;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if ((tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") && event.key !== "Escape") { return; }
    var key = event.key, done = true;
    if (key === "Delete" || key === "Backspace") {
      if (this.selected >= 0) {
        this.boxes.splice(this.selected, 1);
        this.selected = Math.min(this.selected, this.boxes.length - 1);
        this.render();
      }
    } else if (/^[0-9]$/.test(key)) {
      this.digit(parseInt(key, 10));
    } else if (key === "Escape" && (this.gesture || this.selected >= 0)) {
      this.cancel();
    } else if (key === "s" && this.suggested) {
      this.boxes = this.suggested.map(function (b) { return copy(b, -1); });
      this.selected = -1;
      this.render();
    } else {
      done = false;
    }
    if (done) { event.preventDefault(); event.stopPropagation(); }
  };

  Widget.prototype.bind = function () {
    var self = this;
    this.svg.addEventListener("pointerdown", function (e) { self.start(e); });
    this.svg.addEventListener("pointermove", function (e) { self.drag(e); });
    this.svg.addEventListener("pointerup", function () { self.end(); });
    this.svg.addEventListener("focusin", function (e) {
      var g = e.target.closest ? e.target.closest("g.box") : null;
      var i = g ? parseInt(g.getAttribute("data-index"), 10) : -1;
      if (g && i !== self.selected && !self.gesture) { self.select(i); }
    });
    this.picker.addEventListener("change", function () { self.relabel(self.picker.value); });
    // Capture: the widget's keys come before app.js's (digits, Delete, Esc, s).
    window.addEventListener("keydown", function (e) { self.onKey(e); }, true);
    window.addEventListener("resize", function () { self.measure(); });
  };

  Widget.prototype.measure = function () {
    // Without recorded sizes, the image's own pixels give the coordinate system.
    if (!this.width || !this.height) {
      this.width = this.img.naturalWidth;
      this.height = this.img.naturalHeight;
      this.svg.setAttribute("viewBox", "0 0 " + this.width + " " + this.height);
    }
    // At most 62% of the window's height, keeping the image's proportions.
    var stage = document.getElementById("boxes-stage");
    stage.style.maxWidth = Math.round(0.62 * window.innerHeight * this.width / this.height) + "px";
    this.render();
  };

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("boxes-widget");
    if (!root || !document.getElementById("boxes-image")) { return; }
    var widget = new Widget(root);
    widget.bind();
    if (widget.img.complete && widget.img.naturalWidth) { widget.measure(); } else {
      widget.img.addEventListener("load", function () { widget.measure(); });
    }
    window.assayBoxes = widget;  // for the browser tests and the console
  });
}());
