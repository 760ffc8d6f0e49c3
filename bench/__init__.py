"""`make bench`: CarePortal's benchmark on PostgreSQL, run with `python -m bench`.

The data builder (`build`), the floor views that exist only in the benchmark's settings
(`floors`, `urls`, `settings`), the in-process measurement (`measure`), the throughput run
under gunicorn and wrk (`load`) and the report (`report`). Never part of the product.
"""
