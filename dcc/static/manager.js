/* The manager's lists: one box ticks every row. */
(function () {
  "use strict";
  document.querySelectorAll("[data-check-all]").forEach(function (all) {
    var name = all.dataset.checkAll;
    all.addEventListener("change", function () {
      all.closest("form").querySelectorAll('input[name="' + name + '"]').forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });
})();
