// NASData
