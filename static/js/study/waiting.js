// Waiting page: ask the server every second how the job is going, and move on when it is done.

export function startWaiting(waiting) {
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
