/* Listening: every play, pause, seek and end goes to the server with where it happened and how long
   this clip has been heard on this page; a beacon still arrives when the tab is closing. */
import { csrfToken } from "./csrf.js";

// clips: the page's audio[data-track]; main: the element holding data-listen-url (none: nothing is reported).
export function startListening(clips, main) {
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
  clips.forEach(function (audio) {
    var last = null, sinceReport = 0, thresholdReported = false;
    // A recommendation's card, or an understanding-test option: what must be heard before its inputs open.
    var card = audio.closest(".recommendation, [data-listen-card]");
    var note = card && card.querySelector("[data-required]");
    var required = note ? Number(note.dataset.required) : 0;
    // What the server has counted so far (after a reload); the server decides, this only guides.
    var gated = audio.dataset.role === "recommended" || audio.dataset.role === "candidate";
    if (note && gated) audio._listened = Number(note.dataset.heard) || 0;
    function gate() {
      if (!required || !gated) return;
      var heard = Math.floor(audio._listened || 0);
      // A little beyond the requirement, so the server's count (by its own clock) has reached it too.
      var ready = heard >= required + 1;
      if (ready && !thresholdReported) { thresholdReported = true; report(audio, "progress"); }
      card.querySelectorAll(".likert input, input[data-gated]").forEach(function (input) { input.disabled = !ready; });
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
}
