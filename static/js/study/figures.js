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

// card: a .recommendation; figure: its .spectrogram.
export function startFigure(card, figure) {
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

  figure.closest("figure").querySelectorAll("button.passage").forEach(function (button) {
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
