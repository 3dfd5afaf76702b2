"""Software-defined assets, one folder per layer."""
