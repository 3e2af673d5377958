/* Prepares the ipywidgets embed bundle (@jupyter-widgets/html-manager) for this offline site.
   Loaded right before the bundle, on the pages that hold saved widgets (nb_ipywidgets_js, site/conf.py). */
(function () {
  "use strict";

  // The bundle loads its icon fonts (Font Awesome 5) from the folder of the AMD module it defines,
  // which require.js would place relative to the page (notebooks/@jupyter-widgets/html-manager/dist/,
  // where nothing is): map that module id onto the folder the bundle and its fonts are served from.
  var bundle = new URL("vendor/html-manager/", document.currentScript.src).href;
  window.requirejs.config({ paths: { "@jupyter-widgets/html-manager/dist": bundle.replace(/\/$/, "") } });
  window.__jupyter_widgets_assets_path__ = bundle;

  // Widget labels are typeset with the MathJax 2 call MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]),
  // but the site runs MathJax 3, which has no Hub: map that one call onto MathJax 3's typesetPromise.
  function installHub() {
    var mathjax = window.MathJax;
    if (!mathjax || !mathjax.version || mathjax.Hub) {
      return;
    }
    mathjax.Hub = {
      Queue: function () {
        Array.prototype.forEach.call(arguments, function (command) {
          if (!Array.isArray(command) || command[0] !== "Typeset") {
            return;
          }
          var element = command[2];
          mathjax.startup.promise
            .then(function () {
              return mathjax.typesetPromise(element ? [element] : undefined);
            })
            .catch(function (error) {
              console.warn("MathJax could not typeset a widget label:", error);
            });
        });
      },
    };
  }

  // MathJax is loaded with `defer`, so it exists by DOMContentLoaded; the bundle renders after that.
  installHub();
  document.addEventListener("DOMContentLoaded", installHub);
})();
