"""Reads of the customers app: search and matching, missed opt-outs, disclosures and recipients."""
