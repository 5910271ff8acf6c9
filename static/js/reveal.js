// Show / hide a masked input (the PIN): <input type="password" data-reveal data-reveal-show="…"
// data-reveal-hide="…">. Without this file the input stays masked and works the same.
(function () {
  "use strict";

  document.querySelectorAll("input[data-reveal]").forEach(function (input) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "reveal-button";
    button.setAttribute("aria-controls", input.id);
    function render() {
      var shown = input.type === "text";
      // The label says what the button does next (「暗証番号を表示」 / 「暗証番号を隠す」).
      button.textContent = input.getAttribute(shown ? "data-reveal-hide" : "data-reveal-show");
    }
    button.addEventListener("click", function () {
      input.type = input.type === "password" ? "text" : "password";
      render();
      input.focus();
    });
    // Masked again before the form leaves, so the browser never keeps the PIN as plain text.
    if (input.form) {
      input.form.addEventListener("submit", function () { input.type = "password"; });
    }
    render();
    var row = document.createElement("div");
    row.className = "reveal-row";
    input.parentNode.insertBefore(row, input);
    row.appendChild(input);
    row.appendChild(button);
  });
})();
