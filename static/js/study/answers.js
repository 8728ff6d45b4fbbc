/* Answers: each choice is saved the moment it is made, numbered (seq) so that the server keeps the
   latest even when requests overtake each other; the page is not submitted while anything is unsaved. */
import { csrfToken } from "./csrf.js";

// One request per question at a time, the newest value sent next; a failed save is retried and shown.
export function startAnswers(form) {
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
