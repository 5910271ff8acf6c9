// <button data-print hidden>: shown and wired only with JavaScript (the browser's own print
// menu does the same without it).
(function () {
  "use strict";
  document.querySelectorAll("button[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
