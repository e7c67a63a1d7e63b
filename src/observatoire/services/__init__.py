"""Services beside the observatory's facade: what the command line and the extranet do with
partners (and, later, the inventory, the accounts and the deposits), each over the store."""
