// genomesh portal: progressive enhancement only; every page works without it.
// Loaded as a file (the Content-Security-Policy forbids inline scripts).
"use strict";
document.documentElement.classList.add("js");
