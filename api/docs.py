"""The API's documentation (/docs): Swagger UI served from the installed swagger-ui-bundle
package, never from a CDN, so the page loads nothing from another host. ReDoc (a CDN's
script only) is not served; /openapi.json is the schema either way."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path

router = APIRouter(include_in_schema=False)

ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
"""The bundle's files the page needs, and only those (its index.html points elsewhere)."""

# No validator badge: its image comes from validator.swagger.io. The packaged Swagger UI
# (4.15) reads OpenAPI 3.0 only; FastAPI's schema is 3.1, which it shows well enough once
# labelled 3.0 (its `null` types read as a type's name): relabelled here, for this page only.
START = """window.addEventListener("load", function () {
  fetch("/openapi.json")
    .then(function (answer) { return answer.json(); })
    .then(function (spec) {
      spec.openapi = "3.0.3";
      window.ui = SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger-ui",
        deepLinking: true,
        validatorUrl: null,
        presets: [SwaggerUIBundle.presets.apis],
        layout: "BaseLayout"
      });
    });
});
"""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>coopflow API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/static/favicon-32x32.png">
</head>
<body>
<main id="swagger-ui"></main>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/static/start.js"></script>
</body>
</html>
"""


@router.get("/docs")
async def docs() -> HTMLResponse:
    # The pages' policy (api/guard.py) holds for it as is: no inline script, no other host.
    return HTMLResponse(PAGE)


@router.get("/docs/static/start.js")
async def start() -> Response:
    return Response(START, media_type="text/javascript; charset=utf-8")


@router.get("/docs/static/{name}")
async def asset(name: str) -> Response:
    if name not in ASSETS:
        raise HTTPException(404, f"no file {name!r} in the documentation")
    return FileResponse(Path(str(swagger_ui_path)) / name, media_type=ASSETS[name])
