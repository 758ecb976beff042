"""``ferry ui``: a local, read-only dashboard over experiments, model stores and runs.

A face beside :mod:`ferry.cli`, behind the ``ui`` extra (Starlette + uvicorn); only the
``ferry ui`` command imports it, so ``import ferry`` and the CLI's start-up never pay for it.

- :mod:`ferry.ui.tracking_source`: the one module that reads experiment tracking.
- :mod:`ferry.ui.model_source`: the one adapter to model stores.
- :mod:`ferry.ui.runs_source`: the one adapter to EC2 training runs (the run ledger and
  each run's S3 status, through :class:`ferry.runs.reader.RunsReader`).
- :mod:`ferry.ui.table`, :mod:`ferry.ui.query`, :mod:`ferry.ui.series`,
  :mod:`ferry.ui.downsample`: the table, filters and series, apart from storage.
- :mod:`ferry.ui.api`, :mod:`ferry.ui.app`, :mod:`ferry.ui.server`: HTTP and serving.
- ``static/``: the pages' scripts and styles; ``static/vendor/``: uPlot and ECharts, as
  published on npm (versions, licences and sha256 in ``VENDORED.json``).
"""
