"""The Prometheus exporter: ``python -m tcpreach exporter --config FILE``.

Prometheus asks ``/probe?target=HOST[:PORT]&module=NAME``; the exporter resolves the name
afresh, probes every address with the module's settings and answers with per-address
series. The meaning (what a report says as metrics, which targets may be probed, how a
scrape's deadline bounds a probe) is plain logic in ``metrics``, ``policy`` and
``budget``; ``config`` reads the file, ``server`` only serves. Needs the ``exporter``
extra (``prometheus-client``).
"""

__all__ = []
