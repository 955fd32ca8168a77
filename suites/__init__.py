"""Which workloads run where, the subprocess-per-cell runner, and the results it writes."""
