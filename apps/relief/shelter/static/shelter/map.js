// Draws the site map into the occupancy page once the table is shown: the SVG comes from the
// app itself (no tiles, no internet), inline so each plot's title shows on hover.
(function () {
  const box = document.getElementById("site-map");
  if (!box) return;
  fetch(box.dataset.src, { credentials: "same-origin" })
    .then(function (response) { if (!response.ok) throw new Error(response.status); return response.text(); })
    .then(function (svg) { box.innerHTML = svg; })
    .catch(function () { box.innerHTML = '<img alt="" src="' + box.dataset.src + '">'; });
})();
