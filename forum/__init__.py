"""A community support forum for Korean and English users."""

__version__ = "0.1.0"
