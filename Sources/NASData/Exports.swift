// Gzip and DataError live in NASFiles, which needs no engine; code that imports NASData sees
// them as before.
@_exported import NASFiles
