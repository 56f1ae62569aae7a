// The call page: seek the recording from the transcript, the findings and the picture;
// keyboard shortcuts; verdict forms saved in place so the audio keeps playing.
(function () {
  "use strict";
  var player = document.getElementById("player");
  var picture = document.getElementById("picture");
  var call = document.getElementById("call");
  var textNode = document.getElementById("ui-text");
  var T = textNode ? JSON.parse(textNode.textContent) : {};
  function tr(key, fallback) { return T[key] || fallback; }
  if (!player || !call) { return; }
  var allFindings = Array.prototype.slice.call(document.querySelectorAll("article.finding[data-finding]"));
  // n/p walk the findings the reviewer has to decide (all of them when there is nothing to decide)
  var toDecide = allFindings.filter(function (f) { return f.querySelector("form.verdict-form"); });
  var findings = toDecide.length ? toDecide : allFindings;
  var lines = Array.prototype.slice.call(document.querySelectorAll("li.line"));
  var current = -1;
  var lead = Number(call.dataset.lead) || 0;  // a finding plays from this long before it (web.seek_lead_seconds)
  var playhead = document.getElementById("playhead");
  var media = document.getElementById("media");
  var speedButtons = Array.prototype.slice.call(document.querySelectorAll(".speed button[data-rate]"));
  var playingLine = null;

  function duration() {
    return isFinite(player.duration) && player.duration > 0 ? player.duration : Number(call.dataset.duration);
  }

  // the player stays on screen: the findings column and the lines scrolled to sit below it
  function measureMedia() {
    if (media) { document.documentElement.style.setProperty("--media-h", media.offsetHeight + "px"); }
  }
  measureMedia();
  window.addEventListener("resize", measureMedia);
  if (picture) { picture.addEventListener("load", measureMedia); }

  function seek(seconds, play) {
    var t = Math.max(0, Number(seconds) || 0);
    player.currentTime = t;
    if (play) {
      var started = player.play();
      if (started && started.catch) { started.catch(function () { /* autoplay refused: seeking is enough */ }); }
    }
  }

  function select(index, andSeek) {
    if (!findings.length) { return; }
    current = (index + findings.length) % findings.length;
    findings.forEach(function (f, i) { f.classList.toggle("current", i === current); });
    var card = findings[current];
    card.scrollIntoView({ block: "nearest" });
    var id = card.dataset.finding;
    document.querySelectorAll("mark.hit").forEach(function (m) {
      m.classList.toggle("current", (" " + m.dataset.findings + " ").indexOf(" " + id + " ") >= 0);
    });
    if (andSeek && card.dataset.start !== "") { seek(Number(card.dataset.start) - lead, true); }
  }

  function indexOfFinding(id) {
    for (var i = 0; i < findings.length; i++) { if (findings[i].dataset.finding === id) { return i; } }
    return -1;
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    var mark = target.closest("mark.hit");
    if (mark) {
      var id = mark.dataset.findings.split(" ")[0];
      var i = indexOfFinding(id);
      if (i >= 0) { select(i, true); return; }
      var other = document.getElementById("finding-" + id);
      if (other && other.dataset.start !== "") { seek(Number(other.dataset.start) - lead, true); return; }
    }
    var button = target.closest(".seek");
    if (button) {
      var card = button.closest("article.finding[data-finding]");
      if (card && findings.indexOf(card) >= 0) { select(findings.indexOf(card), true); }
      else { seek(Number(button.dataset.start) - (card ? lead : 0), true); }
      return;
    }
    var line = target.closest("li.line");
    if (line && !target.closest("form")) { seek(line.dataset.start, true); }
  });

  if (picture) {
    picture.addEventListener("click", function (event) {
      var rect = picture.getBoundingClientRect();
      seek(((event.clientX - rect.left) / rect.width) * duration(), true);
    });
  }

  // the playhead moves over the waveform and the line being spoken is highlighted (and kept in view)
  function follow() {
    var t = player.currentTime;
    if (playhead) {
      playhead.style.left = (100 * Math.min(1, t / (duration() || 1))) + "%";
      playhead.classList.toggle("shown", t > 0 || !player.paused);
    }
    var now = null;
    lines.forEach(function (line) {
      var on = t >= Number(line.dataset.start) && t < Number(line.dataset.end);
      line.classList.toggle("playing", on);
      if (on && !now) { now = line; }
    });
    if (now && now !== playingLine && !player.paused) { now.scrollIntoView({ block: "nearest" }); }
    playingLine = now;
  }
  var frame = null;
  function tick() { follow(); frame = player.paused ? null : window.requestAnimationFrame(tick); }
  player.addEventListener("play", function () { if (!frame) { frame = window.requestAnimationFrame(tick); } });
  player.addEventListener("timeupdate", follow);
  player.addEventListener("seeked", follow);

  function setRate(rate) {
    player.playbackRate = rate;
    speedButtons.forEach(function (b) { b.classList.toggle("active", Number(b.dataset.rate) === rate); });
    try { window.localStorage.setItem("callqa.rate", String(rate)); } catch (e) { /* private mode */ }
  }
  speedButtons.forEach(function (b) { b.addEventListener("click", function () { setRate(Number(b.dataset.rate)); }); });
  try {
    var kept = Number(window.localStorage.getItem("callqa.rate"));
    if (kept) { setRate(kept); }
  } catch (e) { /* private mode */ }
  // the element resets its rate when a new source loads: keep the chosen one
  player.addEventListener("loadedmetadata", function () {
    var active = document.querySelector(".speed button.active");
    if (active) { player.playbackRate = Number(active.dataset.rate); }
  });
  function nextRate() {
    var rates = speedButtons.map(function (b) { return Number(b.dataset.rate); });
    var i = rates.indexOf(player.playbackRate);
    if (rates.length) { setRate(rates[(i + 1) % rates.length]); }
  }

  // a verdict changes the scorecard (a confirmed finding fails its item): show the server's new score in place,
  // so the panel never says "passed" beside a violation just confirmed
  function refreshScorecard() {
    var panel = document.getElementById("scorecard");
    if (!panel || !window.DOMParser) { return; }
    fetch(window.location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) {
        var fresh = html && new DOMParser().parseFromString(html, "text/html").getElementById("scorecard");
        if (fresh) { panel.replaceWith(document.importNode(fresh, true)); }
      }).catch(function () { /* the panel stays as it was; a reload shows the new score */ });
  }

  function saveVerdict(form) {
    var status = form.querySelector(".saved");
    var body = new FormData(form);
    fetch(form.action, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "Accept": "application/json", "X-CSRF-Token": document.body.dataset.csrf }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (result.ok) {
        status.textContent = tr("saved", "saved: %(decision)s").replace("%(decision)s",
          tr(result.data.decision, String(result.data.decision).replace("_", " ")));
        form.classList.remove("failed");
        var card = form.closest("article");
        card.dataset.decision = result.data.decision;
        card.dataset.decided = "1";
        card.classList.remove("left-open");
        var note = card.querySelector(".open-note");
        if (note) { note.hidden = true; }
        if (!document.querySelector("article[data-decided='']")) {
          var summary = document.querySelector(".open-summary");
          if (summary) { summary.hidden = true; }
        }
        refreshScorecard();
      } else {
        status.textContent = result.data.detail || result.data.error || tr("not_saved", "not saved");
        form.classList.add("failed");
      }
    }).catch(function () {
      status.textContent = tr("no_answer", "not saved: the server did not answer");
      form.classList.add("failed");
    });
  }

  // submitting with a finding left open: say so beside that finding, not on an error page
  var submitForm = document.querySelector("form.submit-form");
  if (submitForm) {
    submitForm.addEventListener("submit", function (event) {
      var via = event.submitter;
      if (via && via.getAttribute("formaction")) { return; }  // "release unfinished" needs no verdicts
      var open = Array.prototype.slice.call(document.querySelectorAll("article[data-decided='']"));
      if (!open.length) { return; }
      event.preventDefault();
      open.forEach(function (card) {
        card.classList.add("left-open");
        var note = card.querySelector(".open-note");
        if (note) { note.hidden = false; }
      });
      var summary = submitForm.querySelector(".open-summary");
      if (summary) { summary.hidden = false; }
      var i = findings.indexOf(open[0]);
      if (i >= 0) { select(i, false); } else { open[0].scrollIntoView({ block: "nearest" }); }
      open[0].focus({ preventScroll: true });
    });
  }

  document.querySelectorAll("form.verdict-form").forEach(function (form) {
    form.addEventListener("submit", function (event) { event.preventDefault(); saveVerdict(form); });
  });

  // a false positive needs a reason code: r (or x) asks for it, and the verdict is saved once it is chosen
  function askReason(form) {
    var reason = form.querySelector("select[name=reason_code]");
    var status = form.querySelector(".saved");
    form.classList.add("needs-reason");
    status.textContent = tr("choose_reason", "choose the reason for this false positive; it is saved once chosen");
    var onChange = function () {
      if (!reason.value) { return; }
      reason.removeEventListener("change", onChange);
      form.classList.remove("needs-reason");
      saveVerdict(form);
    };
    reason.addEventListener("change", onChange);
    reason.focus();
  }

  function falsePositiveReason(form) {
    var reason = form.querySelector("select[name=reason_code]");
    var chosen = reason && reason.selectedOptions[0];
    var group = chosen && chosen.parentElement;
    return chosen && chosen.value && group && group.dataset.group === "false_positive" ? chosen.value : "";
  }

  function decide(decision) {
    if (current < 0) { select(0, false); }
    var form = findings[current] && findings[current].querySelector("form.verdict-form");
    if (!form) { return; }
    var radio = form.querySelector("input[name=decision][value=" + decision + "]");
    if (radio) { radio.checked = true; }
    if (decision === "false_positive" && !falsePositiveReason(form)) {
      var reason = form.querySelector("select[name=reason_code]");
      if (reason) { reason.value = ""; askReason(form); return; }
    }
    saveVerdict(form);
  }

  // the silence and overtalk track under the waveform: a stretch plays from its start, elsewhere x is time
  function setupAcousticTrack() {
    var track = document.getElementById("acoustic-track");
    if (!track) { return; }
    track.addEventListener("click", function (event) {
      var target = event.target;
      var stretch = target instanceof Element ? target.closest("rect.stretch") : null;
      if (stretch) { seek(Number(stretch.dataset.start), true); return; }
      var rect = track.getBoundingClientRect();
      seek(((event.clientX - rect.left) / rect.width) * duration(), true);
    });
  }
  setupAcousticTrack();

  // "skip silence": while playing, a [from, to] range (a quiet stretch less its edges) is jumped over.
  // A stretch the listener sought into on purpose (a finding's lead-in, a click on the track) is played.
  function setupSkipSilence() {
    var button = document.getElementById("skip-silence");
    var node = document.getElementById("skip-ranges");
    var ranges = node ? JSON.parse(node.textContent) : [];
    var edge = node ? Number(node.dataset.keep) || 0 : 0;  // kept at each edge of a stretch: still part of it
    if (!button || !ranges.length) { return; }
    var on = false;
    var jumping = false;
    var exempt = -1;
    var loop = null;
    function rangeAt(t, margin) {
      for (var i = 0; i < ranges.length; i++) { if (t >= ranges[i][0] - margin && t < ranges[i][1]) { return i; } }
      return -1;
    }
    function check() {
      if (!on || player.paused || jumping) { return; }
      var i = rangeAt(player.currentTime, 0);
      if (i >= 0 && i !== exempt) { jumping = true; player.currentTime = ranges[i][1]; }
    }
    function run() { check(); loop = on && !player.paused ? window.requestAnimationFrame(run) : null; }
    function setOn(value) {
      on = value;
      button.setAttribute("aria-pressed", on ? "true" : "false");
      try { window.localStorage.setItem("callqa.skipSilence", on ? "1" : ""); } catch (e) { /* private mode */ }
      if (on && !loop) { loop = window.requestAnimationFrame(run); }
    }
    player.addEventListener("seeked", function () {
      if (jumping) { jumping = false; exempt = -1; return; }
      exempt = rangeAt(player.currentTime, edge + 0.05);  // sought into a quiet stretch on purpose: hear it
    });
    player.addEventListener("play", function () { if (on && !loop) { loop = window.requestAnimationFrame(run); } });
    player.addEventListener("timeupdate", check);
    button.addEventListener("click", function () { setOn(!on); });
    try { if (window.localStorage.getItem("callqa.skipSilence") === "1") { setOn(true); } } catch (e) { /* private mode */ }
  }
  setupSkipSilence();

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    // typing in a form field, or the player's own controls, keep their keys
    if (target instanceof Element && (target.closest("input, textarea, select") || target === player)) { return; }
    switch (event.key) {
      case " ": event.preventDefault(); if (player.paused) { player.play(); } else { player.pause(); } break;
      case "n": select(current + 1, true); break;
      case "p": select(current - 1, true); break;
      case "c": decide("confirmed"); break;
      case "s": nextRate(); break;
      // no default: the key must not reach the reason list that r focuses (it would pick the option starting with r)
      case "x": case "r": event.preventDefault(); decide("false_positive"); break;
      default: return;
    }
  });
})();

// Opening at a moment: /calls/<id>#t=<seconds> (a search hit's link) seeks the player there once
// the recording's length is known; the seek shows the line being spoken as any other seek does.
(function () {
  "use strict";
  var player = document.getElementById("player");
  var found = /(?:^#|&)t=([0-9]+(?:\.[0-9]+)?)/.exec(window.location.hash);
  if (!player || !found) { return; }
  var at = Number(found[1]);
  function go() { player.currentTime = at; }
  if (player.readyState >= 1) { go(); } else { player.addEventListener("loadedmetadata", go, { once: true }); }
})();
