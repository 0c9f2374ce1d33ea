// The certificate's Print button (no inline handlers under the Content-Security-Policy).
document.querySelectorAll(".print-page").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
