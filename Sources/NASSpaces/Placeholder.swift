// NASSpaces
