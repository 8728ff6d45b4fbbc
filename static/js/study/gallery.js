/* The researchers' gallery: each row's spectrograms play that row's two clips, as on a participant's page
   (a click plays from that moment; an outlined passage's button plays the liked passage, then the recommended). */
import { startFigure } from "./figures.js";

document.querySelectorAll(".gallery-pair").forEach(function (row) {
  row.querySelectorAll(".spectrogram").forEach(function (figure) { startFigure(row, figure); });
});
