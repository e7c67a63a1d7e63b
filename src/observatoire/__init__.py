"""observatoire: an open-source platform for territorial social observation.

The public Python API::

    from observatoire import Observatory
    obs = Observatory.open("observatoire-data")
    obs.geography.territories(level="commune", within="93")
"""

from observatoire.errors import (
    HomeError,
    InputError,
    ObservatoireError,
    ReferentialError,
    UnknownCodeError,
)

__version__ = "0.1.0"

__all__ = [
    "HomeError",
    "InputError",
    "ObservatoireError",
    "Observatory",
    "ReferentialError",
    "UnknownCodeError",
    "__version__",
]


def __getattr__(name: str) -> object:
    # Imported lazily: the facade pulls pandas and DuckDB, which `--help` does not need.
    if name == "Observatory":
        from observatoire.observatory import Observatory

        return Observatory
    raise AttributeError(name)
