"""Quality of operators' records: collection schemas, identifier detection, completeness.

Pure: values in, values out (see :mod:`observatoire.ingest.records` for the import and
:mod:`observatoire.store.records` for the stored cube).
"""
