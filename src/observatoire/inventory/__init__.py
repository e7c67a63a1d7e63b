"""The observatory's inventory, pure domain: the sources and information systems it draws on,
its document library, and the observation needs it registers (and the work programme that
answers them). No IO here: storage is :mod:`observatoire.store.inventory`, the service that
links entries to the catalogue and the import history is :mod:`observatoire.services.inventory`."""
