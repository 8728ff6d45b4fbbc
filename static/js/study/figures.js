// Spectrograms: a play head follows each clip across its panel; a click seeks that clip.

// A clip with preload="none" ignores a seek until it knows its length: wait for that.
function seek(audio, seconds) {
  function go() { audio.currentTime = seconds; audio.play(); }
  if (audio.readyState >= 1) return go();
  audio.addEventListener("loadedmetadata", go, { once: true });
  audio.preload = "auto";
  audio.load();
}

// An outlined passage, heard: each step (a clip, a start and an end in seconds) plays in turn. A pause by
// the listener ends the tour; the passage's own end moves on to the next step.
function playPassages(steps) {
  var index = 0;
  function next() {
    var step = steps[index++];
    if (!step) return;
    var audio = step.audio, ended = false;
    function onTime() {
      if (audio.currentTime < step.end) return;
      ended = true;
      audio.pause();
    }
    function onPause() {
      audio.removeEventListener("timeupdate", onTime);
      audio.removeEventListener("pause", onPause);
      if (ended) next();
    }
    audio.addEventListener("timeupdate", onTime);
    audio.addEventListener("pause", onPause);
    seek(audio, step.start);
  }
  next();
}

// card: a .recommendation; figure: its .spectrogram. Each panel (.panel[data-panel]) is one track's picture,
// its time axis running from 0 to data-seconds across the picture's width.
export function startFigure(card, figure) {
  var players = {
    liked: card.querySelector("audio[data-role=liked]"),
    recommended: card.querySelector("audio[data-role=recommended]"),
  };
  var panels = {};
  figure.querySelectorAll(".panel").forEach(function (panel) { panels[panel.dataset.panel] = panel; });

  function place(role) {
    var panel = panels[role], audio = players[role];
    if (!panel || !audio) return;
    var head = panel.querySelector(".playhead");
    var share = Math.min(1, audio.currentTime / Number(panel.dataset.seconds));
    head.hidden = audio.currentTime === 0 && audio.paused;
    head.style.left = (100 * share) + "%";
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
  Object.keys(panels).forEach(function (role) {
    var plot = panels[role].querySelector(".plot");
    plot.addEventListener("click", function (event) {
      var audio = players[role];
      if (!audio) return;
      var box = plot.getBoundingClientRect();
      var share = Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
      seek(audio, share * Number(panels[role].dataset.seconds));
    });
  });

  figure.querySelectorAll("button.passage").forEach(function (button) {
    button.addEventListener("click", function () {
      var steps = [];
      ["liked", "recommended"].forEach(function (role) {
        var span = button.dataset[role];
        if (!span || !players[role]) return;
        var seconds = span.split(",").map(Number);
        steps.push({ audio: players[role], start: seconds[0], end: seconds[1] });
      });
      playPassages(steps);
    });
  });
}
