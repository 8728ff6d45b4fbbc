/* Progressive enhancement for participant pages: save answers as they are given, report listening,
   and poll for recommendations. Every page also works without these scripts. */
import { startAnswers } from "./answers.js";
import { startChoosing } from "./choosing.js";
import { startListening } from "./listening.js";
import { startFigure } from "./figures.js";
import { startTrial } from "./trial.js";
import { startWaiting } from "./waiting.js";

// Started in the order the single script used to run them, so that listeners on the same element
// (a clip's "play": report it, then pause the other clip) still fire in the same order.
var answerForm = document.querySelector("form[data-answer-url]");
if (answerForm) startAnswers(answerForm);

var chosen = document.getElementById("chosen");
if (chosen) startChoosing(chosen);

var clips = document.querySelectorAll("audio[data-track]");
if (clips.length) startListening(clips, document.querySelector("[data-listen-url]"));

document.querySelectorAll(".recommendation").forEach(function (card) {
  var figure = card.querySelector(".spectrogram");
  if (figure) startFigure(card, figure);
});

var waiting = document.querySelector("[data-poll]");
if (waiting) startWaiting(waiting);

var trial = document.querySelector("form[data-trial]");
if (trial) startTrial(trial);
