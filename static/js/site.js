// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Text size: switch at once and remember it, without a round trip.
  var sizeForm = document.querySelector("[data-text-size-switch]");
  if (sizeForm) {
    sizeForm.addEventListener("click", function (event) {
      var button = event.target.closest("button[name=size]");
      if (!button) { return; }
      event.preventDefault();
      var size = button.value;
      var root = document.documentElement;
      root.classList.remove("text-small", "text-standard", "text-large");
      root.classList.add("text-" + size);
      var secure = location.protocol === "https:" ? "; Secure" : "";
      document.cookie = "text_size=" + size + "; path=/; max-age=31536000; SameSite=Lax" + secure;
      sizeForm.querySelectorAll("button[name=size]").forEach(function (other) {
        other.setAttribute("aria-pressed", other === button ? "true" : "false");
      });
    });
  }

  // After a failed submit, move focus to the error summary so it is read first.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) { summary.focus(); }

  // "Back to the form" on the outage page: the browser's own Back, which keeps what was typed.
  document.querySelectorAll("[data-history-back]").forEach(function (button) {
    if (history.length < 2) { return; }
    button.hidden = false;
    button.addEventListener("click", function () { history.back(); });
  });

  // Countdowns: <span data-countdown="SECONDS" data-enable="#button-id">; plain text without JS.
  document.querySelectorAll("[data-countdown]").forEach(function (element) {
    var remaining = parseInt(element.getAttribute("data-countdown"), 10);
    var target = element.getAttribute("data-enable");
    var button = target ? document.querySelector(target) : null;
    if (isNaN(remaining)) { return; }
    if (button && remaining > 0) { button.disabled = true; }
    function render() {
      var minutes = Math.floor(remaining / 60);
      var seconds = remaining % 60;
      element.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
    }
    render();
    var timer = setInterval(function () {
      remaining -= 1;
      if (remaining <= 0) {
        remaining = 0;
        clearInterval(timer);
        if (button) { button.disabled = false; }
      }
      render();
    }, 1000);
  });
})();
