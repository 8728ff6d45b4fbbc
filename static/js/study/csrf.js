// The CSRF token Django put in the page's forms: answers, likes and listening events send it.

export function csrfToken() {
  var input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}
