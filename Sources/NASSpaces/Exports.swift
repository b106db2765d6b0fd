// The architecture types (NAS-Bench-201 cells, the SearchSpace and Estimator protocols) live in
// NASArchitectures, which needs no engine; code that imports NASSpaces sees them as before.
@_exported import NASArchitectures
