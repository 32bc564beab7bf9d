"""``compass run``: every stage chained, resumable, with one progress display and a report."""
