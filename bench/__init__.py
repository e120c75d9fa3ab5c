"""redes vs PyTorch training-throughput benchmarks: `python -m bench --help`."""
