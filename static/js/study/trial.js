/* Understanding-test trials: the page's own measure of the time from showing the trial to the answer
   (the server keeps its own too), sent with the answer. */
export function startTrial(form) {
  var shown = performance.now();
  form.addEventListener("submit", function () {
    form.elements.client_ms.value = String(Math.round(performance.now() - shown));
  });
}
