"""Customer views, one module per page family. Their routes are listed in customers/urls.py (staff)
and customers/public_urls.py (the public door)."""
