// report.html's one script: following a link to something inside a closed <details> (a
// finding's hunk, a class's example, a difference's row) opens every <details> around it
// first, so the link lands on what it names. Nothing else runs; nothing is fetched.
(function () {
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) return;
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
    target.scrollIntoView({block: "center"});
  }
  window.addEventListener("hashchange", reveal);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", reveal);
  else reveal();
})();
