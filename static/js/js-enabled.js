// Loaded in <head>, before the page is drawn: styles for phones can rely on JavaScript being there.
document.documentElement.classList.add("js");
