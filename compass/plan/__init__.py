"""``compass plan``: memory, communication and time per GPU of a parallel layout, checked
against what is measured on the CPU (``measure.py``)."""
