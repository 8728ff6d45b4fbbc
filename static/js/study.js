/* Progressive enhancement for participant pages: save answers as they are given,
   and poll for recommendations. Every page also works without this script. */
(function () {
  "use strict";

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // Answers: each choice is saved the moment it is made, numbered (seq) so that the server keeps
  // the latest even when requests overtake each other; one request per question at a time, the
  // newest value sent next; a failed save is retried and shown; the page is not submitted while
  // anything is unsaved.
  var form = document.querySelector("form[data-answer-url]");
  if (form) {
    var questions = {};
    var lastSeq = 0;
    var submitWanted = false;
    var submitStatus = form.querySelector(".submit-status");
    form.querySelectorAll("fieldset[data-field]").forEach(function (fieldset) {
      lastSeq = Math.max(lastSeq, Number(fieldset.dataset.seq) || 0);
      questions[fieldset.dataset.field] = { fieldset: fieldset, seq: 0, sentSeq: 0, savedSeq: 0, inflight: false,
                                             failed: false, invalid: false, timer: null, attempts: 0, value: null };
    });
    // Milliseconds since 1970, never repeating: later than any number sent before a reload too.
    var nextSeq = function () { lastSeq = Math.max(lastSeq + 1, Date.now()); return lastSeq; };
    // Choices not yet confirmed by the server, kept in this tab's session storage: a reload (or a
    // page that goes before its saves are answered) then shows them again and sends them again.
    var storeKey = "unsaved-answers:" + form.dataset.answerUrl;
    var readUnsaved = function () {
      try { return JSON.parse(window.sessionStorage.getItem(storeKey)) || {}; } catch (error) { return {}; }
    };
    var keepUnsaved = function () {
      var unsaved = {};
      Object.keys(questions).forEach(function (name) {
        var q = questions[name];
        if (q.seq > q.savedSeq && !q.invalid) unsaved[name] = { value: q.value, seq: q.seq };
      });
      try {
        if (Object.keys(unsaved).length) window.sessionStorage.setItem(storeKey, JSON.stringify(unsaved));
        else window.sessionStorage.removeItem(storeKey);
      } catch (error) { /* storage full or blocked: the saves still go out */ }
    };
    var setStatus = function (q, state, text) {
      var fieldset = q.fieldset;
      ["saving", "saved", "unsaved", "invalid"].forEach(function (name) { fieldset.classList.remove(name); });
      if (state) fieldset.classList.add(state);
      if (state === "saved") fieldset.classList.remove("missing");
      var line = fieldset.querySelector(".save-status");
      if (line) line.textContent = text || (state === "saving" ? form.dataset.msgSaving
        : state === "saved" ? form.dataset.msgSaved : state === "unsaved" ? form.dataset.msgFailed : "");
      explainWait();
    };
    // While a submit waits for saves, say why: still saving, or the connection keeps failing.
    var explainWait = function () {
      if (!submitStatus || !submitWanted) return;
      var failing = form.querySelector("fieldset.unsaved");
      submitStatus.textContent = failing ? form.dataset.msgOffline : form.dataset.msgPending;
    };
    var pending = function () {
      return Object.keys(questions).some(function (name) {
        var q = questions[name];
        return q.inflight || q.failed || q.invalid || q.timer !== null || q.savedSeq < q.seq;
      });
    };
    var settle = function () {
      if (pending()) return;
      if (submitStatus) submitStatus.textContent = "";
      if (submitWanted) { submitWanted = false; form.requestSubmit(); }
    };
    // The newest save number this page knows of for a question (the one it was rendered with, or one
    // it saved or was told of since). A submit sends them: the server refuses one that would put back an
    // older answer over one given meanwhile in another tab, and shows the newer one instead.
    var known = function (q, seq) {
      if (Number(seq) > (Number(q.fieldset.dataset.seq) || 0)) q.fieldset.dataset.seq = String(seq);
    };
    var stampKnown = function () {
      Object.keys(questions).forEach(function (name) {
        var q = questions[name], input = form.querySelector("input[type=hidden][name='seq__" + name + "']");
        if (!input) {
          input = document.createElement("input");
          input.type = "hidden"; input.name = "seq__" + name;
          form.appendChild(input);
        }
        input.value = q.fieldset.dataset.seq || "0";
      });
    };
    var retryLater = function (q, seconds) {
      q.inflight = false;
      q.attempts += 1;
      var delay = seconds ? seconds * 1000 : Math.min(8000, 400 * Math.pow(2, q.attempts));
      q.timer = window.setTimeout(function () { q.timer = null; send(q); }, delay);
    };
    var post = function (q) {
      var scale = q.fieldset.querySelector("[data-item]");
      var body = { item: scale.dataset.item, value: q.value, seq: q.seq };
      if (scale.dataset.recommendation) body.recommendation = Number(scale.dataset.recommendation);
      q.sentSeq = q.seq;
      return fetch(form.dataset.answerUrl, {
        method: "POST", credentials: "same-origin", keepalive: true,
        headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify(body),
      });
    };
    var send = function (q) {
      if (q.inflight || q.timer !== null) return;  // the newest value goes when this request is answered
      var sent = q.seq;
      q.inflight = true;
      post(q).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (response.status === 409 && data.next) { window.location.assign(data.next); return; }
          if (response.status === 422) {
            if (q.seq > sent) { q.inflight = false; send(q); return; }  // already replaced by a newer choice
            q.failed = true;
            setStatus(q, "invalid", data.error);
            if (data.retry_after) { retryLater(q, data.retry_after); return; }
            q.inflight = false; q.invalid = true;
            keepUnsaved();
            return;
          }
          if (!response.ok) { q.failed = true; setStatus(q, "unsaved"); retryLater(q); return; }
          q.inflight = false; q.failed = false; q.invalid = false; q.attempts = 0;
          q.savedSeq = Math.max(q.savedSeq, sent);
          known(q, data.saved ? sent : data.seq);
          keepUnsaved();
          if (q.seq > sent) { send(q); return; }  // chosen again while this one travelled
          if (!data.saved && data.seq > sent) {
            // Another tab chose later: show what is stored.
            var stored = q.fieldset.querySelector("input[value='" + data.value + "']");
            if (stored) stored.checked = true;
          }
          setStatus(q, "saved");
          settle();
        });
      }).catch(function () { q.failed = true; setStatus(q, "unsaved"); retryLater(q); });
    };
    form.addEventListener("change", function (event) {
      var input = event.target;
      if (input.type !== "radio") return;
      var fieldset = input.closest("fieldset[data-field]");
      var q = fieldset && questions[fieldset.dataset.field];
      if (!q) return;
      q.value = Number(input.value);
      q.seq = nextSeq();
      q.invalid = false;
      setStatus(q, "saving");
      keepUnsaved();
      if (q.timer !== null) { window.clearTimeout(q.timer); q.timer = null; }
      send(q);
    });
    // After a reload: what was chosen but not confirmed, if the server holds nothing newer.
    var unsaved = readUnsaved();
    Object.keys(unsaved).forEach(function (name) {
      var q = questions[name], choice = unsaved[name];
      if (!q || !(choice.seq > (Number(q.fieldset.dataset.seq) || 0))) return;
      var input = q.fieldset.querySelector("input[type=radio][value='" + Number(choice.value) + "']");
      if (!input || input.disabled) return;
      input.checked = true;
      q.value = Number(choice.value);
      q.seq = choice.seq;
      lastSeq = Math.max(lastSeq, choice.seq);
      setStatus(q, "saving");
      send(q);
    });
    keepUnsaved();
    // A page that goes (reload, link, closed tab) sends each newest choice still waiting behind a
    // request in flight; keepalive lets it outlive the page, and its seq keeps the order right.
    window.addEventListener("pagehide", function () {
      Object.keys(questions).forEach(function (name) {
        var q = questions[name];
        if (q.seq > q.sentSeq && q.value !== null && !q.invalid) post(q).catch(function () {});
      });
    });
    form.addEventListener("submit", function (event) {
      stampKnown();
      if (!pending()) return;
      event.preventDefault();
      var invalid = Object.keys(questions).map(function (name) { return questions[name]; })
        .filter(function (q) { return q.invalid; })[0];
      submitWanted = !invalid;
      // Pressing the button means "now": saves waiting to be retried go at once.
      Object.keys(questions).forEach(function (name) {
        var q = questions[name];
        if (q.timer !== null && !q.invalid) { window.clearTimeout(q.timer); q.timer = null; send(q); }
      });
      if (invalid) {
        // An answer the server refused: show it, with its reason, instead of submitting.
        if (submitStatus) submitStatus.textContent = invalid.fieldset.querySelector(".save-status").textContent;
        invalid.fieldset.scrollIntoView({ block: "center" });
      } else {
        explainWait();
      }
    });
  }

  // Choosing tracks: like and remove without reloading, so the scroll position and a playing clip stay.
  var chosen = document.getElementById("chosen");
  if (chosen) {
    var renderChoice = function (state) {
      var list = document.getElementById("chosen-list");
      list.textContent = "";
      state.liked.forEach(function (track) {
        var item = document.createElement("li");
        item.className = "track chosen";
        item.dataset.track = track.id;
        var meta = document.createElement("div");
        meta.className = "track-meta";
        var title = document.createElement("strong"); title.textContent = track.title;
        var artist = document.createElement("span"); artist.textContent = track.artist;
        meta.append(title, artist);
        var remove = document.createElement("form");
        remove.method = "post"; remove.className = "like-form";
        remove.innerHTML = '<input type="hidden" name="csrfmiddlewaretoken"><input type="hidden" name="track">'
          + '<button name="action" value="unlike" class="secondary small"></button>';
        remove.querySelector("input[name=csrfmiddlewaretoken]").value = csrfToken();
        remove.querySelector("input[name=track]").value = track.id;
        remove.querySelector("button").textContent = chosen.dataset.labelRemove;
        item.append(meta, remove);
        list.append(item);
      });
      document.getElementById("nothing-chosen").hidden = state.liked.length > 0;
      document.getElementById("chosen-title").textContent = chosen.dataset.heading.replace("__N__", state.n);
      var next = document.getElementById("continue");
      next.disabled = !state.can_continue;
      next.setAttribute("aria-disabled", String(!state.can_continue));
      var ids = state.liked.map(function (track) { return String(track.id); });
      document.querySelectorAll("#results .like-form button").forEach(function (button) {
        var isLiked = ids.indexOf(button.closest("[data-track]").dataset.track) >= 0;
        button.value = isLiked ? "unlike" : "like";
        button.textContent = isLiked ? chosen.dataset.labelChosen : chosen.dataset.labelLike;
        button.className = isLiked ? "secondary small" : "small";
        button.setAttribute("aria-pressed", String(isLiked));
        button.disabled = !isLiked && state.full;
      });
    };
    document.addEventListener("submit", function (event) {
      var likeForm = event.target.closest(".like-form");
      if (!likeForm) return;
      event.preventDefault();
      var button = event.submitter || likeForm.querySelector("button");
      var data = new FormData();
      data.append("track", likeForm.querySelector("input[name=track]").value);
      data.append("action", button.value);
      button.disabled = true;
      fetch(window.location.pathname, {
        method: "POST", credentials: "same-origin", body: data,
        headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() },
      }).then(function (response) {
        return response.json().then(function (state) {
          var error = chosen.querySelector(".choice-error");
          error.hidden = response.ok;
          error.textContent = response.ok ? "" : state.error || "";
          if (state.liked) renderChoice(state);
          button.disabled = false;
          if (state.full) renderChoice(state);
        });
      }).catch(function () {
        // No answer the script understands: send the form the ordinary way (submit() leaves out the button).
        button.disabled = false;
        var action = document.createElement("input");
        action.type = "hidden"; action.name = "action"; action.value = button.value;
        likeForm.append(action);
        likeForm.submit();
      });
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
    var last = null, sinceReport = 0, thresholdReported = false;
    var card = audio.closest(".recommendation");
    var note = card && card.querySelector("[data-required]");
    var required = note ? Number(note.dataset.required) : 0;
    // What the server has counted so far (after a reload); the server decides, this only guides.
    if (note && audio.dataset.role === "recommended") audio._listened = Number(note.dataset.heard) || 0;
    function gate() {
      if (!required || audio.dataset.role !== "recommended") return;
      var heard = Math.floor(audio._listened || 0);
      // A little beyond the requirement, so the server's count (by its own clock) has reached it too.
      var ready = heard >= required + 1;
      if (ready && !thresholdReported) { thresholdReported = true; report(audio, "progress"); }
      card.querySelectorAll(".likert input").forEach(function (input) { input.disabled = !ready; });
      note.textContent = ready ? note.dataset.msgReady : note.dataset.msgMore.replace("__HEARD__", heard);
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

  // Waiting page: ask the server every second how the job is going, and move on when it is done.
  var waiting = document.querySelector("[data-poll]");
  if (waiting) {
    var bar = waiting.querySelector(".job-progress"), line = waiting.querySelector(".job-status");
    var poll = function () {
      fetch(waiting.dataset.poll, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          if (data.ready) { window.location.assign(data.next); return; }
          if (data.failed) {
            waiting.querySelector(".job-failed").hidden = false;
            waiting.querySelector(".spinner").hidden = true;
            return;
          }
          var progress = data.progress || {};
          if (progress.total) {
            bar.max = progress.total; bar.value = progress.done;
            line.textContent = waiting.dataset.labelProgress.replace("__DONE__", Math.min(progress.done + 1, progress.total))
              .replace("__TOTAL__", progress.total);
          } else {
            line.textContent = waiting.dataset.labelFinding;
          }
          window.setTimeout(poll, 1000);
        })
        .catch(function () { line.textContent = waiting.dataset.labelOffline; window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 500);
  }
})();
