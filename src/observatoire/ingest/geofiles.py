"""Reading geographic files in any format GDAL reads (GeoPackage, shapefile, GeoJSON…), in any
CRS, reprojected to WGS84 (EPSG:4326)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from observatoire.errors import FileFormatError, MissingCRSError

if TYPE_CHECKING:
    import geopandas

__all__ = ["GEO_SUFFIXES", "is_geofile", "read_geofile"]

GEO_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".fgb", ".gml", ".kml", ".tab", ".mif"}


def is_geofile(path: str | Path) -> bool:
    """Whether ``path`` is a geographic file (or a zip holding one) rather than a table."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".zip":
        import zipfile

        try:
            with zipfile.ZipFile(path) as archive:
                return any(Path(n).suffix.lower() in GEO_SUFFIXES for n in archive.namelist())
        except (zipfile.BadZipFile, OSError):
            return False
    return suffix in GEO_SUFFIXES


def read_geofile(
    path: str | Path, *, crs: str | None = None, layer: str | None = None
) -> geopandas.GeoDataFrame:
    """Read ``path`` and reproject to EPSG:4326.

    ``crs`` declares the CRS of a file that has none (a shapefile without its .prj); a file
    without a CRS and without ``crs`` is refused rather than guessed.
    """
    import geopandas
    import pyogrio
    import shapely

    path = Path(path)
    if not path.exists():
        raise FileFormatError("fichier introuvable", path=path)
    try:
        frame = geopandas.read_file(path, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise FileFormatError(f"fichier géographique illisible ({exc})", path=path) from None
    except Exception as exc:  # GDAL reports truncation and corruption with varied types
        raise FileFormatError(
            f"fichier géographique illisible ({type(exc).__name__}: {exc})", path=path
        ) from None
    if crs is not None and frame.crs is not None and frame.crs.to_epsg() == 4326:
        # GeoJSON has no CRS member since RFC 7946 and is read as WGS84: --crs overrides it.
        frame = frame.set_crs(crs, allow_override=True)
    if frame.crs is None:
        if crs is None:
            raise MissingCRSError(
                "le fichier ne précise pas son système de coordonnées (fichier .prj absent ?) : "
                "indiquez-le avec --crs, par exemple --crs EPSG:2154 (Lambert-93)",
                path=path,
            )
        frame = frame.set_crs(crs)
    if frame.geometry.isna().all():
        raise FileFormatError("aucune géométrie dans le fichier", path=path)
    frame = frame.to_crs("EPSG:4326")
    minx, miny, maxx, maxy = frame.total_bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise FileFormatError(
            f"coordonnées hors des limites du globe après reprojection ({minx:.0f}, {miny:.0f}) : "
            "le système de coordonnées déclaré est sans doute faux (indiquez-le avec --crs, "
            "par exemple --crs EPSG:2154)",
            path=path,
        )
    invalid = ~frame.geometry.is_valid & frame.geometry.notna()
    if invalid.any():
        frame.loc[invalid, "geometry"] = shapely.make_valid(frame.geometry[invalid].values)
    return frame
