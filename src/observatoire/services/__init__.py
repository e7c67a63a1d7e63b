"""Services beside the observatory's facade, each over the store: partners and dataset owners
(``obs.partners``), operators' records (``obs.records``), the inventory of sources, documents
and needs (:mod:`.inventory`, in the application database) and partners' deposits and
proposals (:mod:`.deposits`)."""
