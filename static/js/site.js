// Phones: the menu opens on demand. Without JavaScript the navigation is simply always shown.
document.querySelector(".menu-toggle").addEventListener("click", function () {
  const open = this.getAttribute("aria-expanded") !== "true";
  this.setAttribute("aria-expanded", String(open));
  document.getElementById("main-nav").classList.toggle("open", open);
});

// A table wider than a phone scrolls sideways in its box; the box takes keyboard focus so the
// arrow keys scroll it too (WCAG 2.1.1). Every page's table boxes, whichever template drew them.
document.querySelectorAll(".table-wrap").forEach(function (box) {
  if (!box.hasAttribute("tabindex")) { box.tabIndex = 0; }
});
