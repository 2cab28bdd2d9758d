"""Forms of the requests app: cases, breaches, complaints, the public door."""
