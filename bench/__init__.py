"""The benchmark suite: P1–P7 of issue 4 on the distributed setup (`python -m bench`)."""
