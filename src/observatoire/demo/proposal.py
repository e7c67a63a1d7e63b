"""The demo's pending proposal: the CAF partner (demo account ``partenaire@demo.invalid``,
organisation caf93) has deposited the next edition of its SYNTHETIC file, in the CNAF's format
over the observatory's dataset: it waits on the Imports page for an analyst, who reads its
report and accepts or refuses it (docs/securite.md)."""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.observatory import Observatory
from observatoire.services.deposits import Deposits

__all__ = ["propose_next_edition"]


def propose_next_edition(obs: Observatory, home: Path, previous: Path, partner: str) -> str:
    """The 2025 edition of the SYNTHETIC CNAF file ``previous`` (2024), proposed by
    ``partner``; the summary's paragraph."""
    table = pd.read_csv(previous, sep=";", dtype={"CODGEO": str})
    rng = np.random.default_rng(2025)
    for column in table.columns.drop(["CODGEO", "LIBGEO"]):
        grown = table[column] * rng.uniform(0.97, 1.06, len(table))
        table[column] = grown.round().astype("Int64")
    name = previous.name.replace("2024", "2025")
    deposits = Deposits(home)
    waiting = [p for p in deposits.proposals(organisation=partner) if p.file.name == name]
    if waiting:  # the demo built again: its proposal still waits
        return _paragraph(name, partner, waiting[0].dataset)
    folder = deposits.new_folder()
    folder.mkdir(parents=True)
    path = folder / name
    table.to_csv(path, sep=";", index=False)
    try:
        report = obs.import_file(path, dry_run=True, partner=partner)
        assert report.proposal, "the demo's CNAF file is the observatory's: a proposal"
        deposits.propose(
            folder,
            organisation=partner,
            user="partenaire@demo.invalid",
            dataset=report.dataset,
            report=asdict(report),
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return _paragraph(name, partner, report.dataset)


def _paragraph(name: str, partner: str, dataset: str) -> str:
    return "\n".join(
        [
            "Proposition d'un partenaire en attente (données SYNTHÉTIQUES)",
            f"  {name} : l'édition 2025 du fichier CNAF, déposée par l'organisme {partner} ; "
            f"elle toucherait le jeu {dataset} de l'observatoire, donc attend qu'un chargé "
            "d'études l'accepte ou la refuse (page Imports, « Propositions des partenaires »)",
        ]
    )
