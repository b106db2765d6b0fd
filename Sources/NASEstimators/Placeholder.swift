// NASEstimators
