"""Reports meet the model: the ledger, the observation model, ABC-SMC and the fit."""
