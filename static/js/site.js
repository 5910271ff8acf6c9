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

  // Countdowns: <span data-countdown="SECONDS" data-enable="#button-id" data-countdown-done="TEXT">;
  // plain text without JS. At zero the sentence holding it says TEXT (what may be done now)
  // instead of "0:00".
  document.querySelectorAll("[data-countdown]").forEach(function (element) {
    var remaining = parseInt(element.getAttribute("data-countdown"), 10);
    var target = element.getAttribute("data-enable");
    var button = target ? document.querySelector(target) : null;
    var done = element.getAttribute("data-countdown-done");
    if (isNaN(remaining)) { return; }
    if (button && remaining > 0) { button.disabled = true; }
    function render() {
      if (remaining <= 0 && done) {
        (element.closest("p, li") || element).textContent = done;
        return;
      }
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

  // A code's SMS on its way (accounts/code_delivery.html): ask the status endpoint until it is
  // sent or has failed. Sent: the sentence changes in place (the code field keeps what is
  // typed); late or failed: the page reloads and says so, as it does without JavaScript.
  var delivery = document.querySelector("[data-delivery-status]");
  if (delivery && window.fetch) {
    var statusUrl = delivery.getAttribute("data-delivery-status");
    var shown = delivery.getAttribute("data-delivery");
    var started = Date.now();
    var schedule = function () {
      var elapsed = Date.now() - started;
      if (elapsed > 5 * 60 * 1000) { return; }  // a code's lifetime
      setTimeout(poll, elapsed < 30000 ? 2000 : 5000);
    };
    var show = function (status) {
      if (!status || !status.delivery || status.delivery === shown) { schedule(); return; }
      if (status.delivery !== "sent") { location.reload(); return; }
      var template = document.querySelector('template[data-delivery-template="sent"]');
      if (template) { delivery.replaceChildren(template.content.cloneNode(true)); }
      delivery.setAttribute("data-delivery", "sent");
    };
    var poll = function () {
      fetch(statusUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 404) { return { delivery: shown, gone: true }; }  // no code pending any more
          return response.ok ? response.json() : null;
        })
        .then(function (status) { if (!(status && status.gone)) { show(status); } }, schedule);
    };
    schedule();
  }
})();
