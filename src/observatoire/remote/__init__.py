"""Producers' services at the edge: polite HTTP (:mod:`.http`), INSEE's Melodi and data.gouv.fr
catalogues, plain addresses; which editions are newer than the one in force, and fetching one
into the normal import."""
