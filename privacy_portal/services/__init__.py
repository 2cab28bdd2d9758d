"""The portal's own business rules: staff accounts, break-glass review, history search,
the replay ledger and restore, job runs, the register."""
