"""A community support forum for Korean and English users."""

from forum import convertors

convertors.register()  # before any route is built: every {id:int} route gets the bounded ids

__version__ = "0.1.0"
