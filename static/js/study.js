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
      var scale = input.closest(".scale");
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
