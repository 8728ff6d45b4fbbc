/* Progressive enhancement for participant pages: save answers as they are given,
   and poll for recommendations. Every page also works without this script. */
(function () {
  "use strict";

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Save each Likert answer the moment it is chosen, so closing the tab loses nothing.
  var form = document.querySelector("form[data-answer-url]");
  if (form) {
    form.addEventListener("change", function (event) {
      var input = event.target;
      if (input.type !== "radio") return;
      var scale = input.closest("[data-item]");
      var fieldset = input.closest("fieldset");
      var body = { item: scale.dataset.item, value: Number(input.value) };
      if (scale.dataset.recommendation) body.recommendation = Number(scale.dataset.recommendation);
      fetch(form.dataset.answerUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
      })
        .then(function (response) {
          if (response.ok) {
            fieldset.classList.remove("missing", "unsaved");
            fieldset.classList.add("saved");
          } else if (response.status === 409) {
            return response.json().then(function (data) { window.location.assign(data.next); });
          } else {
            fieldset.classList.add("unsaved");
          }
        })
        .catch(function () { fieldset.classList.add("unsaved"); });
    });
  }

  // Listening: every play, pause, seek and end goes to the server with where it happened and how
  // long this clip has been heard on this page; a beacon still arrives when the tab is closing.
  var main = document.querySelector("[data-listen-url]");
  function report(audio, kind) {
    if (!main) return;
    var form = new FormData();
    form.append("csrfmiddlewaretoken", csrfToken());
    form.append("track", audio.dataset.track);
    form.append("event", kind);
    form.append("position", audio.currentTime.toFixed(2));
    form.append("listened", (audio._listened || 0).toFixed(2));
    if (!(navigator.sendBeacon && navigator.sendBeacon(main.dataset.listenUrl, form))) {
      fetch(main.dataset.listenUrl, { method: "POST", body: form, credentials: "same-origin", keepalive: true });
    }
  }
  document.querySelectorAll("audio[data-track]").forEach(function (audio) {
    var last = null, sinceReport = 0;
    var card = audio.closest(".recommendation");
    var note = card && card.querySelector("[data-required]");
    var required = note ? Number(note.dataset.required) : 0;
    function gate() {
      if (!required || audio.dataset.role !== "recommended") return;
      var heard = Math.floor(audio._listened || 0);
      var ready = heard >= required;
      card.querySelectorAll(".likert input").forEach(function (input) { input.disabled = !ready; });
      note.textContent = ready ? "Thank you for listening; you can rate this track now."
        : "Listen to at least " + required + " seconds of this track to rate it (" + heard + " s so far).";
    }
    gate();
    audio.addEventListener("timeupdate", function () {
      // Count only time that really played: a seek jumps further than playback can.
      if (!audio.paused && last !== null) {
        var step = audio.currentTime - last;
        if (step > 0 && step < 1.5) {
          audio._listened = (audio._listened || 0) + step;
          sinceReport += step;
          gate();
          if (sinceReport >= 5) { sinceReport = 0; report(audio, "progress"); }
        }
      }
      last = audio.currentTime;
    });
    ["play", "pause", "seeked", "ended"].forEach(function (kind) {
      audio.addEventListener(kind, function () { last = audio.currentTime; report(audio, kind); });
    });
  });

  // A clip with preload="none" ignores a seek until it knows its length: wait for that.
  function seek(audio, seconds) {
    function go() { audio.currentTime = seconds; audio.play(); }
    if (audio.readyState >= 1) return go();
    audio.addEventListener("loadedmetadata", go, { once: true });
    audio.preload = "auto";
    audio.load();
  }

  // Spectrograms: a play head follows each clip across its panel; a click seeks that clip.
  document.querySelectorAll(".recommendation").forEach(function (card) {
    var figure = card.querySelector(".spectrogram");
    if (!figure) return;
    var players = {
      liked: card.querySelector("audio[data-role=liked]"),
      recommended: card.querySelector("audio[data-role=recommended]"),
    };
    var heads = {};
    figure.querySelectorAll(".playhead").forEach(function (head) { heads[head.dataset.for] = head; });

    var durations = figure.dataset.durations.split(",").map(Number);
    var narrow = window.matchMedia(figure.dataset.narrowMedia);
    // The panel (left, bottom, width, height) of the layout the browser is showing.
    function panel(role) {
      var head = heads[role];
      var numbers = (narrow.matches && head.dataset.narrow ? head.dataset.narrow : head.dataset.wide).split(",");
      return { left: +numbers[0], bottom: +numbers[1], width: +numbers[2], height: +numbers[3],
               duration: durations[role === "liked" ? 0 : 1] };
    }

    function place(role) {
      var head = heads[role], audio = players[role];
      if (!head || !audio) return;
      var p = panel(role);
      var share = Math.min(1, audio.currentTime / p.duration);
      head.hidden = audio.currentTime === 0 && audio.paused;
      head.style.left = (100 * (p.left + p.width * share)) + "%";
      head.style.top = (100 * (1 - p.bottom - p.height)) + "%";
      head.style.height = (100 * p.height) + "%";
    }
    Object.keys(players).forEach(function (role) {
      var audio = players[role];
      if (!audio) return;
      var frame = null;
      function follow() { place(role); frame = audio.paused ? null : window.requestAnimationFrame(follow); }
      audio.addEventListener("play", function () {
        // One clip at a time: comparing is easier when they take turns.
        Object.keys(players).forEach(function (other) { if (other !== role && players[other]) players[other].pause(); });
        if (!frame) follow();
      });
      audio.addEventListener("seeked", function () { place(role); });
      audio.addEventListener("pause", function () { place(role); });
    });
    figure.addEventListener("click", function (event) {
      var box = figure.querySelector("img").getBoundingClientRect();
      var x = (event.clientX - box.left) / box.width, y = 1 - (event.clientY - box.top) / box.height;
      Object.keys(heads).forEach(function (role) {
        var p = panel(role), audio = players[role];
        var share = (x - p.left) / p.width;
        if (!audio || share < 0 || share > 1 || y < p.bottom - 0.1 || y > p.bottom + p.height + 0.05) return;
        seek(audio, share * p.duration);
      });
    });
    narrow.addEventListener("change", function () { Object.keys(heads).forEach(place); });
  });

  // Waiting page: ask the server every second whether the recommendations are ready.
  var waiting = document.querySelector("[data-poll]");
  if (waiting) {
    var poll = function () {
      fetch(waiting.dataset.poll, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (data.ready) window.location.assign(data.next);
          else window.setTimeout(poll, 1000);
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 500);
  }
})();
