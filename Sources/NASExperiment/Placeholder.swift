// NASExperiment
