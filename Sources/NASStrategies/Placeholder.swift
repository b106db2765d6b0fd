// NASStrategies
