"""Statistics over indicator values (pure): statistical neighbours, size strata, trend tests.

Functions take frames of values and return frames; they know nothing of the warehouse.
"""
