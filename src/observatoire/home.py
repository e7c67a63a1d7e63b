"""The observatory home: a directory holding its settings and its embedded database.

Resolution order: ``--home DIR``, then ``OBSERVATOIRE_HOME``, then ``./observatoire-data``.
Settings live in ``observatoire.toml``, declared once in :data:`SETTINGS` with their help text
(a test checks that each is documented in docs/). Secrets (the PostgreSQL DSN) come from the
environment only: ``OBSERVATOIRE_DATABASE_URL``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from observatoire.atomic import write_whole, writing
from observatoire.errors import HomeError, InputError
from observatoire.yamlfile import check_keys

__all__ = ["DEFAULT_HOME", "SETTINGS", "Home", "Setting", "resolve_home"]

DEFAULT_HOME = "observatoire-data"
SETTINGS_FILE = "observatoire.toml"
DUCKDB_FILE = "entrepot.duckdb"
DATABASE_URL_ENV = "OBSERVATOIRE_DATABASE_URL"
PSEUDONYM_KEY_ENV = "OBSERVATOIRE_PSEUDONYM_KEY"
PSEUDONYM_KEY_FILE = ".cle-pseudonymisation"


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("name", "Observatoire social", "Nom de l'observatoire, affiché dans les sorties."),
    Setting(
        "territory",
        "",
        "Territoire de l'observatoire (ex. « departement:93 »), "
        "utilisé par défaut dans les résumés et les cartes.",
    ),
    Setting(
        "compute_within",
        "",
        "Territoire auquel « compute » se limite par défaut : « territoire » (celui de "
        "l'observatoire) ou un territoire (ex. « departement:57 ») ; sont calculés ce "
        "territoire, ses territoires de référence (région, France), les territoires qu'il "
        "contient et ceux qui le chevauchent. Vide : tous les territoires.",
    ),
    Setting(
        "url",
        "",
        "Adresse publique de l'extranet (ex. « https://observatoire.cd93.fr ») : base des "
        "adresses stables des métadonnées ouvertes (DCAT).",
    ),
    Setting(
        "backend",
        "duckdb",
        "Moteur de l'entrepôt : « duckdb » (fichier embarqué) ou "
        "« postgres » (DSN lu dans OBSERVATOIRE_DATABASE_URL).",
    ),
    Setting(
        "melodi_url",
        "",
        "Adresse de l'API Melodi de l'INSEE pour « sources check » et « fetch » ; vide : "
        "https://api.insee.fr/melodi (la variable OBSERVATOIRE_MELODI_URL l'emporte).",
    ),
    Setting(
        "datagouv_url",
        "",
        "Adresse de l'API de data.gouv.fr ; vide : https://www.data.gouv.fr/api/1 (la "
        "variable OBSERVATOIRE_DATAGOUV_URL l'emporte).",
    ),
    Setting(
        "proxies",
        "",
        "Adresses des mandataires inverses de confiance (ex. « 127.0.0.1, 10.0.0.5 »), séparées "
        "par des virgules : l'en-tête X-Forwarded-For n'est lu que s'il vient de l'une d'elles. "
        "Vide : l'adresse du client est celle de la connexion.",
    ),
)
_DEFAULTS = {s.name: s.default for s in SETTINGS}


def resolve_home(home: str | Path | None = None) -> Path:
    """The home directory to use (see the module docstring)."""
    if home is not None:
        return Path(home)
    env = os.environ.get("OBSERVATOIRE_HOME")
    return Path(env) if env else Path(DEFAULT_HOME)


@dataclass(frozen=True)
class Home:
    """An initialised home: its path and its settings."""

    path: Path
    settings: dict[str, str]

    @property
    def backend(self) -> str:
        return self.settings["backend"]

    @property
    def location(self) -> str:
        """Where the warehouse is: the DuckDB file, or the PostgreSQL DSN."""
        if self.backend == "duckdb":
            return str(self.path / DUCKDB_FILE)
        dsn = os.environ.get(DATABASE_URL_ENV)
        if not dsn:
            raise HomeError(f"moteur postgres : définissez {DATABASE_URL_ENV} (DSN PostgreSQL)")
        return dsn

    def pseudonym_key(self) -> bytes:
        """The key that turns identifiers into pseudonyms (HMAC): from the environment
        (``OBSERVATOIRE_PSEUDONYM_KEY``), else a random key created once in the home, readable
        by its owner only. Losing it only means new pseudonyms no longer match old ones."""
        text = os.environ.get(PSEUDONYM_KEY_ENV)
        if text:
            return text.encode()
        file = self.path / PSEUDONYM_KEY_FILE
        if not file.exists():
            import secrets

            with writing(file) as partial:
                partial.write_text(secrets.token_hex(32), encoding="ascii")
                partial.chmod(0o600)
        return file.read_text(encoding="ascii").strip().encode()

    @classmethod
    def load(cls, path: Path) -> Home:
        file = path / SETTINGS_FILE
        if not file.exists():
            raise HomeError(
                f"{path} n'est pas un observatoire initialisé (pas de {SETTINGS_FILE}) : "
                f"lancez « observatoire --home {path} init »"
            )
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"paramètres illisibles ({exc})", path=file) from None
        section = data.get("observatoire", {})
        message = "paramètre(s) inconnu(s) : {unknown} ; paramètres possibles : {allowed}"
        check_keys(section, _DEFAULTS, message, path=file)
        settings = {**_DEFAULTS, **{k: str(v) for k, v in section.items()}}
        return cls(path, settings)

    def save_setting(self, name: str, value: str) -> Home:
        """The home with setting ``name`` set to ``value``, written to its settings file (the
        file's other lines and comments kept), whole or not at all."""
        if name not in _DEFAULTS:
            raise InputError(f"paramètre « {name} » inconnu ; paramètres possibles : "
                             f"{', '.join(_DEFAULTS)}")  # fmt: skip
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise InputError(f"paramètre « {name} » : caractère de contrôle refusé")
        file = self.path / SETTINGS_FILE
        lines = file.read_text(encoding="utf-8").splitlines()
        line = _setting_line(name, value)
        found = [i for i, text in enumerate(lines) if text.split("=")[0].strip() == name]
        if found:
            lines[found[0]] = line
        else:
            lines.append(line)
        write_whole(file, "\n".join(lines) + "\n")
        return Home.load(self.path)

    @classmethod
    def create(cls, path: Path, **overrides: str) -> tuple[Home, bool]:
        """Create the home if needed; returns it and whether it was created now."""
        file = path / SETTINGS_FILE
        if file.exists():
            return cls.load(path), False
        if path.exists() and not path.is_dir():
            raise HomeError(f"{path} existe et n'est pas un dossier")
        path.mkdir(parents=True, exist_ok=True)
        settings = {**_DEFAULTS, **{k: v for k, v in overrides.items() if v}}
        lines = ["# Paramètres de l'observatoire (voir docs/parametres.md)", "[observatoire]"]
        for setting in SETTINGS:
            lines.append(f"# {setting.help}")
            lines.append(_setting_line(setting.name, settings[setting.name]))
        write_whole(file, "\n".join(lines) + "\n")  # a home is initialised or not
        return cls(path, settings), True


def _setting_line(name: str, value: str) -> str:
    """``name = "value"`` as TOML writes it (backslashes and quotes escaped)."""
    quoted = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{name} = "{quoted}"'
