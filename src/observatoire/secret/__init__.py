"""Statistical confidentiality (pure): who may see what, and which cells to mask so that no
masked value can be recovered from the published ones.

- :mod:`.rules`: audiences and secret rules (thresholds per audience, protection level);
- :mod:`.suppression`: primary suppression, then secondary suppression over the linear
  relations between published cells (a territory is the sum of its parts);
- :mod:`.attack`: the linear-programming attack that audits a suppression pattern.
"""
