"""Services beside the observatory's facade, each over the store: partners and dataset owners
(``obs.partners``), operators' records (``obs.records``), the inventory of sources, documents
and needs (:mod:`.inventory`, in the application database), partners' deposits and
proposals (:mod:`.deposits`) and the accounts of the extranet (:mod:`.accounts`, in the
application database too)."""
