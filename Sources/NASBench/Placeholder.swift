// NASBench
