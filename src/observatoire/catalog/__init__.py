"""The catalogue's pure core: variables, value statuses, number parsing."""
