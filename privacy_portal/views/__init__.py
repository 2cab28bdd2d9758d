"""The portal's own pages: sign-in and staff accounts, the access log, history, the promise report, the register."""
