// The reader: mark the paragraph named in the address (#para-24) and bring it into view.
// CSS :target does the same without this script; the class also survives focus changes and back/forward.
(() => {
  "use strict";
  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function showTarget() {
    document.querySelectorAll(".passage.is-target").forEach((node) => node.classList.remove("is-target"));
    let id = "";
    try {
      id = decodeURIComponent(window.location.hash.slice(1));
    } catch {
      return; // a malformed address: nothing to mark
    }
    const target = id && document.getElementById(id);
    if (!target || !target.classList.contains("passage")) return;
    target.classList.add("is-target");
    target.scrollIntoView({ block: "center", behavior: reduceMotion ? "auto" : "smooth" });
    target.focus({ preventScroll: true });
  }

  window.addEventListener("hashchange", showTarget);
  showTarget();
})();
