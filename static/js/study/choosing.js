// Choosing tracks: like and remove without reloading, so the scroll position and a playing clip stay.
import { csrfToken } from "./csrf.js";

export function startChoosing(chosen) {
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
