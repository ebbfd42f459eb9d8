"""Published benchmark files (DfE EES, performance tables, NCCIS, LAIT, GIAS): one reader per
format, recognition by content, and the harmoniser that builds `benchmark_measures`."""
from .common import COLUMNS, CONTRACT_COLUMNS, SCHEMA, BenchmarkFileError, parse_value, trust_breakdown
from .scan import SEED_CSV, FileReport, ScanResult, harmonise, load_seed, scan_benchmarks
from .recognise import recognise

__all__ = ["COLUMNS", "CONTRACT_COLUMNS", "SCHEMA", "SEED_CSV", "BenchmarkFileError", "FileReport",
           "ScanResult", "harmonise", "load_seed", "parse_value", "recognise", "scan_benchmarks",
           "trust_breakdown"]
