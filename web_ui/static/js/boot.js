// Loaded first, as a classic script: if one of the page's scripts or its style sheet fails to
// load (a flaky Wi-Fi), say so and offer a reload, instead of a page frozen at "Connecting…".
"use strict";
window.addEventListener(
  "error",
  (event) => {
    const target = event.target;
    const failed = target instanceof HTMLScriptElement || (target instanceof HTMLLinkElement && target.rel === "stylesheet");
    const notice = document.getElementById("load-error");
    if (!failed || !notice) return;
    notice.hidden = false;
    document.body.classList.add("load-failed");
  },
  true,
);
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("load-error-reload")?.addEventListener("click", () => window.location.reload());
});
// Dark theme: as the phone is set, or always on a page that asks for it (<html data-theme="dark">).
(() => {
  const root = document.documentElement;
  const dark = window.matchMedia("(prefers-color-scheme: dark)");
  const apply = () => root.classList.toggle("dark", root.dataset.theme === "dark" || dark.matches);
  apply();
  dark.addEventListener("change", apply);
})();
