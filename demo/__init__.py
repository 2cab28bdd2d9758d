"""Demo and scale data, kept out of the product's packages.

- `seed_demo` (demo/management/commands/seed_demo.py): the demo cast and a small realistic data
  set made through the services, step by step in the order of its DEMO_DATA_STEPS: customers
  (demo.customers), their disclosures (demo.disclosures), rights requests (demo.cases),
  complaints (demo.complaints), breaches (demo.breaches), broken promises (demo.promises).
- `seed_scale` and `seed_scale_cases`: customers (demo.scale_customers) and rights requests
  (demo.scale_cases) at volume, by COPY, for the benchmarks in bench/.

An installed app only so that Django finds the three commands; it has no models. Every
command refuses to run when DJANGO_ENV=production.
"""
