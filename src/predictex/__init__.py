"""predictex: an open-source prediction-market exchange that speaks Kalshi's protocols."""

__version__ = "0.1.0"
