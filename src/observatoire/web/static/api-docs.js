// The API's documentation (/api/v1/docs): Swagger UI from the application's own files,
// reading the OpenAPI description named by the page (no inline script, nothing from a CDN).
(function () {
  const holder = document.getElementById("swagger-ui");
  if (!holder || typeof SwaggerUIBundle === "undefined") return;
  SwaggerUIBundle({
    url: holder.dataset.spec,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    validatorUrl: null,  // no request to validator.swagger.io
  });
})();
