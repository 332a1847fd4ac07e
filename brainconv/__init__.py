"""brainconv: convert trained ANNs into Brian2 spiking networks and measure the trade-offs."""

__version__ = "0.1.0"
